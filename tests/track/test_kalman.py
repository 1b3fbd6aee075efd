"""The block filter in `track.kalman` against the textbook 8x8 Kalman filter it stands for."""

from __future__ import annotations

import numpy as np

from atalaia.track import kalman

NOISE = kalman.KalmanNoise()


def _scale(mean: np.ndarray) -> np.ndarray:
    w, h = np.maximum(mean[2], 1.0), np.maximum(mean[3], 1.0)
    return np.array([w, h, w, h])


def _textbook_predict(mean: np.ndarray, cov: np.ndarray, dt: float) -> tuple:
    f = np.eye(8)
    f[:4, 4:] = dt * np.eye(4)
    scale = _scale(mean)
    q = np.diag(np.hstack([NOISE.position_per_s * scale, NOISE.velocity_per_s * scale]) ** 2 * dt)
    return f @ mean, f @ cov @ f.T + q


def _textbook_update(mean: np.ndarray, cov: np.ndarray, z: np.ndarray) -> tuple:
    h = np.hstack([np.eye(4), np.zeros((4, 4))])
    r = np.diag((NOISE.measurement * _scale(mean)) ** 2)
    s = h @ cov @ h.T + r
    gain = cov @ h.T @ np.linalg.inv(s)
    return mean + gain @ (z - h @ mean), (np.eye(8) - gain @ h) @ cov


def test_the_block_filter_gives_the_full_filters_means_and_covariances() -> None:
    rng = np.random.default_rng(3)
    boxes = rng.uniform(5, 400, (9, 4))
    means, blocks = kalman.initiate(boxes, NOISE)
    reference = [(m.copy(), c) for m, c in zip(means, kalman.full_covariance(blocks), strict=True)]
    for _ in range(40):
        dt = rng.uniform(0.0, 0.6, len(boxes))
        means, blocks = kalman.predict(means, blocks, dt, NOISE)
        reference = [_textbook_predict(m, c, t) for (m, c), t in zip(reference, dt, strict=True)]
        seen = rng.random(len(boxes)) < 0.7  # some tracks go unmatched for a while
        z = means[:, :4] + rng.normal(0.0, 4.0, (len(boxes), 4))
        means[seen], blocks[seen] = kalman.update(means[seen], blocks[seen], z[seen], NOISE)
        reference = [
            _textbook_update(m, c, z[i]) if seen[i] else (m, c)
            for i, (m, c) in enumerate(reference)
        ]
    assert np.allclose(means, np.stack([m for m, _ in reference]), rtol=1e-9, atol=1e-7)
    full = kalman.full_covariance(blocks)
    assert np.allclose(full, np.stack([c for _, c in reference]), rtol=1e-9, atol=1e-7)


def test_a_prediction_of_zero_seconds_changes_nothing() -> None:
    means, blocks = kalman.initiate(np.array([[50.0, 60.0, 20.0, 40.0]]), NOISE)
    moved, grown = kalman.predict(means, blocks, np.zeros(1), NOISE)
    assert np.array_equal(moved, means) and np.array_equal(grown, blocks)
