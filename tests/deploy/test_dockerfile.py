"""The image recipe: hadolint, pinned bases, non-root final stages, a healthcheck, no compilers."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import DEPLOY, need_tool

DOCKERFILE = DEPLOY / "Dockerfile"


def stages(text: str) -> dict[str, list[str]]:
    """Instructions per stage name (continuation lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found: dict[str, list[str]] = {}
    current = "__args__"
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if match:
            current = match.group(2) or match.group(1)
            found[current] = [line]
        else:
            found.setdefault(current, []).append(line)
    return found


def base_of(stage: list[str], build_args: dict[str, str]) -> str:
    image = stage[0].split()[1]
    return re.sub(r"\$\{(\w+)\}", lambda m: build_args[m.group(1)], image)


def build_args(text: str) -> dict[str, str]:
    return dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.MULTILINE))


def test_hadolint_passes() -> None:
    hadolint = need_tool("hadolint")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bases_are_pinned_to_exact_versions() -> None:
    text = DOCKERFILE.read_text()
    args = build_args(text)
    assert set(stages(text)) >= {"web", "builder", "server", "embedded", "backup"}
    for name, stage in stages(text).items():
        if name == "__args__":
            continue
        image = base_of(stage, args)
        if ":" not in image:  # another stage of this file
            assert image in stages(text), image
            continue
        tag = image.split(":", 1)[1]
        assert tag != "latest", f"{name}: {image} is not pinned"
        assert re.match(r"\d+\.\d+", tag), f"{name}: {image} is not pinned"


@pytest.mark.parametrize("target", ["server", "embedded"])
def test_final_stages_run_as_a_user_with_a_healthcheck_and_no_compilers(target: str) -> None:
    text = DOCKERFILE.read_text()
    all_stages = stages(text)
    chain = []
    name = target
    while name in all_stages:  # the stage and the stages it is built FROM
        chain.append(name)
        name = all_stages[name][0].split()[1]
    assert chain[-1] == "runtime", chain
    instructions = [line for stage in chain for line in all_stages[stage]]
    users = [line.split()[1] for line in instructions if line.upper().startswith("USER ")]
    assert users, f"{target} sets no USER"
    assert users[-1].split(":")[0] not in ("root", "0"), users
    assert any(
        line.upper().startswith("HEALTHCHECK") and "/healthz" in line for line in instructions
    )
    runs = " ".join(line for line in instructions if line.upper().startswith("RUN "))
    for compiler in ("build-essential", "gcc", "cmake", "apt-get install"):
        assert compiler not in runs, f"{target} installs {compiler}"
    copies = [line for line in instructions if line.upper().startswith("COPY --FROM")]
    # Only the built environment, the web export and the exported models come across.
    sources = {line.split()[1].split("=")[1] for line in copies}
    assert sources <= {"web", "builder", "venv-server", "venv-embedded"}, sources
    model_packages = "venv-embedded" in sources
    assert model_packages == (target == "embedded")
    default_cmd = [line for line in instructions if line.upper().startswith("CMD")][-1]
    assert '"lumen", "serve", "--host", "0.0.0.0"' in default_cmd


def test_embedded_flavour_installs_the_model_packages_and_server_does_not() -> None:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    server = stages(text)["venv-server"]
    embedded = stages(text)["venv-embedded"]
    assert "embedded" not in " ".join(server[1:])
    assert "[embedded," in " ".join(embedded[1:])


def test_the_python_the_image_needs_is_in_the_venv_it_copies(tmp_path: Path) -> None:
    # The image's environment variables name settings Lumen really has.
    from lumen.settings import Settings

    env = dict(re.findall(r"(LUMEN_[A-Z_]+)=(\S+)", DOCKERFILE.read_text()))
    assert "LUMEN_EMBEDDING__ONNX_PATH" in env
    for name in env:
        parts = name[len("LUMEN_") :].lower().split("__")
        model: object = Settings
        for part in parts:
            fields = model.model_fields  # type: ignore[attr-defined]
            assert part in fields, name
            model = fields[part].annotation


def test_secrets_and_local_state_stay_out_of_the_build_context() -> None:
    ignored = {
        line.strip()
        for line in (DEPLOY.parent / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"deploy/secrets", "deploy/backups", ".venv", ".lumen", "web/node_modules"} <= ignored
    # What the Dockerfile copies from the context is not ignored.
    copied = re.findall(
        r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", DOCKERFILE.read_text(), re.MULTILINE
    )
    for sources in copied:
        for source in sources.split():
            assert source.rstrip("/") not in ignored, source
