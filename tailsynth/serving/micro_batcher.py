"""Merge concurrent single requests into batches for one model call.

DSPy calls an LM once per example; ``Predict.batch`` / ``dspy.Parallel`` run those calls on
threads. A local model is only fast when it sees a batch, so the backend queues each call here
and a single worker thread runs up to ``max_batch`` of them together.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any


class MicroBatcher:
    """Collects items for ``wait_s`` (or until ``max_batch``) and calls ``fn(items) -> results``.

    Items are grouped by ``key(item)`` so one call never mixes incompatible requests
    (e.g. different sampling settings).
    """

    def __init__(
        self,
        fn: Callable[[list[Any]], list[Any]],
        max_batch: int = 16,
        wait_s: float = 0.02,
        key: Callable[[Any], Hashable] = lambda item: None,
    ):
        self.fn, self.max_batch, self.wait_s, self.key = fn, max_batch, wait_s, key
        self._queue: queue.Queue[tuple[Any, Future]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, item: Any) -> Future:
        future: Future = Future()
        self._ensure_worker()
        self._queue.put((item, future))
        return future

    def __call__(self, item: Any) -> Any:
        return self.submit(item).result()

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="tailsynth-batcher", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + self.wait_s
            while len(batch) < self.max_batch:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    batch.append(self._queue.get(timeout=timeout))
                except queue.Empty:
                    break
            groups: dict[Hashable, list[tuple[Any, Future]]] = {}
            for entry in batch:
                groups.setdefault(self.key(entry[0]), []).append(entry)
            for entries in groups.values():
                try:
                    results = self.fn([item for item, _ in entries])
                    for (_, future), result in zip(entries, results, strict=True):
                        future.set_result(result)
                except BaseException as exc:  # noqa: BLE001 - every waiting caller must hear about it
                    for _, future in entries:
                        future.set_exception(exc)
