"""Serves the web app's static export at ``/`` (the API keeps ``/api``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles


def mount_web_app(app: FastAPI, web_dir: Path) -> None:
    """Mount the static export; unknown paths fall back to its 404 page."""
    app.mount("/", StaticFiles(directory=web_dir, html=True), name="web")
