"""The lab's command groups, added to ``lumen`` through the ``lumen.cli`` entry points."""

from __future__ import annotations

import typer

from lumen_lab.cli.rerank_cmd import rerank_app, retrieval_app
from lumen_lab.cli.safety_cmd import safety_app
from lumen_lab.verifier.cli import verifier_app

lab_app = typer.Typer(help="The lab: train and evaluate Lumen's own models.", no_args_is_help=True)
lab_app.add_typer(safety_app, name="safety")
lab_app.add_typer(retrieval_app, name="retrieval")
lab_app.add_typer(rerank_app, name="rerank")
lab_app.add_typer(verifier_app, name="verifier")
