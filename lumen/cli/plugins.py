"""Command groups that installed packages add to ``lumen`` (entry points ``lumen.cli``).

The lab (``lumen_lab``) registers ``eval``, ``finetune`` and ``lab`` this way, so the
product's CLI never imports it; without the lab installed those groups are absent.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

import typer

ENTRY_POINT_GROUP = "lumen.cli"

logger = logging.getLogger(__name__)


def register_plugins(app: typer.Typer) -> None:
    """Add every installed ``lumen.cli`` command group to ``app``, by name."""
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            group = entry.load()
        except ImportError as exc:
            logger.debug("command group %s unavailable: %s", entry.name, exc)
            continue
        app.add_typer(group, name=entry.name)
