"""Parse one uploaded file in a child process with memory, CPU and time limits.

A hostile file (a PDF or XML bomb, a malformed PDF that sends the parser into a loop) then
fails its own job and cannot exhaust the worker that runs it. The child reads a JSON request
on stdin and writes the documents (or one error) as JSON on stdout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lumen.documents import Document, Section
from lumen.errors import InputError

MEMORY_LIMIT_BYTES = 1_500_000_000
CPU_LIMIT_S = 120


def _limit_resources() -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT_S, CPU_LIMIT_S))


def parse_file(
    path: Path,
    *,
    kind: str,
    collection: str,
    max_pdf_pages: int,
    max_text_chars: int,
    name: str | None = None,
    timeout_s: float = 180.0,
) -> list[Document]:
    """The documents of the file at ``path`` (read as ``kind``), parsed in a limited child.

    Messages name the file ``name`` (default: the path's name).

    Raises:
        InputError: the file is unreadable, too large once extracted, or killed by a limit.

    """
    name = name or path.name
    request = {
        "path": str(path),
        "kind": kind,
        "collection": collection,
        "max_pdf_pages": max_pdf_pages,
        "max_text_chars": max_text_chars,
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "lumen.ingest.sandbox"],
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=timeout_s,
            preexec_fn=_limit_resources,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InputError(f"{name}: parsing took longer than {timeout_s:.0f} s") from None
    if done.returncode != 0 or not done.stdout:
        raise InputError(
            f"{name}: the parser was stopped (memory, CPU or a crash, exit "
            f"{done.returncode}); the file may be a decompression bomb or malformed"
        )
    reply = json.loads(done.stdout)
    if reply.get("error"):
        raise InputError(f"{name}: {reply['error']}")
    return [
        Document(
            id=d["id"],
            title=d["title"],
            url=d["url"],
            source=d["source"],
            collection=d["collection"],
            sections=tuple(Section(s["title"], s["text"]) for s in d["sections"]),
            metadata=d["metadata"],
        )
        for d in reply["documents"]
    ]


def _parse(request: dict[str, Any]) -> dict[str, Any]:
    from lumen.ingest.loaders.files import FilesLoader

    path = Path(request["path"])
    if request["kind"] == "pdf":
        from pypdf import PdfReader

        try:
            pages = len(PdfReader(path).pages)
        except Exception as exc:
            return {"error": f"unreadable PDF ({type(exc).__name__})"}
        if pages > request["max_pdf_pages"]:
            return {"error": f"the PDF has {pages} pages; at most {request['max_pdf_pages']}"}
    problems: list[str] = []
    documents = list(
        FilesLoader().load(
            path,
            collection=request["collection"],
            report=lambda _file, message: problems.append(message),
        )
    )
    if not documents:
        return {"error": problems[0] if problems else "no text found"}
    chars = sum(len(s.text) for d in documents for s in d.sections)
    if chars > request["max_text_chars"]:
        return {"error": f"{chars} characters of text; at most {request['max_text_chars']}"}
    return {"documents": [asdict(d) for d in documents], "problems": problems}


def main() -> None:  # pragma: no cover - runs in the child
    """Read the request on stdin, write the reply on stdout."""
    request = json.loads(sys.stdin.buffer.read())
    sys.stdout.write(json.dumps(_parse(request)))


if __name__ == "__main__":
    main()
