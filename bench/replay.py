"""A clip played back at another frame rate, as a camera of that rate would send it.

A real clip is often recorded at a low rate (OpenCV's `vtest.avi`: 10 fps), and 8 cameras of it
offer 80 frames/s: on a machine where the model alone does 190 images/s the pipeline cannot be
saturated with them (`bench.limit` says so). `--replay-fps 30` re-times the same frames to 30
fps, so each camera offers 30 frames/s of the same crowded scene, as a 30 fps camera would.

The copy is re-encoded with FFmpeg in the same codec family at the same bytes per frame (the
frames' timestamps are in the bitstream's container, which a stream copy cannot re-time for
every decoder), and every decode cost the benchmarks print is measured on the copy.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

# FFmpeg's encoder for a decoder's codec name; anything else is re-encoded as MPEG-4 part 2.
ENCODERS = {"msmpeg4v3": "msmpeg4", "msmpeg4v2": "msmpeg4v2", "mpeg4": "mpeg4", "h264": "libx264",
            "mjpeg": "mjpeg"}  # fmt: skip


def add_replay_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--replay-fps",
        type=float,
        default=None,
        help="play --video back at this frame rate (same frames re-timed; needs ffmpeg)",
    )


def probe(video: Path) -> dict[str, str]:
    """The first video stream's codec, frame rate and bit rate, from ffprobe."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,r_frame_rate,bit_rate", "-of", "json", str(video)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    streams = json.loads(out).get("streams") or []
    if not streams:
        raise SystemExit(f"{video} has no video stream")
    return {k: str(v) for k, v in streams[0].items()}


def retimed(video: Path, fps: float, directory: Path) -> Path:
    """`video`'s frames at `fps` in `directory` (made once), with the same bytes per frame."""
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        raise SystemExit("--replay-fps needs ffmpeg and ffprobe (apt-get install ffmpeg)")
    stream = probe(video)
    num, _, den = stream.get("r_frame_rate", "0/1").partition("/")
    source_fps = float(num) / float(den or 1)
    if source_fps <= 0:
        raise SystemExit(f"{video}: ffprobe gives no frame rate to re-time from")
    encoder = ENCODERS.get(stream.get("codec_name", ""), "mpeg4")
    path = directory / f"{video.stem}_{fps:g}fps.avi"
    if path.exists():
        return path
    command = ["ffmpeg", "-y", "-loglevel", "error", "-r", f"{fps:g}", "-i", str(video),
               "-an", "-c:v", encoder]  # fmt: skip
    bit_rate = stream.get("bit_rate", "N/A")
    if bit_rate.isdigit():
        command += ["-b:v", str(round(int(bit_rate) * fps / source_fps))]
    subprocess.run([*command, str(path)], check=True)
    return path
