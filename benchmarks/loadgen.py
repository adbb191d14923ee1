"""An open-loop HTTP load generator (asyncio + aiohttp) shared by the soak test and the serving benchmark.

Requests are *scheduled* at a fixed rate whatever the server does, and latency is measured from the scheduled
time, so a stalled server shows up in the figures instead of silently slowing the generator down. aiohttp rather
than httpx: the generator shares the machine with the server, and httpx's client spent several milliseconds of
CPU per request at 200 requests/s (the generator, not the server, was then the bottleneck).

The generator's own garbage collector is kept from pausing it mid-run: its process holds the benchmark's data
(pandas, the texts), and a full collection walking all of it stalled sending for 70-90 ms about every 30 s at
423 requests/s on a fast host. Latency runs from the scheduled send time, so each stall was counted against the
server; the server's own log showed nothing like it. With the heap frozen the windows' maxima fell to 13-15 ms.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import aiohttp
import numpy as np

Request = tuple[str, str, dict]  # method, path, JSON body


@dataclass
class LoadResult:
    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # seconds, from the scheduled send time
    elapsed: float = 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) * 1000 if self.latencies else float("nan")

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    async def send(self, client: aiohttp.ClientSession, request: Request, since: float) -> None:
        """Send one request and count it: latency from `since`, ok on 200, otherwise the error's kind."""
        method, path, body = request
        try:
            async with client.request(method, path, json=body) as response:
                await response.read()
                error = None if response.status == 200 else f"HTTP {response.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            error = type(exc).__name__
        self.latencies.append(time.perf_counter() - since)
        if error is None:
            self.ok += 1
        else:
            self.errors[error] = self.errors.get(error, 0) + 1

    def summary(self) -> dict[str, float]:
        return {
            "sent": self.sent,
            "ok": self.ok,
            "errors": sum(self.errors.values()),
            "achieved_rps": round(self.rate, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "max_ms": round(self.percentile(100), 2),
        }


async def open_loop(
    base_url: str, make_request: Callable[[int], Request], *, rate: float, seconds: float, headers: dict
) -> LoadResult:
    result = LoadResult()
    with _collector_out_of_the_way():
        async with _session(base_url, headers, 512) as client:
            start = time.perf_counter()
            tasks = []
            for i in range(int(rate * seconds)):
                scheduled = start + i / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(result.send(client, make_request(i), scheduled)))
                result.sent += 1
            await asyncio.gather(*tasks)
            result.elapsed = time.perf_counter() - start
    return result


async def closed_loop(
    base_url: str, make_request: Callable[[int], Request], *, connections: int, seconds: float, headers: dict
) -> LoadResult:
    """`connections` clients each sending their next request as soon as the previous one is answered."""
    result = LoadResult()
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker(client: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            result.sent += 1
            await result.send(client, make_request(next(counter)), time.perf_counter())

    with _collector_out_of_the_way():
        async with _session(base_url, headers, connections) as client:
            start = time.perf_counter()
            await asyncio.gather(*(worker(client) for _ in range(connections)))
            result.elapsed = time.perf_counter() - start
    return result


@contextmanager
def _collector_out_of_the_way() -> Iterator[None]:
    """Everything alive now out of the collector's view for the run (see the module's docstring)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _session(base_url: str, headers: dict, connections: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=base_url,
        headers=headers,
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=30),
    )
