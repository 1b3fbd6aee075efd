"""Small statistics helpers shared by the camera and detector processes."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def percentiles(
    samples: Iterable[float], points: tuple[int, ...] = (50, 95, 99)
) -> dict[str, float]:
    """`{"p50": .., "p95": .., "p99": ..}` of recent samples (empty dict when there are none)."""
    values = np.fromiter(samples, dtype=np.float64)
    if values.size == 0:
        return {}
    return {
        f"p{p}": round(float(v), 3)
        for p, v in zip(points, np.percentile(values, points), strict=True)
    }


class LatencyHistogram:
    """Counts of latencies in 1 ms buckets since start.

    Percentiles of several cameras cannot be averaged; their histograms can be added, so
    each camera reports this and a reader (benchmark, metrics) merges them exactly.
    """

    def __init__(self, max_ms: int = 60_000) -> None:
        self.max_ms = max_ms
        self.counts: dict[int, int] = {}

    def add(self, ms: float) -> None:
        bucket = min(self.max_ms, max(0, int(ms)))
        self.counts[bucket] = self.counts.get(bucket, 0) + 1

    def snapshot(self) -> dict[int, int]:
        return dict(self.counts)


def merge_histograms(histograms: Iterable[dict[int, int]]) -> dict[int, int]:
    total: dict[int, int] = {}
    for hist in histograms:
        for bucket, count in hist.items():
            total[int(bucket)] = total.get(int(bucket), 0) + count
    return total


def histogram_percentiles(
    hist: dict[int, int], points: tuple[int, ...] = (50, 95, 99)
) -> dict[str, float]:
    """Percentiles of a 1 ms histogram, to the bucket's upper edge (a conservative figure)."""
    n = sum(hist.values())
    if n == 0:
        return {}
    out: dict[str, float] = {}
    ordered = sorted(hist.items())
    for p in points:
        rank, seen = p / 100 * n, 0
        for bucket, count in ordered:
            seen += count
            if seen >= rank:
                out[f"p{p}"] = float(bucket + 1)
                break
    return out
