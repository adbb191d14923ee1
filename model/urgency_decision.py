"""How the urgency head's probabilities become one level.

`most_probable` is the plain argmax. `least_squared_error` keeps `darurat` wherever it is the most probable
level — the emergency flag is decided by the head and the safety rules alone, never traded for an average —
and otherwise picks, among the other levels, the one with the least expected squared distance from the true
level. Urgency levels are ordered: a `tinggi` complaint called `rendah` waits far longer in the queue than one
called `sedang`, and quadratic-weighted kappa, the measure of issue 3, counts mistakes the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from model.taxonomy import URGENCY_LEVELS

DECISIONS = ("most_probable", "least_squared_error")


def check_decision(decision: str) -> str:
    if decision not in DECISIONS:
        raise ValueError(f"urgency_decision must be one of {list(DECISIONS)}, got {decision!r}")
    return decision


def decide_levels(proba: np.ndarray, classes: Sequence[str], decision: str) -> np.ndarray:
    """Column index into `classes` of each row's level."""
    most = proba.argmax(axis=1)
    if check_decision(decision) == "most_probable":
        return most
    cost, emergency = _costs(tuple(classes))
    expected = proba @ cost
    expected[:, emergency] = np.inf
    return np.where(emergency[most], most, expected.argmin(axis=1))


@lru_cache(maxsize=4)
def _costs(classes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The squared-distance cost matrix of a head's classes and which of them is `darurat`: the same for every
    request, so built once (it was most of the decision's time per prediction)."""
    rank = np.array([URGENCY_LEVELS.index(c) for c in classes])  # 0 = darurat … 3 = rendah
    cost = (rank[:, None] - rank[None, :]) ** 2.0  # cost[i, j]: answering classes[j] when the truth is classes[i]
    emergency = rank == 0
    for shared in (cost, emergency):  # the same arrays go to every caller
        shared.setflags(write=False)
    return cost, emergency
