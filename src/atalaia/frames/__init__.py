"""Frames in shared memory: rings of slots per camera, and the small references that travel."""

from atalaia.frames.ring import FrameRef, FrameRing, FrameTooLarge, new_run_id, ring_name

__all__ = ["FrameRef", "FrameRing", "FrameTooLarge", "new_run_id", "ring_name"]
