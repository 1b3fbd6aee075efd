"""How many cameras each live node should hold: proportional to capacity, pins respected.

Every node computes the same answer from the same inputs (sorted node ids break ties), so
nodes agree on the balance without talking to each other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


def fair_shares(
    total: int, capacities: Mapping[str, float], floors: Mapping[str, int] | None = None
) -> dict[str, int]:
    """Split `total` cameras over the nodes in proportion to their capacity.

    `floors` are cameras pinned to a node: a node gets at least its pinned count, and the
    rest is shared among the others in proportion again (water-filling). Fractions go by
    largest remainder, ties to the smaller node id, so the shares always add up to `total`.
    """
    floors = dict(floors or {})
    nodes = sorted(capacities)
    if not nodes:
        return {}
    shares: dict[str, int] = {}
    free = list(nodes)
    left = total
    while True:
        weight = sum(capacities[n] for n in free)
        fixed = [n for n in free if floors.get(n, 0) >= left * capacities[n] / weight]
        if not fixed or len(fixed) == len(free):
            break
        for n in fixed:
            shares[n] = floors.get(n, 0)
            left -= shares[n]
            free.remove(n)
    left = max(left, 0)
    weight = sum(capacities[n] for n in free)
    exact = {n: left * capacities[n] / weight for n in free}
    for n in free:
        shares[n] = math.floor(exact[n])
    spare = left - sum(shares[n] for n in free)
    by_remainder = sorted(free, key=lambda n: (-(exact[n] - math.floor(exact[n])), n))
    for n in by_remainder[:spare]:
        shares[n] += 1
    for n in free:
        shares[n] = max(shares[n], floors.get(n, 0))
    return shares
