"""The OpenAI-compatible API (/v1) beside Lumen's own (/api/v1) for the same questions, over
HTTP (uvicorn on loopback, the embedded stack), both with the same personal API key.

Fresh answers (the answer cache off): time to the first event, the first text and the end,
streamed. Through /api/v1 the first text is the model's unverified draft; through /v1 it is
the verified answer (the draft is never sent there), so /v1's first text comes when /api/v1's
final event does. Cached answers (the same question again): the whole request through each
API, JSON and streamed, so that the difference is the /v1 layer alone (request checks,
composing the content with its sources, counting tokens, the chunk format).

Results: bench/results/openai.json + openai.png.

Usage: python bench/bench_openai.py [--questions 20] [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from bench_service import PASSWORD, serve, summary
from rich.progress import Progress

from lumen.api.app import create_app
from lumen.factory import build_lumen, build_services
from lumen.ingest.loaders import get_loader
from lumen.ingest.loaders.medquad import iter_qa_pairs
from lumen.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path(".lumen-bench-openai"))
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=20, help="Cached requests per question.")
    args = parser.parse_args()

    sources = Settings().paths.sources_dir
    state_dir = args.data_dir / f"state-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        paths={"data_dir": args.data_dir / "index", "sources_dir": sources},
        database={"url": f"sqlite:///{(state_dir / 'lumen.db').resolve()}"},
        api={"rate_limit_per_ip": 1_000_000, "rate_limit_per_user": 1_000_000},
        llm={"timeout_s": 300},
    )
    folder = sources / "medquad" / "7_SeniorHealth_QA"
    lumen = build_lumen(settings)
    lumen.ingestor.ingest(
        get_loader("medquad").load(folder, collection="knowledge", report=lambda p, m: None),
        collection="knowledge",
    )
    distinct = list(dict.fromkeys(pair.question for pair in iter_qa_pairs(folder)))
    step = max(1, len(distinct) // max(1, args.questions))
    questions = distinct[::step][: args.questions]

    uncached = settings.model_copy(
        update={"api": settings.api.model_copy(update={"cache_ttl_s": 0})}
    )
    fresh_services = build_services(uncached, lumen=lumen)
    cached_services = build_services(settings, lumen=lumen)
    with (
        serve(create_app(services=fresh_services)) as fresh_url,
        serve(create_app(services=cached_services)) as cached_url,
        httpx.Client(timeout=600) as client,
    ):
        key = api_key(client, fresh_url)
        headers = {"Authorization": f"Bearer {key}"}
        with Progress() as bar:
            task = bar.add_task("questions", total=len(questions) * 2)
            fresh = run_fresh(client, fresh_url, headers, questions, bar, task)
            cached = run_cached(client, cached_url, headers, questions, args.repeats, bar, task)
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "questions": len(questions),
        "repeats": args.repeats,
        "auth": "the same personal API key on both APIs",
        "fresh": fresh,
        "cached": cached,
        "audit_chain_ok": fresh_services.audit.verify().ok,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "openai.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    plot(results, out.with_suffix(".png"))
    print(json.dumps(results, indent=2))


def api_key(client: httpx.Client, base: str) -> str:
    """A new account's personal API key (both servers share the database)."""
    email = f"bench-{uuid.uuid4().hex[:8]}@example.org"
    client.post(f"{base}/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    login = client.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    token = login.json()["token"]
    client.cookies.clear()
    created = client.post(
        f"{base}/api/v1/me/api-keys",
        json={"name": "bench"},
        headers={"Authorization": f"Bearer {token}"},
    )
    return str(created.json()["key"])


def stream_lumen(
    client: httpx.Client, base: str, headers: dict[str, str], question: str
) -> dict[str, Any]:
    """/api/v1, streamed: first event, first draft token, the verified final event."""
    conversation = client.post(f"{base}/api/v1/conversations", json={}, headers=headers)
    url = f"{base}/api/v1/conversations/{conversation.json()['id']}/messages"
    marks: dict[str, Any] = {}
    started = time.perf_counter()
    event = ""
    with client.stream(
        "POST", url, json={"content": question, "stream": True}, headers=headers
    ) as response:
        for line in response.iter_lines():
            now = (time.perf_counter() - started) * 1000
            if line.startswith("event: "):
                event = line[7:]
                marks.setdefault(f"first_{event}", now)
            elif line.startswith("data: ") and event == "final":
                marks["mode"] = json.loads(line[6:])["answer"]["mode"]
            elif line.startswith("data: ") and event == "error":
                marks["mode"] = "error"
    marks["total"] = (time.perf_counter() - started) * 1000
    return marks


def stream_openai(
    client: httpx.Client, base: str, headers: dict[str, str], question: str
) -> dict[str, Any]:
    """/v1, streamed: first chunk (the role), first content, ``[DONE]``."""
    body = {"model": "lumen", "stream": True, "messages": [{"role": "user", "content": question}]}
    marks: dict[str, Any] = {}
    started = time.perf_counter()
    with client.stream("POST", f"{base}/v1/chat/completions", json=body, headers=headers) as r:
        for line in r.iter_lines():
            if not line.startswith("data: "):
                continue
            now = (time.perf_counter() - started) * 1000
            marks.setdefault("first_chunk", now)
            if line == "data: [DONE]":
                marks["done"] = now
                continue
            data = json.loads(line[6:])
            if "error" in data:
                marks["mode"] = "error"
                continue
            for choice in data["choices"]:
                if choice["delta"].get("content"):
                    marks.setdefault("first_content", now)
                if choice.get("finish_reason"):
                    marks["mode"] = data["lumen"]["mode"]
    marks["total"] = (time.perf_counter() - started) * 1000
    return marks


def run_fresh(
    client: httpx.Client,
    base: str,
    headers: dict[str, str],
    questions: list[str],
    bar: Progress,
    task: Any,
) -> dict[str, Any]:
    """Each question through both APIs, generated afresh each time."""
    lumen_marks: list[dict[str, float]] = []
    openai_marks: list[dict[str, float]] = []
    stream_lumen(client, base, headers, "What is glaucoma?")  # loads the models; not counted
    for n, question in enumerate(questions):
        # Alternate which API goes first, so that neither always meets a warmer machine.
        for which in ("api", "v1") if n % 2 == 0 else ("v1", "api"):
            if which == "api":
                lumen_marks.append(stream_lumen(client, base, headers, question))
            else:
                openai_marks.append(stream_openai(client, base, headers, question))
        bar.advance(task)
    api = {
        "first_event_ms": summary([m["first_message"] for m in lumen_marks]),
        "first_draft_token_ms": summary(
            [m["first_token"] for m in lumen_marks if "first_token" in m]
        ),
        "verified_final_ms": summary([m["first_final"] for m in lumen_marks if "first_final" in m]),
        "total_ms": summary([m["total"] for m in lumen_marks]),
    }
    v1 = {
        "first_chunk_ms": summary([m["first_chunk"] for m in openai_marks]),
        "first_content_ms": summary(
            [m["first_content"] for m in openai_marks if "first_content" in m]
        ),
        "total_ms": summary([m["total"] for m in openai_marks]),
    }
    diffs = [o["total"] - a["total"] for a, o in zip(lumen_marks, openai_marks, strict=True)]
    return {
        "api_v1_stream": api,
        "openai_v1_stream": v1,
        "modes": {
            "api_v1": [m.get("mode", "none") for m in lumen_marks],
            "openai_v1": [m.get("mode", "none") for m in openai_marks],
        },
        "total_difference_per_question_ms": summary(diffs),
    }


def run_cached(
    client: httpx.Client,
    base: str,
    headers: dict[str, str],
    questions: list[str],
    repeats: int,
    bar: Progress,
    task: Any,
) -> dict[str, Any]:
    """The same questions again, answered from the cache: the API layers' own cost."""
    samples: dict[str, list[float]] = {
        "api_v1_json_ms": [],
        "openai_v1_json_ms": [],
        "api_v1_stream_ms": [],
        "openai_v1_stream_ms": [],
    }
    conversation = client.post(f"{base}/api/v1/conversations", json={}, headers=headers).json()
    url = f"{base}/api/v1/conversations/{conversation['id']}/messages"
    for question in questions:
        client.post(url, json={"content": question}, headers=headers)  # fills the cache
        body = {"model": "lumen", "messages": [{"role": "user", "content": question}]}
        order = list(samples)
        for n in range(repeats):
            for name in order if n % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                if name == "api_v1_json_ms":
                    client.post(url, json={"content": question}, headers=headers)
                elif name == "openai_v1_json_ms":
                    client.post(f"{base}/v1/chat/completions", json=body, headers=headers)
                elif name == "api_v1_stream_ms":
                    stream_lumen(client, base, headers, question)
                else:
                    stream_openai(client, base, headers, question)
                samples[name].append((time.perf_counter() - started) * 1000)
        bar.advance(task)
    result: dict[str, Any] = {name: summary(values) for name, values in samples.items()}
    result["overhead_json_p50_ms"] = round(
        result["openai_v1_json_ms"]["p50"] - result["api_v1_json_ms"]["p50"], 2
    )
    result["overhead_stream_p50_ms"] = round(
        result["openai_v1_stream_ms"]["p50"] - result["api_v1_stream_ms"]["p50"], 2
    )
    return result


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fresh, cached = results["fresh"], results["cached"]
    rows = [
        ("fresh /api/v1 first draft token", fresh["api_v1_stream"]["first_draft_token_ms"]),
        ("fresh /api/v1 verified final", fresh["api_v1_stream"]["verified_final_ms"]),
        ("fresh /v1 first content (verified)", fresh["openai_v1_stream"]["first_content_ms"]),
        ("fresh /v1 [DONE]", fresh["openai_v1_stream"]["total_ms"]),
        ("cached /api/v1 JSON", cached["api_v1_json_ms"]),
        ("cached /v1 JSON", cached["openai_v1_json_ms"]),
        ("cached /api/v1 stream", cached["api_v1_stream_ms"]),
        ("cached /v1 stream", cached["openai_v1_stream_ms"]),
    ]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5))
    for ax, part, unit, scale in ((top, rows[:4], "s", 1000), (bottom, rows[4:], "ms", 1)):
        ys = range(len(part))
        ax.barh([y + 0.2 for y in ys], [r[1]["p50"] / scale for r in part], 0.4, label="p50")
        ax.barh([y - 0.2 for y in ys], [r[1]["p95"] / scale for r in part], 0.4, label="p95")
        ax.set_yticks(list(ys), [r[0] for r in part])
        ax.set_xlabel(unit)
        ax.legend(loc="lower right")
    top.set_title(
        f"/v1 beside /api/v1 ({results['questions']} questions, "
        f"{results['machine']['cpus']} CPUs)\ncached answers, /v1 minus /api/v1 at p50: "
        f"JSON {results['cached']['overhead_json_p50_ms']} ms, "
        f"stream {results['cached']['overhead_stream_p50_ms']} ms"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
