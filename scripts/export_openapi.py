"""Write Lumen's OpenAPI schema as JSON with sorted keys (the web app's types come from it).

Usage: python scripts/export_openapi.py [--out web/openapi.json]

The app is built around services on a throwaway data folder, so nothing of the real data
folder is opened or changed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def export(out: Path) -> None:
    """Build the app on a temporary data folder and dump its schema to ``out``."""
    # Settings read LUMEN_* variables: keep those that would point elsewhere from leaking in.
    for name in [n for n in os.environ if n.startswith("LUMEN_")]:
        del os.environ[name]
    sys.path.insert(0, str(ROOT))
    from lumen.api.app import create_app
    from lumen.factory import build_services
    from lumen.settings import Settings

    with tempfile.TemporaryDirectory(prefix="lumen-openapi-") as tmp:
        services = build_services(Settings(paths={"data_dir": Path(tmp)}))
        try:
            schema = create_app(services=services).openapi()
        finally:
            services.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    out.write_text(text, encoding="utf-8")


def main() -> None:
    """Parse the arguments and export."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "web" / "openapi.json")
    args = parser.parse_args()
    export(args.out)
    sys.stdout.write(f"wrote {args.out}\n")


if __name__ == "__main__":
    main()
