"""A constant-velocity Kalman filter for boxes, batched over all tracks of a camera.

State per track: centre x, centre y, width, height and their velocities, in pixels and pixels
per second. Time is in seconds, not frames, because detection runs at its own (and varying)
rate: a track predicted 0.2 s ahead moves twice as far as one predicted 0.1 s ahead, and a
lost track's prediction grows more uncertain the longer it goes unseen.

Noise scales with the box size (x terms with the width, y terms with the height), as in
ByteTrack and SORT: a 20-pixel error is large for a distant person and small for a near one.

The covariance is kept as four 2x2 blocks, not one 8x8 matrix. Each of the four box numbers
moves only with its own velocity, the process and measurement noises are diagonal and a
track starts with a diagonal covariance, so the 8x8 matrix never has a term linking two
different numbers: it is always four independent (value, velocity) blocks. Written that way
the filter is a handful of element-wise operations on (N, 4) arrays, exactly the 8x8 result
without its matrix products and solves (a camera calls it on every detection result, on a
dozen or two tracks, where each numpy call's fixed cost is what counts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
# Covariance blocks, (N, 3, 4): for each of cx, cy, w, h, the value's variance (PP), the
# value-velocity covariance (PV) and the velocity's variance (VV).
PP, PV, VV = 0, 1, 2


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
    return np.concatenate([boxes[:, :2] + wh / 2, wh], axis=1)


def cxcywh_to_xyxy(cxcywh: NDArray[np.floating]) -> Array:
    boxes = np.asarray(cxcywh, dtype=np.float64).reshape(-1, 4)
    half = np.maximum(boxes[:, 2:], 0.0) / 2
    return np.concatenate([boxes[:, :2] - half, boxes[:, :2] + half], axis=1)


def _size_scale(mean_or_box: Array) -> Array:
    """(N, 4) scales w, h, w, h for cx, cy, w, h; never below one pixel."""
    wh = np.maximum(mean_or_box[:, 2:4], 1.0)
    return np.concatenate([wh, wh], axis=1)


def full_covariance(blocks: Array) -> Array:
    """The (N, 8, 8) covariance matrices the (N, 3, 4) blocks stand for."""
    n = len(blocks)
    cov = np.zeros((n, 8, 8))
    i = np.arange(4)
    cov[:, i, i] = blocks[:, PP]
    cov[:, i, i + 4] = blocks[:, PV]
    cov[:, i + 4, i] = blocks[:, PV]
    cov[:, i + 4, i + 4] = blocks[:, VV]
    return cov


def initiate(boxes_cxcywh: Array, noise: KalmanNoise) -> tuple[Array, Array]:
    """Means (N, 8) and covariance blocks (N, 3, 4) of new tracks: at the box, velocity
    unknown."""
    n = len(boxes_cxcywh)
    mean = np.concatenate([boxes_cxcywh, np.zeros((n, 4))], axis=1)
    scale2 = _size_scale(boxes_cxcywh) ** 2
    cov = np.zeros((n, 3, 4))
    cov[:, PP] = noise.initial_position**2 * scale2
    cov[:, VV] = noise.initial_velocity**2 * scale2
    return mean, cov


def predict(mean: Array, cov: Array, dt: Array, noise: KalmanNoise) -> tuple[Array, Array]:
    """Each track moved ahead by its own `dt` seconds (N,); dt 0 leaves it as it is.

    Per block, with F = [[1, dt], [0, 1]] and Q = diag(q_value, q_velocity) x dt:
    F P F' + Q."""
    n = len(mean)
    if n == 0:
        return mean.copy(), cov.copy()
    dt = np.maximum(np.asarray(dt, dtype=np.float64).reshape(n, 1), 0.0)
    new_mean = mean.copy()
    new_mean[:, :4] += dt * mean[:, 4:]
    scale2_dt = _size_scale(mean) ** 2 * dt
    pp, pv, vv = cov[:, PP], cov[:, PV], cov[:, VV]
    new_cov = np.empty_like(cov)
    new_cov[:, PP] = pp + dt * (2 * pv + dt * vv) + noise.position_per_s**2 * scale2_dt
    new_cov[:, PV] = pv + dt * vv
    new_cov[:, VV] = vv + noise.velocity_per_s**2 * scale2_dt
    return new_mean, new_cov


def update(
    mean: Array, cov: Array, measured_cxcywh: Array, noise: KalmanNoise
) -> tuple[Array, Array]:
    """Correct (N,) predicted states with one measured box each.

    Per block, the measurement is the value alone: S = PP + R (a number), the gain is
    (PP, PV) / S, and P - K S K' follows."""
    if len(mean) == 0:
        return mean.copy(), cov.copy()
    pp, pv, vv = cov[:, PP], cov[:, PV], cov[:, VV]
    s = pp + noise.measurement**2 * _size_scale(mean) ** 2
    k_value, k_velocity = pp / s, pv / s
    innovation = measured_cxcywh - mean[:, :4]
    new_mean = np.concatenate(
        [mean[:, :4] + k_value * innovation, mean[:, 4:] + k_velocity * innovation], axis=1
    )
    new_cov = np.empty_like(cov)
    new_cov[:, PP] = pp - k_value * pp
    new_cov[:, PV] = pv - k_value * pv
    new_cov[:, VV] = vv - k_velocity * pv
    return new_mean, new_cov
