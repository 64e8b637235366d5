"""A bounded, first-come-first-served queue in front of the language model (one per process).

A request that finds the queue full is refused at once; one that waits longer than the
queue timeout gives up. Both raise :class:`ModelBusyError` with a ``Retry-After`` estimate
from the recent time each generation held the model. The generation timeout is separate
and starts only once a request holds the model.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from lumen.errors import UnavailableError


class ModelBusyError(UnavailableError):
    """The model's queue is full, or the wait for the model timed out."""

    def __init__(self, message: str, retry_after_s: int, *, reason: str) -> None:
        super().__init__(message, retry_after_s)
        self.reason = reason


class ModelQueue:
    """Lets ``max_parallel`` requests use the model and up to ``max_queue`` wait, in order."""

    def __init__(
        self,
        *,
        max_parallel: int,
        max_queue: int,
        wait_timeout_s: float,
        on_depth: Callable[[int], None] | None = None,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        self._max_parallel = max_parallel
        self._max_queue = max_queue
        self._wait_timeout_s = wait_timeout_s
        self._on_depth = on_depth or (lambda _depth: None)
        self._on_refused = on_refused or (lambda _reason: None)
        self._lock = threading.Lock()
        self._active = 0
        self._waiting: deque[threading.Event] = deque()
        self._hold_s = 5.0  # running mean of the time a request holds the model

    @property
    def depth(self) -> int:
        """Requests waiting for the model now."""
        with self._lock:
            return len(self._waiting)

    def retry_after_s(self) -> int:
        """Seconds after which a refused request may find room: the queue's expected drain."""
        with self._lock:
            return self._retry_after_locked()

    def _retry_after_locked(self) -> int:
        ahead = len(self._waiting) + self._active
        return min(600, max(1, math.ceil(self._hold_s * ahead / self._max_parallel)))

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold the model for the block; raises ModelBusyError when full or after the wait."""
        self._enter()
        started = time.monotonic()
        try:
            yield
        finally:
            self._leave(time.monotonic() - started)

    def _enter(self) -> None:
        with self._lock:
            if self._active < self._max_parallel and not self._waiting:
                self._active += 1
                return
            if len(self._waiting) >= self._max_queue:
                retry = self._retry_after_locked()
                self._on_refused("full")
                raise ModelBusyError(
                    "Lumen is answering too many questions; try again shortly",
                    retry,
                    reason="full",
                )
            turn = threading.Event()
            self._waiting.append(turn)
            self._on_depth(len(self._waiting))
        if turn.wait(self._wait_timeout_s):
            return  # _leave handed its slot over (``_active`` unchanged)
        with self._lock:
            if turn.is_set():  # handed over just as the wait ended
                return
            self._waiting.remove(turn)
            self._on_depth(len(self._waiting))
            retry = self._retry_after_locked()
        self._on_refused("wait_timeout")
        raise ModelBusyError(
            "Lumen is answering too many questions; try again shortly",
            retry,
            reason="wait_timeout",
        )

    def _leave(self, held_s: float) -> None:
        with self._lock:
            self._hold_s = 0.8 * self._hold_s + 0.2 * held_s
            if self._waiting:
                self._waiting.popleft().set()  # the slot passes to the next in line
                self._on_depth(len(self._waiting))
            else:
                self._active -= 1
