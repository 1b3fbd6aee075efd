"""Device-side input buffers for I/O binding, reused across calls.

Each thread keeps one OrtValue per batch shape on the device and refreshes it in place from
the host batch: one host-to-device copy per call and no device allocation per call. Per
thread, because concurrent runs (lanes) fill their own batches at the same time.
"""

from __future__ import annotations

import threading
from typing import Any

import onnxruntime as ort
from numpy.typing import NDArray


class DeviceBuffers:
    """This thread's device buffer for each batch shape, refreshed from the host batch."""

    def __init__(self, device: str, device_id: int) -> None:
        self.device = device
        self.device_id = device_id
        self._thread_state = threading.local()

    def refreshed(self, batch: NDArray[Any]) -> Any:
        """The OrtValue holding `batch` on the device (made on a shape's first use)."""
        buffers: dict[tuple[int, ...], Any] = getattr(self._thread_state, "buffers", {})
        self._thread_state.buffers = buffers
        value = buffers.get(batch.shape)
        if value is None:
            value = ort.OrtValue.ortvalue_from_numpy(batch, self.device, self.device_id)
            buffers[batch.shape] = value
        else:
            value.update_inplace(batch)
        return value
