"""The web app in a real browser: ``scripts/web.sh test``.

That builds the static export when its sources changed (npm ci, ESLint, tsc, the API types
check, next build), starts ``lumen serve`` on a temporary data folder with a tiny MedQuAD
index, and drives Debian's Chromium through sign-up, a streamed answer with citations,
history, export and account deletion, the crisis response, crafted HTML in an answer, axe
checks and screenshots (web/test-results/screenshots/).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.timeout(2700)
def test_web_app_in_chromium() -> None:
    """The browser suite passes (its output is the failure message otherwise)."""
    missing = [name for name in ("node", "npm") if shutil.which(name) is None]
    if not CHROMIUM.exists():
        missing.append(str(CHROMIUM))
    if missing and os.environ.get("CI") != "true":
        pytest.skip(
            f"the browser suite needs {', '.join(missing)} "
            "(apt-get install chromium; Node 20 with npm)"
        )
    try:
        result = subprocess.run(
            ["bash", str(REPO / "scripts" / "web.sh"), "test"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=2600,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout if isinstance(exc.stdout, str) else ""
        pytest.fail(f"scripts/web.sh test timed out:\n{output[-20000:]}", pytrace=False)
    if result.returncode != 0:
        pytest.fail(
            f"scripts/web.sh test exited {result.returncode}:\n"
            f"{result.stdout[-20000:]}\n{result.stderr[-8000:]}",
            pytrace=False,
        )
