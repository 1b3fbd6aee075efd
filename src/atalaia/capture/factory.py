"""Open the right frame source for a camera's `SourceConfig` (which library: `kinds`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from atalaia.capture.device_modes import ffmpeg_device_options
from atalaia.capture.errors import SourceError
from atalaia.capture.kinds import (
    Backend,
    SourceKind,
    backend_for,
    device_index,
    file_path,
    source_kind,
)
from atalaia.capture.masking import Masker
from atalaia.capture.opencv_source import OpenCVSource
from atalaia.capture.pyav_source import PyAVSource
from atalaia.capture.source import FrameSource, SourceSettings
from atalaia.config.cameras import SourceConfig
from atalaia.demo import ensure_demo_video

# How long FFmpeg may look at an RTSP stream before it starts decoding. Its default (5 s of
# stream, about 2 s in practice) is spent on every reconnect; the SDP already names the codec
# and a key frame every second or two carries the picture size, so 1 s is enough and brings a
# camera back sooner.
RTSP_ANALYZE_MICROSECONDS = 1_000_000
# Per-socket receive buffer for RTP over UDP. FFmpeg's default is small enough that a key frame
# of a 1080p stream overflows it and arrives broken.
UDP_BUFFER_BYTES = 4 * 1024 * 1024


def open_source(config: SourceConfig, data_dir: Path) -> FrameSource:
    """Open `config.url` with its open timeout; raise `SourceError` (masked) when it fails.

    `data_dir` is where `demo://` finds (or first makes) the demo video.
    """
    settings = SourceSettings(Masker(config.url), config.open_timeout, config.read_timeout)
    kind = source_kind(config.url)
    backend = backend_for(config)
    if kind is SourceKind.DEMO:
        return _open_file(config, _demo_video(data_dir), backend, settings)
    if kind is SourceKind.FILE:
        return _open_file(config, file_path(config.url), backend, settings)
    if kind is SourceKind.DEVICE:
        return _open_device(config, backend, settings)
    if backend is Backend.MJPEG:
        return _open_http(config.url, settings)
    options = _ffmpeg_options(config, kind)
    if backend is Backend.OPENCV:
        return OpenCVSource(config.url, settings, ffmpeg_options=options)
    return PyAVSource(config.url, settings, options=options)


def _ffmpeg_options(config: SourceConfig, kind: SourceKind) -> dict[str, str]:
    if kind is not SourceKind.RTSP:
        return {}
    options: dict[str, str] = {
        "rtsp_transport": config.transport,
        "analyzeduration": str(RTSP_ANALYZE_MICROSECONDS),
    }
    if config.transport == "udp":
        options["buffer_size"] = str(UDP_BUFFER_BYTES)
    return options


def _open_http(url: str, settings: SourceSettings) -> FrameSource:
    """MJPEG first; anything else the URL serves (HLS, MPEG-TS, MP4) goes to PyAV."""
    # Imported here: httpx is only needed by HTTP cameras (0.2 s less to start the others).
    from atalaia.capture.mjpeg_source import MjpegSource, NotMultipart

    try:
        return MjpegSource(
            url,
            masker=settings.masker,
            open_timeout=settings.open_timeout,
            read_timeout=settings.read_timeout,
        )
    except NotMultipart as not_mjpeg:
        try:
            return PyAVSource(url, settings)
        except SourceError as exc:
            raise SourceError(f"{not_mjpeg}, and FFmpeg cannot read it either: {exc}") from None


def _open_file(
    config: SourceConfig, path: Path, backend: Backend, settings: SourceSettings
) -> FrameSource:
    settings = replace(settings, finite=True, loop=config.loop, realtime=config.realtime)
    if backend is Backend.OPENCV:
        return OpenCVSource(str(path), settings)
    return PyAVSource(str(path), settings)


def _open_device(config: SourceConfig, backend: Backend, settings: SourceSettings) -> FrameSource:
    if backend is Backend.PYAV:
        options = ffmpeg_device_options(config.device)
        return PyAVSource(config.url, settings, options=options, container_format="v4l2")
    return OpenCVSource(
        device_index(config.url), settings, device=True, device_settings=config.device
    )


def _demo_video(data_dir: Path) -> Path:
    try:
        return ensure_demo_video(data_dir)
    except Exception as exc:  # any failure (disk, encoder, missing photo) means no demo video
        raise SourceError(f"cannot make the demo video in {data_dir}: {exc}") from None
