"""The bounded inference pool. Model calls run in worker threads, never on the event loop, so the
server answers (lists, run polls, refusals) while a model works; at most `workers + queue` calls
wait or run at once, and the next is refused at once with 503 instead of queueing without end.
Two pools keep a slow kind of request (projection: seconds to minutes) from taking every worker
from the fast ones (a grid: milliseconds).

PyTorch's intra-op threads are per process: the server sets them to one (`server.serve`), so
`workers` threads use about `workers` cores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class PoolFull(Exception):
    """Every worker is busy and the queue is full: the client should retry later (HTTP 503)."""


class InferencePool:
    def __init__(self, name: str, workers: int, queue: int):
        if workers < 1 or queue < 0:
            raise ValueError(f"pool {name}: workers >= 1 and queue >= 0, got {workers}, {queue}")
        self.name, self.workers, self.limit = name, workers, workers + queue
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix=f"ganforge-{name}")
        self.pending = 0  # touched on the event loop only: no lock needed

    async def run(self, fn: Callable[..., T], *args) -> T:
        """fn(*args) in a worker thread; PoolFull when `limit` calls are already pending."""
        if self.pending >= self.limit:
            raise PoolFull(
                f"the server is busy ({self.pending} {self.name} requests pending, at most {self.limit}); retry shortly"
            )
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        finally:
            self.pending -= 1

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


__all__ = ["InferencePool", "PoolFull"]
