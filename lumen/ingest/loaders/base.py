"""What every loader provides, and helpers they share."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from lumen.documents import Document
from lumen.errors import InputError

logger = logging.getLogger(__name__)

#: Called with a file and a one-line problem; the file is skipped and loading goes on.
Report = Callable[[Path, str], None]


class Loader(Protocol):
    """Reads one kind of source into documents."""

    name: str
    default_collection: str
    default_subpath: str

    def load(self, path: Path, *, collection: str, report: Report) -> Iterator[Document]:
        """Yield the documents under ``path``; report and skip files that cannot be read."""
        ...


def files_under(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """``path`` itself if it is a file, else the matching files below it, sorted.

    Raises InputError when the path does not exist or cannot be read.
    """
    if not path.exists():
        raise InputError(f"path not found: {path}")
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(f"not a file or folder: {path}")
    try:
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    except PermissionError as exc:
        raise InputError(f"cannot read {path}: permission denied") from exc


def read_text(path: Path, report: Report) -> str | None:
    """The file's text as UTF-8 (bad bytes replaced), or None after reporting why not."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        report(path, f"cannot read: {exc.strerror or exc}")
        return None
