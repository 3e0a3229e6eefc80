"""Micro-batching: texts of requests that arrive together go through the model in one call.

One asyncio queue and one batching task. The task waits for a first request, then keeps taking
requests until the batch holds ``max_batch`` texts or ``max_wait_ms`` has passed since the first
arrived, runs the model once in a worker thread (the event loop keeps accepting requests
meanwhile) and hands each request its rows. A request is never split; one larger than
``max_batch`` runs alone. A model error fails the requests of that batch only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["MicroBatcher"]


class MicroBatcher:
    """Collect ``(texts, future)`` pairs and answer them with one ``predict_proba`` per batch."""

    def __init__(self, predict: Callable, max_batch: int = 32, max_wait_ms: float = 5.0):
        if max_batch < 1 or max_wait_ms < 0:
            raise ValueError("max_batch must be >= 1 and max_wait_ms >= 0")
        self.predict = predict
        self.max_batch = int(max_batch)
        self.max_wait = float(max_wait_ms) / 1000.0
        self.queue: asyncio.Queue = asyncio.Queue()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tailtune-model")
        self.task: asyncio.Task | None = None
        self.batches = 0
        self.texts = 0

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def submit(self, texts: list[str]) -> np.ndarray:
        """Probabilities (len(texts), K) for one request's texts."""
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((texts, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            size = len(batch[0][0])
            deadline = time.monotonic() + self.max_wait
            while size < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self.queue.get(), left)
                except TimeoutError:
                    break
                if size + len(item[0]) > self.max_batch:
                    await self._answer(loop, batch)  # full: this one starts the next batch
                    batch, size = [item], len(item[0])
                    deadline = time.monotonic() + self.max_wait
                    continue
                batch.append(item)
                size += len(item[0])
            await self._answer(loop, batch)

    async def _answer(self, loop, batch) -> None:
        texts = [t for item_texts, _ in batch for t in item_texts]
        live = [(len(t), f) for t, f in batch]
        try:
            proba = await loop.run_in_executor(self.pool, self.predict, texts)
        except Exception as exc:  # the server answers 500 for these requests and lives on
            for _, future in live:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        self.texts += len(texts)
        start = 0
        for n, future in live:
            if not future.done():  # a client that went away cancelled its future
                future.set_result(proba[start : start + n])
            start += n
