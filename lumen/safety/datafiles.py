"""Data files shipped with the safety layer (``lumen/safety/data``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def own_data_path(name: str) -> Path:
    """A data file shipped in ``lumen/safety/data``."""
    return Path(str(resources.files("lumen.safety") / "data" / name))
