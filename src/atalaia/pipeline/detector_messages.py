"""Camera <-> detector process: every message on a camera's connection to its detector.

A camera (or a client-frame lane, which behaves like one) opens a connection, sends `Hello`
once, then `Detect` for each frame it wants detected. The detector answers the hello with
`Welcome` (its class table) and every `Detect` with exactly one `Result` or `Dropped`, so a
camera always knows how many of its requests are still in flight. A failed model call is
not a message of its own: each of its frames is `Dropped` with cause "error".

Camera -> detector: `Hello`, `Detect`.     Detector -> camera: `Welcome`, `Result`, `Dropped`.

These are pickled on the per-frame path (two messages a frame), so each class pickles as its
constructor and a tuple of its fields (`_pickled_as_tuple`): the default pickling of a frozen
slotted dataclass runs Python-level `__getstate__`/`__setstate__` and costs about twice as
much (measured in `bench/messages.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any, Literal, TypeVar, get_args

from atalaia.detect.protocol import DetectorInfo

DropCause = Literal["stale", "overload", "no_detector", "error"]
"""Why a request got no result: too old (or overwritten in the ring) by the time the model got
to it; superseded by a newer frame, or too many in flight; no detector connected; the model
call failed."""

DROP_CAUSES: tuple[DropCause, ...] = get_args(DropCause)

_M = TypeVar("_M")


def _pickled_as_tuple(cls: type[_M]) -> type[_M]:
    """Give a frozen dataclass a `__reduce__` that pickles it as `(cls, (field values...))`.

    Unpickling then calls the constructor; the values are read by one C-level `attrgetter`.
    """
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    get: Callable[[Any], Any] = attrgetter(*names)
    if len(names) == 1:

        def __reduce__(self: Any) -> tuple[type[_M], tuple[Any, ...]]:
            return cls, (get(self),)
    else:

        def __reduce__(self: Any) -> tuple[type[_M], tuple[Any, ...]]:
            return cls, get(self)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign]
    return cls


# ---- camera -> detector ---------------------------------------------------------------------


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Hello:
    """The first message on a connection: who the camera is and where its frames are."""

    camera: str
    ring: str  # the name of the camera's shared-memory `FrameRing`
    max_age_s: float  # a request older than this when the model gets to it is dropped


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Detect:
    """Detect the frame in ring slot `slot`, if it still holds frame `seq` (captured at `ts`)."""

    slot: int
    seq: int
    ts: float


# ---- detector -> camera ---------------------------------------------------------------------


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Welcome:
    """The answer to `Hello`: the model is loaded; class ids in results index `class_names`."""

    class_names: tuple[str, ...]
    info: DetectorInfo


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Result:
    """Detections of frame `seq`: `wire` is `Detections.to_wire()`, read back with the class
    table of the `Welcome`. `infer_ms` is the model call's time, shared by the `batch` frames
    it detected."""

    seq: int
    ts: float
    wire: bytes
    infer_ms: float
    batch: int


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Dropped:
    """Frame `seq` gets no result, and why."""

    seq: int
    cause: DropCause


CameraRequest = Hello | Detect
DetectorAnswer = Result | Dropped
"""The answer to one `Detect`: exactly one of these comes back for each."""
DetectorMessage = Welcome | Result | Dropped
