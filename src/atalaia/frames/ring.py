"""FrameRing: a camera's decoded frames in a ring of shared-memory slots.

Frames never travel through a pickle. A camera process writes each frame into the next slot;
only a `FrameRef` (camera, slot, sequence, capture time) crosses process boundaries. Readers
(the detector) check the slot's sequence number before and after using the pixels: if it
changed, the camera has lapped the ring and the frame is gone. That check replaces any lock,
so a reader can never stall the camera and a killed process can never leave a lock held.

Ownership: the supervisor in the main process creates and unlinks every ring. A camera process
only attaches, so a `kill -9` of a camera leaks nothing, and its restarted successor writes on
into the same ring.
"""

from __future__ import annotations

import _posixshmem
import contextlib
import math
import mmap
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np

MAGIC = 0x41544C52494E4731  # "ATLRING1"
WRITING = np.uint64(2**64 - 1)  # slot sequence while a write is in progress
_PREFIX = np.dtype([("magic", "<u8"), ("slots", "<u8"), ("slot_bytes", "<u8"), ("next_seq", "<u8")])
_SLOT = np.dtype(
    [("seq", "<u8"), ("ts", "<f8"), ("h", "<u4"), ("w", "<u4"), ("c", "<u4"), ("_pad", "<u4")]
)
_ALIGN = 4096


class FrameTooLarge(ValueError):
    """The frame does not fit a slot; the camera must scale it down first."""


@dataclass(frozen=True, slots=True)
class FrameRef:
    """What travels between processes instead of pixels."""

    camera: str
    slot: int
    seq: int
    ts: float


def _header_bytes(slots: int) -> int:
    raw = _PREFIX.itemsize + slots * _SLOT.itemsize
    return (raw + _ALIGN - 1) // _ALIGN * _ALIGN


def ring_name(camera: str, run_id: str) -> str:
    """A name unique to this service run, so two instances on one host never collide."""
    safe = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in camera)
    return f"atalaia-{run_id}-{safe}"


def new_run_id() -> str:
    """`<owner pid>x<random>`: the pid tells a leak check (or an operator) who owns a segment."""
    return f"{os.getpid()}x{secrets.token_hex(3)}"


def ring_owner(name: str) -> int | None:
    """The pid that created a ring, from its name (None for names not made here)."""
    match = re.match(r"^atalaia-(\d+)x[0-9a-f]+-", name)
    return int(match.group(1)) if match else None


class FrameRing:
    """A fixed number of slots, each big enough for the largest frame the camera may send.

    Slot memory is only backed by RAM where written (tmpfs pages are allocated on first
    touch), so a generous `slot_bytes` for a 1080p maximum costs nothing for a 480p camera.
    """

    def __init__(
        self,
        name: str,
        buf: mmap.mmap | memoryview,
        camera: str,
        shm: shared_memory.SharedMemory | None,
    ) -> None:
        self._name = name
        self._buf = buf
        self._shm = shm
        self.camera = camera
        self.owner = shm is not None
        prefix = np.ndarray((), dtype=_PREFIX, buffer=buf, offset=0)
        if int(prefix["magic"]) != MAGIC:
            raise ValueError(f"shared memory {name} is not a frame ring")
        self.slots = int(prefix["slots"])
        self.slot_bytes = int(prefix["slot_bytes"])
        self._prefix = prefix
        self._meta = np.ndarray((self.slots,), dtype=_SLOT, buffer=buf, offset=_PREFIX.itemsize)
        base = _header_bytes(self.slots)
        self._data = np.ndarray(
            (self.slots, self.slot_bytes), dtype=np.uint8, buffer=buf, offset=base
        )

    @property
    def name(self) -> str:
        return self._name

    @classmethod
    def create(cls, name: str, camera: str, slots: int, slot_bytes: int) -> FrameRing:
        """Create the segment (supervisor only)."""
        if slots < 2:
            raise ValueError("a frame ring needs at least 2 slots")
        slot_bytes = (slot_bytes + _ALIGN - 1) // _ALIGN * _ALIGN
        size = _header_bytes(slots) + slots * slot_bytes
        shm = shared_memory.SharedMemory(name=name, create=True, size=size)
        prefix = np.ndarray((), dtype=_PREFIX, buffer=shm.buf, offset=0)
        prefix["slots"], prefix["slot_bytes"], prefix["next_seq"] = slots, slot_bytes, 1
        prefix["magic"] = MAGIC
        del prefix
        assert shm.buf is not None
        return cls(shm.name, shm.buf, camera, shm)

    @classmethod
    def attach(cls, name: str, camera: str) -> FrameRing:
        """Map an existing ring (camera and detector processes).

        The segment is mapped directly rather than through `SharedMemory`, which in Python
        3.11 registers every attachment with a resource tracker: depending on which tracker
        that is, it either unlinks the supervisor's ring when this process exits or drops the
        supervisor's own registration. Only the creator may own the segment.
        """
        fd = _posixshmem.shm_open("/" + name, os.O_RDWR, mode=0o600)
        try:
            buf = mmap.mmap(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)
        return cls(name, buf, camera, None)

    def write(self, image: np.ndarray, ts: float) -> FrameRef:
        """Copy `image` (H x W x C uint8) into the next slot and return its reference."""
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise ValueError(
                f"expected an HxW or HxWxC uint8 image, got {image.dtype} {image.shape}"
            )
        return self.write_from(image.shape, lambda dst: np.copyto(dst, image, casting="no"), ts)

    def write_from(
        self, shape: tuple[int, ...], fill: Callable[[np.ndarray], None], ts: float
    ) -> FrameRef:
        """Have `fill` write a frame of `shape` (H x W or H x W x C, uint8) straight into the
        next slot, e.g. a colour conversion whose destination is the slot: no intermediate
        array, no copy. If `fill` raises, the slot holds no frame and nothing is published."""
        nbytes = math.prod(shape)
        if nbytes > self.slot_bytes:
            raise FrameTooLarge(f"frame of {nbytes} bytes > slot of {self.slot_bytes} bytes")
        seq = int(self._prefix["next_seq"])
        slot = seq % self.slots
        meta = self._meta[slot]
        meta["seq"] = WRITING
        fill(self._data[slot, :nbytes].reshape(shape))
        h, w = shape[:2]
        c = shape[2] if len(shape) == 3 else 1
        meta["ts"], meta["h"], meta["w"], meta["c"] = ts, h, w, c
        meta["seq"] = seq  # publishing the sequence makes the frame visible
        self._prefix["next_seq"] = seq + 1
        return FrameRef(self.camera, slot, seq, ts)

    def view(self, ref: FrameRef) -> np.ndarray | None:
        """A zero-copy view of the frame, or None if the slot no longer holds it.

        A view can still be overwritten while in use: call `valid(ref)` after using it.
        """
        if not 0 <= ref.slot < self.slots:
            return None
        meta = self._meta[ref.slot]
        if int(meta["seq"]) != ref.seq:
            return None
        h, w, c = int(meta["h"]), int(meta["w"]), int(meta["c"])
        flat = self._data[ref.slot, : h * w * c]
        return flat.reshape((h, w, c) if c > 1 else (h, w))

    def valid(self, ref: FrameRef) -> bool:
        """True while the slot still holds `ref`'s frame."""
        return 0 <= ref.slot < self.slots and int(self._meta[ref.slot]["seq"]) == ref.seq

    def read(self, ref: FrameRef) -> np.ndarray | None:
        """A private copy of the frame, or None if it was overwritten before or during the copy."""
        view = self.view(ref)
        if view is None:
            return None
        copy = view.copy()
        return copy if self.valid(ref) else None

    def latest(self) -> FrameRef | None:
        """The newest complete frame (for live view and snapshots)."""
        seq = int(self._prefix["next_seq"]) - 1
        if seq < 1:
            return None
        slot = seq % self.slots
        meta = self._meta[slot]
        if int(meta["seq"]) != seq:
            return None
        return FrameRef(self.camera, slot, seq, float(meta["ts"]))

    def close(self) -> None:
        """Detach. The owner also unlinks, so no segment outlives the service."""
        # Drop numpy views first: SharedMemory refuses to close while buffers are exported.
        del self._prefix, self._meta, self._data
        try:
            if self._shm is not None:
                self._shm.close()
            elif isinstance(self._buf, mmap.mmap):
                self._buf.close()
        except BufferError:
            pass  # a caller still holds a view; the mapping goes when that view does
        if self._shm is not None:
            with contextlib.suppress(FileNotFoundError):
                self._shm.unlink()
