"""Per-key request limits (the `limits` library's moving window, in memory: each worker counts its own)."""

from __future__ import annotations

import math
import time

from limits import parse, storage, strategies


class RateLimiter:
    def __init__(self, limit: str):
        self.limit = limit.strip()
        self._item = parse(self.limit) if self.limit else None
        self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    def hit(self, key: str) -> int | None:
        """Count one request for `key`: None if allowed, else the seconds to wait before retrying."""
        if self._item is None or self._limiter.hit(self._item, key):
            return None
        reset = self._limiter.get_window_stats(self._item, key).reset_time
        return max(1, math.ceil(reset - time.time()))
