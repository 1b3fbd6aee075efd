"""A constant-velocity Kalman filter for boxes, batched over all tracks of a camera.

State per track: centre x, centre y, width, height and their velocities, in pixels and pixels
per second. Time is in seconds, not frames, because detection runs at its own (and varying)
rate: a track predicted 0.2 s ahead moves twice as far as one predicted 0.1 s ahead, and a
lost track's prediction grows more uncertain the longer it goes unseen.

Noise scales with the box size (x terms with the width, y terms with the height), as in
ByteTrack and SORT: a 20-pixel error is large for a distant person and small for a near one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

_H = np.hstack([np.eye(4), np.zeros((4, 4))])  # measurement: the box, no velocities


@dataclass(frozen=True, slots=True)
class KalmanNoise:
    """Standard deviations as fractions of the box size (per second for the motion terms)."""

    measurement: float = 0.05
    position_per_s: float = 0.05
    velocity_per_s: float = 0.5
    initial_position: float = 0.1
    initial_velocity: float = 1.0


def xyxy_to_cxcywh(xyxy: NDArray[np.floating]) -> Array:
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    wh = boxes[:, 2:] - boxes[:, :2]
    return np.hstack([boxes[:, :2] + wh / 2, wh])


def cxcywh_to_xyxy(cxcywh: NDArray[np.floating]) -> Array:
    boxes = np.asarray(cxcywh, dtype=np.float64).reshape(-1, 4)
    half = np.maximum(boxes[:, 2:], 0.0) / 2
    return np.hstack([boxes[:, :2] - half, boxes[:, :2] + half])


def _size_scale(mean_or_box: Array) -> Array:
    """(N, 4) scales w, h, w, h for cx, cy, w, h; never below one pixel."""
    w = np.maximum(mean_or_box[:, 2], 1.0)
    h = np.maximum(mean_or_box[:, 3], 1.0)
    return np.stack([w, h, w, h], axis=1)


def initiate(boxes_cxcywh: Array, noise: KalmanNoise) -> tuple[Array, Array]:
    """Means (N, 8) and covariances (N, 8, 8) of new tracks: at the box, velocity unknown."""
    n = len(boxes_cxcywh)
    mean = np.hstack([boxes_cxcywh, np.zeros((n, 4))])
    scale = _size_scale(boxes_cxcywh)
    std = np.hstack([noise.initial_position * scale, noise.initial_velocity * scale])
    cov = np.zeros((n, 8, 8))
    idx = np.arange(8)
    cov[:, idx, idx] = std**2
    return mean, cov


def predict(mean: Array, cov: Array, dt: Array, noise: KalmanNoise) -> tuple[Array, Array]:
    """Each track moved ahead by its own `dt` seconds (N,); dt 0 leaves it as it is."""
    n = len(mean)
    if n == 0:
        return mean.copy(), cov.copy()
    dt = np.maximum(np.asarray(dt, dtype=np.float64).reshape(n), 0.0)
    f = np.tile(np.eye(8), (n, 1, 1))
    f[:, np.arange(4), np.arange(4) + 4] = dt[:, None]
    new_mean = np.einsum("nij,nj->ni", f, mean)
    scale = _size_scale(mean)
    q_std = np.hstack([noise.position_per_s * scale, noise.velocity_per_s * scale])
    q = np.zeros((n, 8, 8))
    idx = np.arange(8)
    q[:, idx, idx] = q_std**2 * dt[:, None]
    new_cov = f @ cov @ np.transpose(f, (0, 2, 1)) + q
    return new_mean, new_cov


def update(
    mean: Array, cov: Array, measured_cxcywh: Array, noise: KalmanNoise
) -> tuple[Array, Array]:
    """Correct (N,) predicted states with one measured box each."""
    if len(mean) == 0:
        return mean.copy(), cov.copy()
    r_std = noise.measurement * _size_scale(mean)
    r = np.zeros((len(mean), 4, 4))
    idx = np.arange(4)
    r[:, idx, idx] = r_std**2
    projected_cov = _H @ cov @ _H.T + r  # (N, 4, 4)
    cross = cov @ _H.T  # (N, 8, 4)
    # gain = cross @ inv(projected_cov), solved instead of inverted.
    gain = np.transpose(np.linalg.solve(projected_cov, np.transpose(cross, (0, 2, 1))), (0, 2, 1))
    innovation = measured_cxcywh - mean[:, :4]
    new_mean = mean + np.einsum("nij,nj->ni", gain, innovation)
    new_cov = cov - gain @ projected_cov @ np.transpose(gain, (0, 2, 1))
    return new_mean, new_cov
