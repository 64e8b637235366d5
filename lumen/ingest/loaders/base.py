"""What every loader provides, and the file handling they share.

A loader turns a file or a folder into :class:`~lumen.documents.Document` objects. A path that
does not exist or cannot be read raises :class:`~lumen.errors.InputError`; a bad file inside a
folder (or a bad file given directly) is passed to the ``report`` callback with a one-line
reason and skipped, so one broken file never stops an ingest.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from lumen.documents import Document
from lumen.errors import InputError

logger = logging.getLogger(__name__)

#: ``(file, one-line problem)``: the file is skipped and loading goes on.
Report = Callable[[Path, str], None]


class Loader(Protocol):
    """Reads one kind of source into documents."""

    #: The source name written on the documents (``medquad``, ``openfda`` ...).
    name: str
    #: Every source name this loader's documents can carry (usually just ``name``).
    sources: tuple[str, ...]
    #: The collection the documents go to unless the caller names another.
    default_collection: str
    #: The source's folder relative to ``settings.paths.sources_dir`` ("" for generic files).
    default_subpath: str

    def load(self, path: Path, *, collection: str, report: Report) -> Iterator[Document]:
        """Yield the documents under ``path``; report and skip files that cannot be read."""
        ...


def check_path(path: Path) -> None:
    """Raise InputError unless ``path`` is a readable file or folder."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if not (path.is_file() or path.is_dir()):
        raise InputError(f"{path}: not a regular file or folder")
    mode = os.R_OK | (os.X_OK if path.is_dir() else 0)
    if not os.access(path, mode):
        raise InputError(f"{path}: permission denied")


def list_files(
    path: Path,
    suffixes: tuple[str, ...] | None,
    report: Report | None = None,
) -> list[Path]:
    """``path`` itself if it is a file, else the files below it (recursively), sorted.

    ``suffixes`` (lower case, with the dot) filters the files found in a folder; None keeps
    every file. A file given directly is always returned: the loader reports it if it cannot
    read it. Hidden files and folders (``.git``, ``.DS_Store``) are skipped.
    """
    check_path(path)
    if path.is_file():
        return [path]
    found: list[Path] = []

    def unreadable(error: OSError) -> None:
        folder = Path(error.filename) if error.filename else path
        message = f"cannot read folder: {error.strerror or error}"
        if report is not None:
            report(folder, message)
        else:
            logger.warning("%s: %s", folder, message)

    for folder, dirs, files in os.walk(path, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            if suffixes is None or os.path.splitext(name)[1].lower() in suffixes:
                found.append(Path(folder, name))
    return sorted(found)


def read_text(path: Path, report: Report) -> str | None:
    """The file's text (UTF-8, a byte-order mark dropped, bad bytes replaced), or None.

    On failure the problem is reported and None returned.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        report(path, f"cannot read: {exc.strerror or exc}")
        return None
    return data.decode("utf-8-sig", errors="replace")


def relative_name(file: Path, root: Path) -> str:
    """``file`` relative to ``root`` (a folder, or the file itself), with forward slashes."""
    if root.is_file():
        return file.name
    try:
        return file.relative_to(root).as_posix()
    except ValueError:
        return file.name


def scalar_metadata(
    data: Mapping[str, Any], *, max_fields: int = 30, max_chars: int = 200
) -> dict[str, str | int | float | bool]:
    """The scalar fields of ``data`` (strings, numbers, booleans, dates) fit for a payload.

    Dates become ISO strings; long strings, nested values and empty values are left out.
    """
    out: dict[str, str | int | float | bool] = {}
    for key, value in data.items():
        if len(out) >= max_fields:
            break
        if isinstance(value, bool | int | float):
            out[str(key)] = value
        elif isinstance(value, dt.date | dt.datetime | dt.time):
            out[str(key)] = value.isoformat()
        elif isinstance(value, str):
            text = " ".join(value.split())
            if text and len(text) <= max_chars:
                out[str(key)] = text
    return out
