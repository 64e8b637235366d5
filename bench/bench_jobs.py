"""Jobs benchmark: indexing throughput of Celery workers (1 and 2 workers on the same upload,
chunks/s) and job latency from upload to answerable. Results: bench/results/jobs.json + .png.

Set-up, as in production on one machine: ``lumen index serve`` holds the index (qdrant-edge),
Celery workers on Redis reach it with vector_store.backend=remote, the jobs table is in SQLite
(or --database-url). The upload is MedQuAD's documents as JSONL, split into --files files (one
job each, so that several workers share it); each run writes into a fresh collection.
Latency: a one-file upload, timed until a search finds its document.

Usage: python bench/bench_jobs.py [--docs 300] [--files 8] [--latency-runs 5]
Smoke: python bench/bench_jobs.py --docs 4 --files 2 --latency-runs 1 --out /tmp/jobs-smoke
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def medquad_jsonl(sources: Path, docs: int, files: int, out: Path) -> list[Path]:
    """``docs`` MedQuAD documents as JSONL, split into ``files`` files."""
    from lumen.ingest.loaders import get_loader

    loader = get_loader("medquad")
    documents = []
    for doc in loader.load(sources / "medquad", collection="x", report=lambda f, m: None):
        documents.append({"id": doc.id, "title": doc.title, "url": doc.url, "text": doc.text})
        if len(documents) >= docs:
            break
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(files):
        path = out / f"part-{n}.jsonl"
        path.write_text("".join(json.dumps(d) + "\n" for d in documents[n::files]))
        paths.append(path)
    return paths


class Bench:
    """The processes and the services the benchmark drives."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "lumen.cli.main", *args],
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()

    def ready(self, name: str) -> bool:
        if self.processes[name].poll() is not None:
            raise SystemExit((self.root / f"{name}.log").read_text()[-3000:])
        return "ready." in (self.root / f"{name}.log").read_text(errors="replace")


def run_upload(services: Any, admin: Any, collection: str, files: list[Path]) -> dict[str, Any]:
    """Upload ``files`` into ``collection``; seconds until every job ended, chunks written."""
    from lumen.services.audit import Actor
    from lumen.services.jobs import get_job
    from lumen.services.uploads import IncomingFile, create_uploads

    incoming = [IncomingFile(p.name, p.read_bytes()) for p in files]
    started = time.perf_counter()
    with services.database.session() as db:
        uploads = create_uploads(
            services,
            db,
            user=admin,
            collection=collection,
            files=incoming,
            actor=Actor(admin.id, "admin", None),
        )
    job_ids = [u.job_id for u in uploads]
    wait(
        lambda: all(
            get_job(services.database, j).state in ("succeeded", "failed") for j in job_ids
        ),
        3600,
        "the upload's jobs",
    )
    seconds = time.perf_counter() - started
    jobs = [get_job(services.database, j) for j in job_ids]
    failed = [j.error for j in jobs if j.state != "succeeded"]
    if failed:
        raise SystemExit(f"jobs failed: {failed}")
    chunks = sum(int(j.counts.get("chunks_written", 0)) for j in jobs)
    return {
        "files": len(files),
        "chunks": chunks,
        "seconds": round(seconds, 2),
        "chunks_per_s": round(chunks / seconds, 1),
    }


def run_latency(services: Any, admin: Any, runs: int) -> list[float]:
    """Seconds from a one-file upload to a search that finds its document."""
    from lumen.services.audit import Actor
    from lumen.services.uploads import IncomingFile, create_uploads

    latencies = []
    for n in range(runs):
        word = f"quorvex{n}{uuid.uuid4().hex[:6]}"
        text = f"# {word} syndrome\n\n{word} syndrome is treated with rest and fluids.\n"
        started = time.perf_counter()
        with services.database.session() as db:
            (upload,) = create_uploads(
                services,
                db,
                user=admin,
                collection="latency",
                files=[IncomingFile(f"{word}.md", text.encode())],
                actor=Actor(admin.id, "admin", None),
            )
        source = f"upload:{upload.id}"

        def found(word: str = word, source: str = source) -> bool:
            try:
                hits = services.lumen.retriever.retrieve(
                    f"How is {word} syndrome treated?", collections=["latency"], k=1
                )
            except Exception:
                return False
            return bool(hits.chunks) and hits.chunks[0].chunk.source == source

        wait(found, 600, "the uploaded document to be answerable")
        latencies.append(round(time.perf_counter() - started, 2))
    return latencies


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["throughput"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.bar([f"{r['workers']} worker(s)" for r in runs], [r["chunks_per_s"] for r in runs])
    left.set_ylabel("chunks/s")
    left.set_title(f"Indexing one upload ({runs[0]['chunks']} chunks)")
    latency = results["latency_s"]
    right.plot(range(1, len(latency) + 1), latency, marker="o")
    right.set_xlabel("upload")
    right.set_ylabel("seconds")
    right.set_title("Upload to answerable")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--latency-runs", type=int, default=5)
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--embedding-threads", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from lumen.settings import load_settings

    sources = load_settings().paths.sources_dir.resolve()
    root = Path(tempfile.mkdtemp(prefix="lumen-bench-jobs-"))
    data = root / "data"
    data.mkdir()
    cache = Path(os.environ.get("LUMEN_TEST_MODEL_CACHE", Path.home() / ".cache" / "lumen-test"))
    if cache.is_dir():
        (data / "models").symlink_to(cache, target_is_directory=True)
    index_port = free_port()
    queue = f"lumenbench-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "LUMEN_PATHS__DATA_DIR": str(data),
        "LUMEN_PATHS__SOURCES_DIR": str(sources),
        "LUMEN_SECURITY__ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
        "LUMEN_JOBS__BACKEND": "celery",
        "LUMEN_JOBS__BROKER_URL": args.broker_url,
        "LUMEN_JOBS__QUEUE": queue,
        "LUMEN_VECTOR_STORE__BACKEND": "remote",
        "LUMEN_VECTOR_STORE__REMOTE_URL": f"http://127.0.0.1:{index_port}",
        "LUMEN_VECTOR_STORE__REMOTE_TOKEN": base64.urlsafe_b64encode(os.urandom(24)).decode(),
        "LUMEN_EMBEDDING__THREADS": str(args.embedding_threads),
    }
    if args.database_url:
        env["LUMEN_DATABASE__URL"] = args.database_url
    bench = Bench(root, env)
    files = medquad_jsonl(sources, args.docs, args.files, root / "upload")
    os.environ.update({k: v for k, v in env.items() if k.startswith(("LUMEN_", "HF_"))})
    from lumen.factory import build_services
    from lumen.services import accounts

    services = build_services(load_settings())
    try:
        import httpx

        bench.start(
            "index",
            "index",
            "serve",
            "--port",
            str(index_port),
            env={"LUMEN_VECTOR_STORE__BACKEND": "edge"},
        )

        def index_up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{index_port}/healthz", timeout=1).is_success
            except httpx.HTTPError:
                return False

        wait(index_up, 120, "the index process")
        with services.database.session() as db:
            admin = accounts.create_user(
                services, db, email="bench@example.org", password=PASSWORD, role="admin"
            )
        throughput = []
        for workers in (1, 2):
            names = [f"worker{workers}-{n}" for n in range(workers)]
            for name in names:
                bench.start(name, "worker", "--hostname", f"{name}-{queue}@%h")
            wait(lambda names=names: all(bench.ready(n) for n in names), 300, "the workers")
            result = run_upload(services, admin, f"bulk-{workers}", files)
            throughput.append({"workers": workers, **result})
            print(json.dumps(throughput[-1]), flush=True)
            if workers == 2:
                latency = run_latency(services, admin, args.latency_runs)
            for name in names:
                bench.stop(name)
        results = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "settings": {
                "docs": args.docs,
                "files": args.files,
                "broker": args.broker_url.split("://", 1)[0],
                "database": services.database.dialect,
                "vector_store": "remote -> lumen index serve (qdrant-edge)",
                "embedding_threads": args.embedding_threads,
                "worker_pool": "threads, concurrency 1",
            },
            "throughput": throughput,
            "latency_s": latency,
            "latency_p50_s": sorted(latency)[len(latency) // 2],
        }
    finally:
        services.close()
        for name in list(bench.processes):
            bench.stop(name)
        shutil.rmtree(root, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "jobs.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(results, args.out / "jobs.png")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
