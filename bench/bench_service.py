"""Service benchmark through the HTTP API (uvicorn on loopback, embedded or PostgreSQL + Redis):
sign-in, profile writes and reads (with encryption and audit), answers as JSON and as a stream
(time to the first event, the first token and the verified answer), and cached answers.
Results: bench/results/service-<stack>.json + .png.

The index is a MedQuAD subset (NIHSeniorHealth, ~1,200 chunks) built once in --data-dir.

Usage: python bench/bench_service.py [--stack embedded|postgres-redis] [--answers 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from rich.progress import Progress

from lumen.api.app import create_app
from lumen.factory import build_lumen, build_services
from lumen.ingest.loaders import get_loader
from lumen.ingest.loaders.medquad import iter_qa_pairs
from lumen.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "a long enough benchmark passphrase"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index], 2)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
    }


def timed(samples: list[float], func: Any, *args: Any, **kwargs: Any) -> Any:
    started = time.perf_counter()
    result = func(*args, **kwargs)
    samples.append((time.perf_counter() - started) * 1000)
    return result


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on a free loopback port; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path(".lumen-bench-service"))
    parser.add_argument("--stack", choices=["embedded", "postgres-redis"], default="embedded")
    parser.add_argument("--answers", type=int, default=20)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    base = Settings()
    sources = base.paths.sources_dir
    index_dir = args.data_dir / "index"
    state_dir = args.data_dir / f"state-{uuid.uuid4().hex[:8]}"
    overrides: dict[str, Any] = {
        "paths": {"data_dir": index_dir, "sources_dir": sources},
        "api": {"rate_limit_per_ip": 1_000_000, "rate_limit_per_user": 1_000_000},
    }
    if args.stack == "postgres-redis":
        overrides["database"] = {"url": "postgresql+psycopg://root@127.0.0.1:5432/test"}
        overrides["kv"] = {"backend": "redis", "prefix": f"lumenbench:{uuid.uuid4().hex[:8]}:"}
    else:
        overrides["database"] = {"url": f"sqlite:///{(state_dir / 'lumen.db').resolve()}"}
    settings = Settings(**overrides)
    folder = sources / "medquad" / "7_SeniorHealth_QA"

    lumen = build_lumen(settings)
    loader = get_loader("medquad")
    lumen.ingestor.ingest(
        loader.load(folder, collection="knowledge", report=lambda p, m: None),
        collection="knowledge",
    )
    # Distinct questions spread over the documents (MedQuAD repeats a question per answer).
    distinct = list(dict.fromkeys(pair.question for pair in iter_qa_pairs(folder)))
    step = max(1, len(distinct) // max(1, args.answers))
    questions = distinct[::step][: args.answers]

    services = build_services(settings, lumen=lumen)
    with (
        serve(create_app(services=services)) as base_url,
        httpx.Client(base_url=base_url, timeout=120) as client,
    ):
        results = run(client, services, args, questions)
    results["index_chunks"] = lumen.store.stats("knowledge").points
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"service-{args.stack}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    plot(results, out.with_suffix(".png"))
    print(json.dumps(results, indent=2))


def run(
    client: httpx.Client, services: Any, args: argparse.Namespace, questions: list[str]
) -> dict[str, Any]:
    """Sign in, profile traffic, then fresh, streamed and cached answers."""
    email = f"bench-{uuid.uuid4().hex[:8]}@example.org"
    client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    login_ms: list[float] = []
    token = ""
    for _ in range(10):
        response = timed(
            login_ms, client.post, "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        token = response.json()["token"]
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {token}"}

    write_ms: list[float] = []
    read_ms: list[float] = []
    for n in range(args.requests):
        created = timed(
            write_ms,
            client.post,
            "/api/v1/profiles",
            json={"label": f"p{n}", "medications": ["metformin"], "conditions": ["diabetes"]},
            headers=headers,
        ).json()
        timed(read_ms, client.get, f"/api/v1/profiles/{created['id']}", headers=headers)

    conversation = client.post("/api/v1/conversations", json={}, headers=headers).json()["id"]
    url = f"/api/v1/conversations/{conversation}/messages"
    answer_ms: list[float] = []
    first_event_ms: list[float] = []
    first_token_ms: list[float] = []
    final_ms: list[float] = []
    cached_ms: list[float] = []
    modes: dict[str, int] = {}
    with Progress() as bar:
        task = bar.add_task("answers", total=len(questions) * 3)
        for question in questions:
            # Streamed, fresh: the cache is keyed by question, so stream first.
            started = time.perf_counter()
            seen_token = False
            with client.stream(
                "POST", url, json={"content": question, "stream": True}, headers=headers
            ) as response:
                for line in response.iter_lines():
                    now = (time.perf_counter() - started) * 1000
                    if line.startswith("event: message"):
                        first_event_ms.append(now)
                    elif line.startswith("event: token") and not seen_token:
                        first_token_ms.append(now)
                        seen_token = True
                    elif line.startswith("event: final"):
                        final_ms.append(now)
            bar.advance(task)
            # The same question again: answered from the cache.
            timed(cached_ms, client.post, url, json={"content": question}, headers=headers)
            bar.advance(task)
            # A variant that misses the cache, as JSON.
            response = timed(
                answer_ms,
                client.post,
                url,
                json={"content": question + " Explain."},
                headers=headers,
            )
            mode = str(response.json()["answer"]["mode"])
            modes[mode] = modes.get(mode, 0) + 1
            bar.advance(task)

    return {
        "stack": args.stack,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "login_ms": summary(login_ms),
        "profile_write_ms": summary(write_ms),
        "profile_read_ms": summary(read_ms),
        "answer_json_ms": summary(answer_ms),
        "stream_first_event_ms": summary(first_event_ms),
        "stream_first_token_ms": summary(first_token_ms),
        "stream_final_ms": summary(final_ms),
        "cached_answer_ms": summary(cached_ms),
        "answer_modes": modes,
        "audit_chain_ok": services.audit.verify().ok,
        "metrics_cache_hits": services.metrics.value("lumen_answer_cache_total", result="hit"),
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [
        "login_ms",
        "profile_write_ms",
        "profile_read_ms",
        "cached_answer_ms",
        "stream_first_event_ms",
        "stream_first_token_ms",
        "stream_final_ms",
        "answer_json_ms",
    ]
    p50 = [results[n]["p50"] / 1000 for n in names]
    p95 = [results[n]["p95"] / 1000 for n in names]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ys = range(len(names))
    ax.barh([y + 0.2 for y in ys], p50, height=0.4, label="p50")
    ax.barh([y - 0.2 for y in ys], p95, height=0.4, label="p95")
    ax.set_yticks(list(ys), [n.removesuffix("_ms").replace("_", " ") for n in names])
    ax.axvline(5.0, color="red", linestyle="--", label="5 s target")
    ax.set_xlabel("seconds")
    ax.set_title(f"Lumen service latency ({results['stack']}, {results['machine']['cpus']} CPUs)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
