"""The bounded inference pool: calls run in worker threads, and one more than workers + queue is
refused at once (PoolFull, HTTP 503) instead of waiting behind the others."""

import asyncio
import threading

import pytest

from ganforge.serve.pool import InferencePool, PoolFull


def test_a_full_pool_refuses_at_once_and_takes_calls_again_when_free():
    pool = InferencePool("test", workers=1, queue=1)
    gate = threading.Event()
    threads = []

    def blocked(x: int) -> int:
        threads.append(threading.current_thread().name)
        gate.wait(10)
        return x * 2

    async def scenario():
        first = asyncio.ensure_future(pool.run(blocked, 1))
        second = asyncio.ensure_future(pool.run(blocked, 2))  # waits in the queue
        await asyncio.sleep(0.05)
        assert pool.pending == 2
        with pytest.raises(PoolFull, match="busy .2 test requests pending, at most 2"):
            await pool.run(blocked, 3)
        gate.set()
        assert await asyncio.gather(first, second) == [2, 4]
        assert pool.pending == 0
        assert await pool.run(blocked, 5) == 10  # free again

    asyncio.run(scenario())
    pool.shutdown()
    assert threads and all(name.startswith("ganforge-test") for name in threads)  # never the event loop's thread
