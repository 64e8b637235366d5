"""Prometheus metrics: request and answer latency, tokens/s, cache, rate limits, safety events.

Each app gets its own registry, so several apps (tests) never clash; ``GET /metrics`` serves it.
Usage (active users, questions by role) and the audit chain's state are computed from the
database when Prometheus scrapes (:mod:`lumen.observability.collectors`); labels never carry ids.
"""

from __future__ import annotations

from typing import Any

from lumen.errors import MissingExtraError
from lumen.rag.answer import Answer

ANSWER_STAGES = ("triage", "retrieve", "generate", "verify")
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 30.0)


class Metrics:
    """The service's counters and histograms in one registry."""

    def __init__(self) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise MissingExtraError("prometheus-client", "service") from exc
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "lumen_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.request_seconds = Histogram(
            "lumen_http_request_seconds",
            "HTTP request latency (streams: until the response starts)",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.answer_seconds = Histogram(
            "lumen_answer_seconds",
            "Time to a verified answer",
            ["mode"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.first_token_seconds = Histogram(
            "lumen_first_token_seconds",
            "Time to the model's first token",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens_per_second = Histogram(
            "lumen_generation_tokens_per_second",
            "Generation speed",
            buckets=(1, 5, 10, 20, 40, 60, 80, 100, 150, 200, 400),
            registry=r,
        )
        self.budget_cuts = Counter(
            "lumen_answer_budget_cuts",
            "Generations stopped by the answer budget (llm.answer_budget_s)",
            registry=r,
        )
        self.cache = Counter("lumen_answer_cache", "Answer cache lookups", ["result"], registry=r)
        self.rate_limit_hits = Counter(
            "lumen_rate_limit_hits", "Requests refused by a rate limit", ["scope"], registry=r
        )
        self.safety_events = Counter(
            "lumen_safety_events",
            "Crisis, emergency, refusal and policy events",
            ["kind"],
            registry=r,
        )
        self.stage_seconds = Histogram(
            "lumen_answer_stage_seconds",
            "Time spent in one stage of an answer (triage, retrieve, generate, verify)",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.answers = Counter(
            "lumen_answers", "Answers produced, by mode (abstained included)", ["mode"], registry=r
        )
        self.dropped_sentences = Counter(
            "lumen_verifier_dropped_sentences",
            "Generated sentences the verifier dropped as unsupported",
            registry=r,
        )
        self.generated_sentences = Counter(
            "lumen_verifier_kept_sentences",
            "Answer sentences the verifier kept (each supported by a source)",
            registry=r,
        )
        self.feedback = Counter(
            "lumen_feedback", "Thumbs up or down on answers", ["rating"], registry=r
        )
        self.in_flight = Gauge(
            "lumen_http_requests_in_flight", "HTTP requests being served now", registry=r
        )
        self.db_query_seconds = Histogram(
            "lumen_db_query_seconds",
            "Time of one SQL statement",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
            registry=r,
        )
        self.queue_depth = Gauge(
            "lumen_job_queue_depth", "Jobs waiting in a queue", ["queue"], registry=r
        )
        self.cert_expiry = Gauge(
            "lumen_tls_certificate_expiry_timestamp_seconds",
            "When the certificate `lumen serve` presents expires (Unix time)",
            registry=r,
        )

        self.llm_queue_depth = Gauge(
            "lumen_llm_queue_depth", "Questions waiting for the language model", registry=r
        )
        self.llm_refused = Counter(
            "lumen_llm_refused",
            "Questions refused because the model's queue was full or the wait timed out",
            ["reason"],
            registry=r,
        )

    def llm_queue(self, depth: int) -> None:
        """Set the number of questions waiting for the model."""
        self.llm_queue_depth.set(depth)

    def llm_refusal(self, reason: str) -> None:
        """Count a question refused by the model's queue."""
        self.llm_refused.labels(reason).inc()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one HTTP request."""
        self.requests.labels(method, route, str(status)).inc()
        self.request_seconds.labels(method, route).observe(seconds)

    def cache_event(self, *, hit: bool) -> None:
        """Count a cache hit or miss."""
        self.cache.labels("hit" if hit else "miss").inc()

    def rate_limited(self, scope: str) -> None:
        """Count a request refused by a rate limit."""
        self.rate_limit_hits.labels(scope).inc()

    def answer(self, answer: Answer) -> None:
        """Record an answer's latency, generation speed and safety events."""
        timings = answer.timings_ms
        self.answer_seconds.labels(answer.mode).observe(timings.get("total", 0.0) / 1000)
        if timings.get("generate"):
            self.first_token_seconds.observe(timings.get("first_token", 0.0) / 1000)
            tokens = timings.get("completion_tokens")
            if tokens:
                self.tokens_per_second.observe(tokens / (timings["generate"] / 1000))
        if timings.get("budget_cut"):
            self.budget_cuts.inc()
        if answer.mode in ("crisis", "emergency", "refused"):
            self.safety_events.labels(answer.mode).inc()
        for action in answer.safety.get("policy_actions", []) or []:
            self.safety_events.labels(f"policy:{action}").inc()
        if answer.safety.get("injection_flagged"):
            self.safety_events.labels("injection").inc()
        self.answers.labels(answer.mode).inc()
        for stage in ANSWER_STAGES:
            if stage in timings and (stage == "triage" or timings[stage] > 0):
                self.stage_seconds.labels(stage).observe(timings[stage] / 1000)
        if answer.dropped_sentences:
            self.dropped_sentences.inc(answer.dropped_sentences)
        if answer.sentences:
            self.generated_sentences.inc(len(answer.sentences))

    def feedback_given(self, *, rating: int) -> None:
        """Count a thumbs up (rating > 0) or down."""
        self.feedback.labels("up" if rating > 0 else "down").inc()

    def set_queue_depth(self, queue: str, depth: int) -> None:
        """The number of jobs waiting in ``queue`` (set by the jobs code)."""
        self.queue_depth.labels(queue).set(depth)

    def set_certificate_expiry(self, timestamp: float) -> None:
        """When the served TLS certificate expires (Unix time)."""
        self.cert_expiry.set(timestamp)

    def register(self, collector: Any) -> None:
        """Add a collector evaluated at scrape time (usage, audit chain)."""
        self.registry.register(collector)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def value(self, name: str, **labels: Any) -> float:
        """A sample's current value (tests, benchmarks); 0 when absent."""
        found = self.registry.get_sample_value(name, labels or None)
        return float(found) if found is not None else 0.0
