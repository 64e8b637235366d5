"""Load benchmark through the HTTP API (uvicorn on loopback), reproducing issue #19's probe:

1. 20 and 40 concurrent ``GET /api/v1/conversations`` with one token: status counts, p50/p95;
2. 30 wrong passwords at once against a fresh account: password checks (argon2) counted,
   status counts;
3. N users asking for T seconds against the one llama.cpp model (uncached questions, and
   every fifth a cached one): answered, 503 with and without Retry-After, other statuses,
   p50/p95 of each, and the model queue's deepest point.

Results: bench/results/load-<stack>.json + .png. The index is the MedQuAD NIHSeniorHealth
subset, built once in --data-dir (as bench_service.py does).

Usage: python bench/bench_load.py [--stack embedded|postgres-redis] [--users 20]
       [--duration 180] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from bench_service import percentile, serve

from lumen.api.app import create_app
from lumen.factory import build_lumen, build_services
from lumen.ingest.loaders import get_loader
from lumen.ingest.loaders.medquad import iter_qa_pairs
from lumen.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "a long enough benchmark passphrase"
API = "/api/v1"


def latency(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95)}


def at_once(count: int, call: Callable[[int], tuple[int, float, bool]]) -> list[Any]:
    """``count`` calls from as many threads, released together."""
    barrier = threading.Barrier(count)

    def run(index: int) -> tuple[int, float, bool]:
        barrier.wait()
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def request(client: httpx.Client, method: str, url: str, **kwargs: Any) -> tuple[int, float, bool]:
    """Status (0 when the connection failed), milliseconds, and whether Retry-After came."""
    started = time.perf_counter()
    try:
        response = client.request(method, url, **kwargs)
        status, retry = response.status_code, "retry-after" in response.headers
    except httpx.HTTPError:
        status, retry = 0, False
    return status, (time.perf_counter() - started) * 1000, retry


def account(client: httpx.Client, email: str) -> dict[str, str]:
    client.post(f"{API}/auth/signup", json={"email": email, "password": PASSWORD})
    token = client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD}).json()
    client.cookies.clear()
    return {"Authorization": f"Bearer {token['token']}"}


def concurrent_lists(base_url: str, levels: list[int], rounds: int) -> dict[str, Any]:
    """Phase 1: one token, ``level`` requests at once, ``rounds`` times."""
    with httpx.Client(base_url=base_url, timeout=120) as setup:
        headers = account(setup, f"lists-{uuid.uuid4().hex[:8]}@example.org")
        setup.post(f"{API}/conversations", json={"title": "bench"}, headers=headers)
    out: dict[str, Any] = {}
    for level in levels:
        statuses: Counter[int] = Counter()
        times: list[float] = []
        clients = [httpx.Client(base_url=base_url, timeout=120) for _ in range(level)]
        try:
            for _ in range(rounds):
                results = at_once(
                    level,
                    lambda i, pool=clients: request(  # type: ignore[misc]
                        pool[i], "GET", f"{API}/conversations", headers=headers
                    ),
                )
                statuses.update(r[0] for r in results)
                times.extend(r[1] for r in results)
        finally:
            for client in clients:
                client.close()
        out[str(level)] = {"statuses": dict(statuses), "ms": latency(times)}
    return out


def wrong_passwords(base_url: str, services: Any, count: int) -> dict[str, Any]:
    """Phase 2: ``count`` wrong passwords at once; the password checks are counted."""
    email = f"victim-{uuid.uuid4().hex[:8]}@example.org"
    with httpx.Client(base_url=base_url, timeout=120) as setup:
        setup.post(f"{API}/auth/signup", json={"email": email, "password": PASSWORD})
    hasher = services.hasher
    checks = Counter[str]()
    verify, dummy = hasher.verify, hasher.dummy_verify

    def counted_verify(hashed: str, password: str) -> bool:
        checks["verify"] += 1
        return bool(verify(hashed, password))

    def counted_dummy(password: str) -> None:
        checks["dummy"] += 1
        dummy(password)

    hasher.verify, hasher.dummy_verify = counted_verify, counted_dummy
    clients = [httpx.Client(base_url=base_url, timeout=120) for _ in range(count)]
    try:
        results = at_once(
            count,
            lambda i: request(
                clients[i],
                "POST",
                f"{API}/auth/login",
                json={"email": email, "password": f"a wrong password {i:03d}"},
            ),
        )
    finally:
        hasher.verify, hasher.dummy_verify = verify, dummy
        for client in clients:
            client.close()
    return {
        "attempts": count,
        "password_checks": sum(checks.values()),
        "limit": services.settings.auth.login_failures_per_account,
        "statuses": dict(Counter(r[0] for r in results)),
    }


def load(
    base_url: str, services: Any, users: int, duration_s: float, questions: list[str]
) -> dict[str, Any]:
    """Phase 3: ``users`` each ask one question after another for ``duration_s`` seconds."""
    with httpx.Client(base_url=base_url, timeout=600) as setup:
        tokens = [
            account(setup, f"user{n}-{uuid.uuid4().hex[:6]}@example.org") for n in range(users)
        ]
        conversations = [
            setup.post(f"{API}/conversations", json={}, headers=h).json()["id"] for h in tokens
        ]
        # One question answered once, so that later askings come from the cache.
        cached_question = questions[0]
        setup.post(
            f"{API}/conversations/{conversations[0]}/messages",
            json={"content": cached_question},
            headers=tokens[0],
        )
    lock = threading.Lock()
    records: list[dict[str, Any]] = []
    deepest = [0.0]
    stop_at = time.monotonic() + duration_s

    def user(n: int) -> None:
        url = f"{API}/conversations/{conversations[n]}/messages"
        with httpx.Client(base_url=base_url, timeout=600) as client:
            asked = 0
            while time.monotonic() < stop_at:
                cached = asked % 5 == 4
                question = (
                    cached_question
                    if cached
                    else f"{questions[(n + asked) % len(questions)]} (user {n}, {asked})"
                )
                status, ms, retry = request(
                    client, "POST", url, json={"content": question}, headers=tokens[n]
                )
                with lock:
                    records.append({"cached": cached, "status": status, "ms": ms, "retry": retry})
                asked += 1
                if status in (429, 503):
                    time.sleep(1.0)  # a polite client backs off before asking again

    def watch() -> None:
        while time.monotonic() < stop_at:
            deepest[0] = max(deepest[0], services.metrics.value("lumen_llm_queue_depth"))
            time.sleep(0.1)

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    threads.append(threading.Thread(target=watch))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def part(cached: bool) -> dict[str, Any]:
        rows = [r for r in records if r["cached"] is cached]
        answered = [r["ms"] for r in rows if r["status"] == 201]
        busy = [r for r in rows if r["status"] == 503]
        return {
            "requests": len(rows),
            "answered": len(answered),
            "503_with_retry_after": sum(1 for r in busy if r["retry"]),
            "503_without_retry_after": sum(1 for r in busy if not r["retry"]),
            "statuses": dict(Counter(r["status"] for r in rows)),
            "answered_ms": latency(answered),
            "refused_ms": latency([r["ms"] for r in busy]),
        }

    return {
        "users": users,
        "duration_s": duration_s,
        "uncached": part(False),
        "cached": part(True),
        "deepest_queue": deepest[0],
        "llm": {
            "max_queue": services.settings.llm.max_queue,
            "queue_timeout_s": services.settings.llm.queue_timeout_s,
            "timeout_s": services.settings.llm.timeout_s,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path(".lumen-bench-service"))
    parser.add_argument("--stack", choices=["embedded", "postgres-redis"], default="embedded")
    parser.add_argument("--levels", type=int, nargs="+", default=[20, 40])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--wrong-passwords", type=int, default=30)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=180.0)
    parser.add_argument("--out", default=None, help="Results name (default: load-<stack>).")
    args = parser.parse_args()

    base = Settings()
    sources = base.paths.sources_dir
    state_dir = args.data_dir / f"state-{uuid.uuid4().hex[:8]}"
    overrides: dict[str, Any] = {
        "paths": {"data_dir": args.data_dir / "index", "sources_dir": sources},
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
    if not lumen.store.collections():
        lumen.ingestor.ingest(
            get_loader("medquad").load(folder, collection="knowledge", report=lambda p, m: None),
            collection="knowledge",
        )
    questions = list(dict.fromkeys(pair.question for pair in iter_qa_pairs(folder)))[::7]

    services = build_services(settings, lumen=lumen)
    with serve(create_app(services=services)) as base_url:
        results: dict[str, Any] = {
            "stack": args.stack,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_average_1m_before": round(os.getloadavg()[0], 2),
            },
            "concurrent_list": concurrent_lists(base_url, args.levels, args.rounds),
            "wrong_passwords": wrong_passwords(base_url, services, args.wrong_passwords),
            "load": load(base_url, services, args.users, args.duration, questions),
            "audit_chain_ok": services.audit.verify().ok,
        }
    results["machine"]["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{args.out or 'load-' + args.stack}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    plot(results, out.with_suffix(".png"))
    print(json.dumps(results, indent=2))


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    # Left: outcome counts per phase.
    rows: list[tuple[str, dict[str, int]]] = [
        (f"{level} concurrent lists", {str(k): v for k, v in data["statuses"].items()})
        for level, data in results["concurrent_list"].items()
    ]
    wrong = results["wrong_passwords"]
    rows.append(
        (f"{wrong['attempts']} wrong passwords", {str(k): v for k, v in wrong["statuses"].items()})
    )
    load_ = results["load"]
    for name in ("uncached", "cached"):
        part = load_[name]
        rows.append(
            (
                f"{load_['users']} users, {name}",
                {
                    "201": part["answered"],
                    "503+Retry-After": part["503_with_retry_after"],
                    "503 bare": part["503_without_retry_after"],
                },
            )
        )
    labels = sorted({str(k) for _, counts in rows for k in counts})
    bottoms = [0.0] * len(rows)
    for label in labels:
        values = [float(counts.get(label, 0)) for _, counts in rows]
        left.barh(range(len(rows)), values, left=bottoms, label=label)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    left.set_yticks(range(len(rows)), [name for name, _ in rows])
    left.set_xlabel("requests")
    left.set_title(
        f"Outcomes (argon2 checks: {results['wrong_passwords']['password_checks']}"
        f" of {results['wrong_passwords']['attempts']})"
    )
    left.legend(fontsize=8)
    # Right: latency p50/p95 in seconds.
    names = [f"{level} lists" for level in results["concurrent_list"]] + [
        "answered (uncached)",
        "answered (cached)",
        "refused 503",
    ]
    data = [d["ms"] for d in results["concurrent_list"].values()] + [
        load_["uncached"]["answered_ms"],
        load_["cached"]["answered_ms"],
        load_["uncached"]["refused_ms"],
    ]
    ys = range(len(names))
    right.barh([y + 0.2 for y in ys], [d["p50"] / 1000 for d in data], height=0.4, label="p50")
    right.barh([y - 0.2 for y in ys], [d["p95"] / 1000 for d in data], height=0.4, label="p95")
    right.set_yticks(list(ys), names)
    right.set_xlabel("seconds")
    right.set_title(f"Latency ({results['stack']}, {results['machine']['cpus']} CPUs)")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
