"""Loaders: one per source format, found by name."""

from __future__ import annotations

from typing import Any

from lumen.errors import InputError
from lumen.ingest.loaders.base import Loader, Report
from lumen.ingest.loaders.files import FilesLoader
from lumen.ingest.loaders.medquad import MedQuADLoader
from lumen.ingest.loaders.openfda import OpenFDALoader
from lumen.ingest.loaders.pubmedqa import PubMedQALoader
from lumen.ingest.loaders.regulatory import RegulatoryLoader

_LOADERS: dict[str, type[Any]] = {
    "medquad": MedQuADLoader,
    "pubmedqa": PubMedQALoader,
    "drugs": OpenFDALoader,
    "regulatory": RegulatoryLoader,
    "files": FilesLoader,
}
LOADERS = tuple(_LOADERS)

__all__ = ["LOADERS", "Loader", "Report", "get_loader"]


def get_loader(name: str, **options: Any) -> Loader:
    """The loader called ``name``, built with ``options``."""
    try:
        factory = _LOADERS[name]
    except KeyError:
        raise InputError(f"unknown source {name!r}: use one of {', '.join(LOADERS)}") from None
    loader: Loader = factory(**options)
    return loader
