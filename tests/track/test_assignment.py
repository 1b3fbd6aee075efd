"""The optimal matching: the solver's answer, and the shortcut taken when no pairs conflict."""

from __future__ import annotations

import lap
import numpy as np

from atalaia.track.assignment import linear_assignment


def _solver_pairs(cost: np.ndarray, max_cost: float) -> set[tuple[int, int]]:
    _, row_to_col, _ = lap.lapjv(cost, extend_cost=True, cost_limit=max_cost)
    return {(r, int(c)) for r, c in enumerate(row_to_col) if c >= 0 and cost[r, c] <= max_cost}


def test_the_matching_is_the_solvers_with_or_without_conflicting_pairs() -> None:
    rng = np.random.default_rng(5)
    conflict_free = 0
    for _ in range(300):
        rows, cols = rng.integers(1, 9, size=2)
        cost = rng.uniform(0.0, 1.0, (rows, cols))
        cost[rng.random((rows, cols)) < 0.7] = 1.0  # mostly far apart, as people are
        allowed = cost <= 0.7
        conflict_free += bool(allowed.sum(0).max() <= 1 and allowed.sum(1).max() <= 1)
        m = linear_assignment(cost, 0.7)
        assert {(int(r), int(c)) for r, c in m.pairs} == _solver_pairs(cost, 0.7)
        assert sorted([*m.unmatched_rows, *m.pairs[:, 0]]) == list(range(rows))
        assert sorted([*m.unmatched_cols, *m.pairs[:, 1]]) == list(range(cols))
    assert 50 < conflict_free < 250  # both paths were taken
