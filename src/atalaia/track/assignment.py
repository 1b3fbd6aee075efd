"""Optimal one-to-one matching of tracks to detections under a cost limit.

Jonker-Volgenant (the `lap` package, a small C extension) finds the assignment with the least
total cost; pairs costing more than the limit are never matched, so an object does not steal a
far-away track just because the totals come out lower. A greedy matcher (best pair first) is
what `bench/tracker.py` compares against: cheaper, but it can pair the wrong objects when two
cross.
"""

from __future__ import annotations

from dataclasses import dataclass

import lap
import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Matching:
    """`pairs` is (K, 2) of (row, column); the unmatched rows and columns, in order."""

    pairs: IntArray
    unmatched_rows: IntArray
    unmatched_cols: IntArray


def linear_assignment(cost: NDArray[np.floating], max_cost: float) -> Matching:
    """The least-cost matching of rows to columns using only pairs with cost <= `max_cost`."""
    cost = np.asarray(cost, dtype=np.float64)
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return Matching(np.empty((0, 2), np.intp), np.arange(rows), np.arange(cols))
    allowed = cost <= max_cost
    if allowed.sum(axis=0).max() <= 1 and allowed.sum(axis=1).max() <= 1:
        # No two allowed pairs share a row or a column (people apart from each other, the
        # usual case): the allowed pairs are the only matching there is, no solver needed.
        return _matching(np.argwhere(allowed), rows, cols)
    _, row_to_col, _ = lap.lapjv(cost, extend_cost=True, cost_limit=max_cost)
    row_to_col = np.asarray(row_to_col, dtype=np.intp)
    matched_rows = np.flatnonzero(row_to_col >= 0)
    matched_cols = row_to_col[matched_rows]
    # lap may pair at exactly the limit's dummy cost; keep the contract "cost <= max_cost".
    ok = cost[matched_rows, matched_cols] <= max_cost
    pairs = np.empty((int(ok.sum()), 2), np.intp)
    pairs[:, 0] = matched_rows[ok]
    pairs[:, 1] = matched_cols[ok]
    return _matching(pairs, rows, cols)


def _matching(pairs: IntArray, rows: int, cols: int) -> Matching:
    """The matching with its unmatched rows and columns (boolean masks: cheaper than set ops)."""
    row_used = np.zeros(rows, bool)
    col_used = np.zeros(cols, bool)
    row_used[pairs[:, 0]] = True
    col_used[pairs[:, 1]] = True
    return Matching(pairs, np.flatnonzero(~row_used), np.flatnonzero(~col_used))


def greedy_assignment(cost: NDArray[np.floating], max_cost: float) -> Matching:
    """Best pair first, then the best pair left, and so on (the benchmark's baseline)."""
    cost = np.asarray(cost, dtype=np.float64)
    rows, cols = cost.shape
    pairs: list[tuple[int, int]] = []
    if rows and cols:
        order = np.argsort(cost, axis=None)
        used_r = np.zeros(rows, bool)
        used_c = np.zeros(cols, bool)
        for flat in order.tolist():
            r, c = divmod(flat, cols)
            if cost[r, c] > max_cost:
                break
            if used_r[r] or used_c[c]:
                continue
            used_r[r] = used_c[c] = True
            pairs.append((r, c))
    return _matching(np.array(pairs, dtype=np.intp).reshape(-1, 2), rows, cols)
