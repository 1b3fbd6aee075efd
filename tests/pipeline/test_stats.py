from atalaia.pipeline.stats import (
    LatencyHistogram,
    histogram_percentiles,
    merge_histograms,
    percentiles,
)


def test_histograms_merge_exactly() -> None:
    a, b = LatencyHistogram(), LatencyHistogram()
    for ms in range(100):
        a.add(ms + 0.5)
    for _ in range(100):
        b.add(1000.2)
    merged = merge_histograms([a.snapshot(), b.snapshot()])
    assert sum(merged.values()) == 200
    p = histogram_percentiles(merged)
    assert p["p50"] == 100.0  # upper edge of the 99 ms bucket
    assert p["p95"] == 1001.0 and p["p99"] == 1001.0


def test_empty_and_clamped() -> None:
    h = LatencyHistogram(max_ms=10)
    assert histogram_percentiles(h.snapshot()) == {}
    h.add(-5)
    h.add(1e9)
    assert h.snapshot() == {0: 1, 10: 1}
    assert percentiles([]) == {}
    assert percentiles([1.0, 2.0, 3.0])["p50"] == 2.0
