"""Loaders, one per source format, found by name with :func:`get_loader`.

A loader module is imported only when its loader is asked for, so listing or choosing loaders
costs nothing.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from lumen.errors import InputError
from lumen.ingest.loaders.base import Loader, Report

_LOADERS: dict[str, tuple[str, str]] = {
    "medquad": ("lumen.ingest.loaders.medquad", "MedQuADLoader"),
    "pubmedqa": ("lumen.ingest.loaders.pubmedqa", "PubMedQALoader"),
    "drugs": ("lumen.ingest.loaders.openfda", "OpenFDALoader"),
    "regulatory": ("lumen.ingest.loaders.regulatory", "RegulatoryLoader"),
    "files": ("lumen.ingest.loaders.files", "FilesLoader"),
}
_ALIASES = {"openfda": "drugs", "fda": "regulatory", "crl": "regulatory", "file": "files"}

#: The loader names :func:`get_loader` accepts (``openfda`` is also accepted for ``drugs``).
LOADERS: tuple[str, ...] = tuple(_LOADERS)

__all__ = ["LOADERS", "Loader", "Report", "get_loader"]


def get_loader(name: str, **options: Any) -> Loader:
    """The loader called ``name``, built with ``options`` (e.g. ``include_questions=False``).

    Raises InputError for an unknown name or an option the loader does not take.
    """
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in _LOADERS:
        raise InputError(f"unknown source {name!r}: use one of {', '.join(LOADERS)}")
    module_name, class_name = _LOADERS[key]
    factory = getattr(importlib.import_module(module_name), class_name)
    accepted = [
        p.name
        for p in inspect.signature(factory).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        takes = f"it takes {', '.join(accepted)}" if accepted else "it takes no options"
        raise InputError(f"source {key!r} has no option {', '.join(unknown)}: {takes}")
    loader: Loader = factory(**options)
    return loader
