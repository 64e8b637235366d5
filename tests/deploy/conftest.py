"""Deployment files: paths, and the external tools the checks run (skipped off CI when absent)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def need_tool(name: str) -> str:
    """The tool's path; a missing tool skips the test locally and fails it on CI."""
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture
def deploy_dir() -> Path:
    """The repository's deploy/ folder."""
    return DEPLOY
