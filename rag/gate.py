"""The generation queue: at most `slots` generations run at once, at most `max_waiting` wait.

Reserving a place up front lets an HTTP endpoint answer 503 (with an estimated `Retry-After`)
before it starts a stream. A reserved place is given back exactly once, whether its request
ran, was cancelled while it waited, or never started.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from statistics import median


class BusyError(RuntimeError):
    """Too many generations already waiting: the caller should retry after `retry_after` s."""

    def __init__(self, message: str, retry_after: int, running: int, waiting: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.running = running
        self.waiting = waiting


class CancelledError(RuntimeError):
    """The request was cancelled (its client went away) before its turn came."""


class Ticket:
    """A reserved place in the queue. `enter` waits for a free slot; `release` gives it back."""

    def __init__(self, gate: GenerationGate) -> None:
        self._gate = gate
        self.state = "waiting"  # -> running -> done, or waiting -> done
        self._started = 0.0

    def enter(self, cancel: threading.Event | None = None) -> Ticket:
        gate = self._gate
        with gate._cond:
            while True:
                if self.state != "waiting":
                    raise CancelledError("the request was released before its turn")
                if cancel is not None and cancel.is_set():
                    self._release_locked()
                    raise CancelledError("the client went away while waiting")
                if gate.running < gate.slots:
                    break
                gate._cond.wait(timeout=0.2)  # wakes on release, or to look at `cancel`
            gate.waiting -= 1
            gate.running += 1
            self.state = "running"
            self._started = time.monotonic()
            gate._running_since[id(self)] = self._started
        return self

    def __enter__(self) -> Ticket:
        return self.enter()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Give the place back; safe to call more than once, from any thread."""
        with self._gate._cond:
            self._release_locked()

    def abandon(self) -> None:
        """What the HTTP side calls when its response ends: give back a place whose
        generation never started. A running generation gives its own back once its thread
        has stopped (AnswerService.stream), so the count of running generations never drops
        while a model call is still going."""
        with self._gate._cond:
            if self.state != "running":
                self._release_locked()

    def _release_locked(self) -> None:
        gate = self._gate
        if self.state == "waiting":
            gate.waiting -= 1
        elif self.state == "running":
            gate.running -= 1
            gate._running_since.pop(id(self), None)
            gate.durations.append(time.monotonic() - self._started)
        self.state = "done"
        gate._cond.notify_all()


class GenerationGate:
    def __init__(self, max_waiting: int, slots: int = 1, default_duration: float = 8.0) -> None:
        self._cond = threading.Condition()
        self.max_waiting = max_waiting
        self.slots = slots
        self.waiting = 0
        self.running = 0
        self.default_duration = default_duration
        self.durations: deque[float] = deque(maxlen=20)  # recent generations, seconds
        self._running_since: dict[int, float] = {}  # ticket -> when it started
        self._random = random.Random().random

    def reserve(self) -> Ticket:
        with self._cond:
            if self.waiting + self.running >= self.max_waiting + self.slots:
                raise BusyError(
                    "the model is busy with other questions; try again shortly",
                    self._retry_after(),
                    self.running,
                    self.waiting,
                )
            self.waiting += 1
        return Ticket(self)

    def typical_duration(self) -> float:
        return median(self.durations) if self.durations else self.default_duration

    def estimated_wait(self) -> float:
        """Seconds until a request reserved now would start: the queue ahead of it drains."""
        with self._cond:
            return self._drain_time(self.waiting)

    def _drain_time(self, ahead: int) -> float:
        typical = self.typical_duration()
        now = time.monotonic()
        # the running generations are part done; each waiting one takes a typical duration
        remaining = sorted(max(0.0, typical - (now - t)) for t in self._running_since.values())
        remaining += [0.0] * (self.slots - len(remaining))
        return remaining[0] + ahead * typical / self.slots

    def _retry_after(self) -> int:
        """When to come back: no sooner than a place frees (the first running generation
        ends), spread over the time the waiting queue takes to drain, so that the clients
        turned away together do not all return in the same second and are turned away again."""
        first = self._drain_time(0)
        spread = self._drain_time(self.waiting) - first
        return max(1, math.ceil(first + self._random() * spread))

    def snapshot(self) -> dict[str, float | int]:
        with self._cond:
            return {
                "running": self.running,
                "waiting": self.waiting,
                "slots": self.slots,
                "max_waiting": self.max_waiting,
                "typical_seconds": round(self.typical_duration(), 1),
            }
