"""Overlap I/O with compute: run an iterator, or a consumer, in a background thread.

Decoding and face tracking (PyAV and mediapipe release the GIL) run ahead of the networks, and
encoding runs behind them, each through a small bounded queue, so memory stays at a few batches.
Exceptions in the thread are re-raised in the caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["BackgroundConsumer", "prefetch"]

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` produced by a background thread, at most ``depth`` ahead."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("done", None))
        except BaseException as exc:  # re-raised in the consumer
            q.put(("error", exc))

    thread = threading.Thread(target=produce, name="emoportraits-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join(timeout=5)


class BackgroundConsumer:
    """Call ``fn(item)`` for each :meth:`put` item in a background thread, in order.

    :meth:`close` waits for the queue to drain and re-raises the first error of ``fn``.
    """

    def __init__(self, fn: Callable[[Any], None], depth: int = 2) -> None:
        self._fn = fn
        self._q: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="emoportraits-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is _DONE:
                return
            if self._error is None:
                try:
                    self._fn(item)
                except BaseException as exc:
                    self._error = exc

    def put(self, item: Any) -> None:
        if self._error is not None:
            raise self._error
        self._q.put(item)

    def close(self) -> None:
        self._q.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error
