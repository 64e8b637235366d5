"""Fixtures for the job tests: moto's S3 server in a process of the test's own."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from lumen.jobs.runner import wait_for

from ..scale.conftest import free_port


@pytest.fixture
def moto_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    """moto's S3 server on a free port (the S3 API, in a process of the test's own)."""
    binary = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    if not Path(binary).exists():
        pytest.skip("moto[server] is not installed")
    port = free_port()
    process = subprocess.Popen(
        [binary, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    assert wait_for(up, 30)
    yield url
    process.terminate()
    process.wait(timeout=20)
