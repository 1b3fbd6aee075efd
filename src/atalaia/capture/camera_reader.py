"""`CameraReader`: what a camera process runs to get frames from one camera, forever.

It owns one daemon thread that opens the source, reads it, and on any failure closes it,
waits out a capped exponential backoff and opens it again, for as long as the reader lives. The
consumer (the camera process's loop) takes frames from a small hand-off buffer:

    with CameraReader.for_camera(camera, data_dir) as reader:
        while running:
            frame = reader.read(timeout=1.0)      # never blocks longer than `timeout`
            status = reader.status()              # for the heartbeat, whatever happened
            if frame is not None:
                ...                               # write it to the shared-memory ring
            elif status.state is CameraState.STOPPED:
                break                             # a file without `loop` is done

`close()` may be called from any thread (a signal handler's flag, the supervisor's stop);
`read()` then returns None at once and `frames()` ends.

Why a thread with a hand-off rather than reading in the consumer: a blocked read then never
blocks the camera process, which must keep sending heartbeats while its camera is down, and
the reader can decode at the camera's own pace while the consumer takes only the newest frame.
Every blocking call in the thread is bounded by the source's timeouts (see the sources), so the
thread always comes back to check whether it was closed; on top of that a stall watchdog
compares the time since the last frame that came promptly with `stall_timeout`, because readers
do report success after a stall (OpenCV does, twice, on a frozen RTSP server, each after a full
read timeout): a frame that took a whole read timeout to come does not reset the watchdog.
`status()` applies the watchdog too, so a source still blocked in a read shows `offline` on
time.

A network camera's backoff is cut short when its host comes back: while waiting, the reader
checks about once a second whether the host accepts a TCP connection (`HostWatch`), and after
it was seen down, the first answer starts an attempt at once and resets the backoff. A camera
whose RTSP server restarts is then read again within seconds, not after a capped 30 s wait; the
status shows `retry_reason: host reachable` and, while waiting, `next_retry_at`.

Live sources never wait for the consumer: the buffer keeps the newest `buffer_size` frames and
drops (and counts) older ones, as the design asks ("drop the oldest, decoded frames only"). A
file read as fast as possible (`realtime: false`, for benchmarks) waits for the consumer
instead, since nothing is lost by waiting. Files with `realtime: true` are paced at their own
frame rate.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from enum import Enum, auto
from pathlib import Path
from types import TracebackType

from atalaia.capture.backoff import Backoff
from atalaia.capture.errors import EndOfStream, SourceError
from atalaia.capture.factory import open_source
from atalaia.capture.frame import Frame, Picture
from atalaia.capture.host_probe import HOST_REACHABLE, HostWatch, host_address
from atalaia.capture.masking import Masker
from atalaia.capture.pacing import Pacer
from atalaia.capture.rate_limit import RateLimiter
from atalaia.capture.source import FrameSource
from atalaia.capture.status import CameraState, CameraStatus
from atalaia.config.cameras import CameraConfig, SourceConfig

log = logging.getLogger(__name__)

SourceOpener = Callable[[SourceConfig], FrameSource]
# Asked on the reader's thread for every frame that passes the rate cap: what the consumer will
# use it for (delivered as `Frame.purpose`), or None when it will not use it. A frame nobody
# wants is then never buffered and wakes no thread: a camera process detecting 10 of 30
# frames a second otherwise woke its loop 30 times to turn 20 of them away.
FrameOffer = Callable[[], object | None]

# The measured frame rate counts deliveries over this many seconds: long enough to be steady,
# short enough that the burst FFmpeg releases right after a (re)connect is soon forgotten.
FPS_WINDOW = 2.0


class _Phase(Enum):
    """What the reader thread is doing right now; the watchdog only times `READING`."""

    IDLE = auto()
    OPENING = auto()
    READING = auto()
    PACING = auto()
    HANDOFF = auto()
    BACKOFF = auto()


class CameraReader:
    """Reads one camera in a background thread; reconnects forever; never blocks its consumer.

    `target_fps` caps the frames offered to the consumer (extra frames are decoded and
    dropped, never slept on). `buffer_size` is how many undelivered frames are kept (newest
    win). `opener` makes a `FrameSource` from the config; it defaults to
    `atalaia.capture.factory.open_source` with `data_dir` (where `demo://` keeps its video).
    """

    def __init__(
        self,
        source: SourceConfig,
        *,
        camera_id: str = "camera",
        target_fps: float | None = None,
        data_dir: Path = Path("data"),
        buffer_size: int = 1,
        opener: SourceOpener | None = None,
        backoff_jitter: float = 0.2,
        offer: FrameOffer | None = None,
    ) -> None:
        if buffer_size < 1:
            raise ValueError("expected buffer_size >= 1")
        self.camera_id = camera_id
        self.config = source
        self.target_fps = target_fps
        self.stall_timeout = source.stall_timeout or 2.0 * source.read_timeout
        self._masker = Masker(source.url)
        self._opener: SourceOpener = opener or (lambda config: open_source(config, data_dir))
        self._buffer_size = buffer_size
        self._offer = offer
        self._backoff = Backoff(
            source.reconnect_initial, source.reconnect_max, jitter=backoff_jitter
        )
        self._log_extra = {"camera_id": camera_id}
        self._host_watch = HostWatch(
            host_address(source.url), timeout=min(1.0, source.open_timeout)
        )

        self._cond = threading.Condition()
        self._buffer: deque[Frame] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._done = False

        # Everything below is guarded by `_cond`.
        self._state = CameraState.RECONNECTING
        self._since = time.time()
        self._phase = _Phase.IDLE
        self._stall_since = time.monotonic()
        self._last_frame_time: float | None = None
        self._deliveries: deque[float] = deque()
        self._session_start = 0.0
        self._frames_read = 0
        self._frames_delivered = 0
        self._dropped_by_rate = 0
        self._dropped_unconsumed = 0
        self._reconnects = 0
        self._sequence = 0
        self._last_error: str | None = None
        self._last_error_time: float | None = None
        self._failures_in_row = 0
        self._session_frames = 0
        self._next_retry_at: float | None = None
        self._retry_reason: str | None = None
        self._host_reachable: bool | None = None

    @classmethod
    def for_camera(
        cls,
        camera: CameraConfig,
        data_dir: Path,
        *,
        default_target_fps: float | None = None,
        buffer_size: int = 1,
        offer: FrameOffer | None = None,
    ) -> CameraReader:
        """A reader for a configured camera; `default_target_fps` applies when it sets none."""
        return cls(
            camera.source,
            camera_id=camera.id,
            target_fps=camera.target_fps or default_target_fps,
            data_dir=data_dir,
            buffer_size=buffer_size,
            offer=offer,
        )

    @property
    def url(self) -> str:
        """The camera URL with its password masked."""
        return self._masker.label

    # -- consumer side ---------------------------------------------------------------------

    def start(self) -> CameraReader:
        """Start the reader thread (idempotent); returns self."""
        with self._cond:
            if self._stop.is_set():
                raise RuntimeError("a closed CameraReader cannot be started again")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"capture-{self.camera_id}", daemon=True
                )
                self._thread.start()
        return self

    def read(self, timeout: float | None = None) -> Frame | None:
        """The next frame, or None when none arrived within `timeout` seconds.

        `timeout` defaults to the source's read timeout; 0 polls. Also None at once after
        `close()`, and after a finite file's last frame. Starts the reader if needed.
        """
        if self._thread is None and not self._stop.is_set():
            self.start()
        wait = self.config.read_timeout if timeout is None else max(0.0, timeout)
        deadline = time.monotonic() + wait
        with self._cond:
            while not self._buffer:
                if self._stop.is_set() or self._done:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self._stop.is_set():
                return None
            frame = self._buffer.popleft()
            self._cond.notify_all()  # a file reader may be waiting for room
            return frame

    def frames(self, poll: float = 0.5) -> Iterator[Frame]:
        """Frames until the reader is closed or a finite file ends.

        It keeps waiting while the camera is offline; a loop that must do other work meanwhile
        (heartbeats) should call `read(timeout)` instead.
        """
        while True:
            frame = self.read(timeout=poll)
            if frame is not None:
                yield frame
            elif self._stop.is_set() or self._done:
                return

    def status(self) -> CameraStatus:
        """A snapshot of the camera's health, with the stall watchdog applied."""
        now = time.time()
        with self._cond:
            state, since, error, error_time = (
                self._state,
                self._since,
                self._last_error,
                self._last_error_time,
            )
            waited = time.monotonic() - self._stall_since
            if (
                state is CameraState.ONLINE
                and self._phase is _Phase.READING
                and waited > self.stall_timeout
            ):
                # The reader thread is still inside a read: the source is frozen even though
                # nothing has reported an error yet.
                state = CameraState.OFFLINE
                since = now - (waited - self.stall_timeout)
                error = self._stall_message(waited)
                error_time = since
            fps = self._measured_fps(now) if state is CameraState.ONLINE else 0.0
            return CameraStatus(
                camera_id=self.camera_id,
                url=self.url,
                state=state,
                since=since,
                last_frame_time=self._last_frame_time,
                frames_read=self._frames_read,
                frames_delivered=self._frames_delivered,
                dropped_by_rate=self._dropped_by_rate,
                dropped_unconsumed=self._dropped_unconsumed,
                reconnects=self._reconnects,
                last_error=error,
                last_error_time=error_time,
                fps=round(fps, 2),
                next_retry_at=self._next_retry_at,
                retry_reason=self._retry_reason,
                host_reachable=self._host_reachable,
            )

    def close(self, timeout: float | None = None) -> bool:
        """Stop reading, release the source, and join the thread.

        Waits at most `timeout` seconds (default: the longer of the open and read timeouts,
        plus one) and returns whether the thread has ended. A thread still inside a source
        call ends by itself when that call times out; it is a daemon, so it never holds up
        interpreter exit.
        """
        self._stop.set()
        with self._cond:
            self._buffer.clear()
            self._set_state(CameraState.STOPPED)
            self._cond.notify_all()
            thread = self._thread
        if thread is None or thread is threading.current_thread():
            return thread is None
        limit = (
            timeout
            if timeout is not None
            else max(self.config.open_timeout, self.config.read_timeout) + 1.0
        )
        thread.join(limit)
        if thread.is_alive():
            log.warning(
                "capture thread for %s is still inside a source call after %.1f s; "
                "it will end when that call times out",
                self.url,
                limit,
                extra=self._log_extra,
            )
            return False
        return True

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    def __enter__(self) -> CameraReader:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reader thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._connect_forever()
        except Exception as exc:
            # A bug in this package or a library, not a camera failure: report it (masked,
            # with the traceback for whoever fixes it), never let it reach the consumer.
            details = self._masker("".join(traceback.format_exception(exc)))
            log.error("capture loop for %s crashed:\n%s", self.url, details, extra=self._log_extra)
            with self._cond:
                self._record_error(self._masker(f"internal error: {exc!r}"))
        finally:
            with self._cond:
                self._done = True
                self._set_state(CameraState.STOPPED)
                self._set_phase(_Phase.IDLE)
                self._cond.notify_all()

    def _connect_forever(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            with self._cond:
                if attempt:
                    self._reconnects += 1
                self._set_state(CameraState.RECONNECTING)
                self._set_phase(_Phase.OPENING)
            attempt += 1
            source = self._open()
            if source is not None:
                try:
                    self._pump(source)
                except EndOfStream:
                    log.info("%s reached its end", self.url, extra=self._log_extra)
                    return
                except SourceError as exc:
                    self._fail(str(exc))
                except Exception as exc:
                    self._fail(self._masker(f"reading {self.url} failed: {exc!r}"))
                finally:
                    self._close_source(source)
                if self._session_frames:
                    self._backoff.reset()
            if not self._stop.is_set():
                self._wait_backoff()

    def _open(self) -> FrameSource | None:
        try:
            return self._opener(self.config)
        except SourceError as exc:
            self._fail(str(exc))
        except Exception as exc:
            self._fail(self._masker(f"cannot open {self.url}: {exc!r}"))
        return None

    def _pump(self, source: FrameSource) -> None:
        """Read until closed; raises when the source fails, stalls or (files) ends."""
        limiter = RateLimiter(self.target_fps)
        pacer = Pacer(source.fps) if source.realtime else None
        self._session_frames = 0
        late = False
        stall_since = time.monotonic()
        while not self._stop.is_set():
            started = time.monotonic()
            if not late:
                stall_since = started
            with self._cond:
                self._set_phase(_Phase.READING)
                self._stall_since = stall_since
            pts = source.grab()
            now = time.monotonic()
            # A frame that needed a whole read timeout came after a stall (the library's
            # timeout fired and it still said "success"): it does not restart the clock.
            late = now - started >= self.config.read_timeout
            if now - stall_since > self.stall_timeout:
                raise SourceError(self._stall_message(now - stall_since))
            self._frame_read()
            if pacer is not None:
                delay = pacer.delay(pts, now)
                if delay > 0:
                    with self._cond:
                        self._set_phase(_Phase.PACING)
                    if self._stop.wait(delay):
                        return
            if not limiter.allow(time.monotonic()):
                with self._cond:
                    self._dropped_by_rate += 1
                continue
            purpose = None
            if self._offer is not None and (purpose := self._offer()) is None:
                self._decline(time.time())
                continue
            self._deliver(source.picture(), time.time(), wait=source.backpressure, purpose=purpose)

    def _frame_read(self) -> None:
        with self._cond:
            self._frames_read += 1
            self._last_frame_time = time.time()
            self._session_frames += 1
            if self._session_frames > 1:
                return
            self._session_start = self._last_frame_time
            self._host_watch.forget()
            recovered = self._failures_in_row > 0
            self._failures_in_row = 0
            self._set_state(CameraState.ONLINE)
            reconnects = self._reconnects
        if recovered:
            log.info(
                "%s is back online (reconnects so far: %d)",
                self.url,
                reconnects,
                extra=self._log_extra,
            )
        else:
            log.info("%s is online", self.url, extra=self._log_extra)

    def _decline(self, timestamp: float) -> None:
        """A frame the offer filter did not want: counted as offered, never buffered, and
        nobody is woken for it."""
        with self._cond:
            self._count_offered(timestamp)

    def _count_offered(self, timestamp: float) -> None:
        """One more frame offered to the consumer (taken or declined); `_cond` is held."""
        self._sequence += 1
        self._frames_delivered += 1
        self._deliveries.append(timestamp)
        self._forget_deliveries_before(timestamp - FPS_WINDOW)

    def _deliver(
        self, picture: Picture, timestamp: float, *, wait: bool, purpose: object = None
    ) -> None:
        with self._cond:
            if wait:
                self._set_phase(_Phase.HANDOFF)
                while len(self._buffer) >= self._buffer_size and not self._stop.is_set():
                    self._cond.wait(0.5)
                if self._stop.is_set():
                    return
            while len(self._buffer) >= self._buffer_size:
                self._buffer.popleft()
                self._dropped_unconsumed += 1
            self._count_offered(timestamp)
            self._buffer.append(Frame(picture, timestamp, self._sequence, purpose))
            self._cond.notify_all()

    def _fail(self, message: str) -> None:
        with self._cond:
            repeated = message == self._last_error and self._failures_in_row > 0
            self._failures_in_row += 1
            failures = self._failures_in_row
            self._record_error(message)
            self._set_state(CameraState.OFFLINE)
            self._set_phase(_Phase.BACKOFF)
        level = logging.INFO if repeated else logging.WARNING
        log.log(
            level,
            "%s is offline (failure %d in a row): %s",
            self.url,
            failures,
            message,
            extra=self._log_extra,
        )

    def _wait_backoff(self) -> None:
        delay = self._backoff.next_delay()
        with self._cond:
            self._set_phase(_Phase.BACKOFF)
            self._next_retry_at = time.time() + delay
        log.debug("next attempt on %s in %.2f s", self.url, delay, extra=self._log_extra)
        reason = self._host_watch.wait(delay, self._stop, self._host_probed)
        with self._cond:
            self._next_retry_at = None
            self._retry_reason = reason
        if reason == HOST_REACHABLE:
            # The host was down and answers again: whatever the backoff had grown to, start
            # again from its first step.
            self._backoff.reset()
            address = self._host_watch.address
            log.info(
                "%s: host %s answers again; retrying now",
                self.url,
                address.label if address else "?",
                extra=self._log_extra,
            )

    def _host_probed(self, reachable: bool) -> None:
        with self._cond:
            self._host_reachable = reachable

    def _close_source(self, source: FrameSource) -> None:
        try:
            source.close()
        except Exception as exc:
            log.debug(
                "closing %s failed: %s", self.url, self._masker(repr(exc)), extra=self._log_extra
            )

    # -- helpers (call with `_cond` held) ----------------------------------------------------

    def _set_state(self, state: CameraState) -> None:
        if self._state is CameraState.STOPPED:
            return  # final: a closed reader stays stopped whatever the thread does meanwhile
        if state is not self._state:
            self._state = state
            self._since = time.time()

    def _set_phase(self, phase: _Phase) -> None:
        self._phase = phase

    def _forget_deliveries_before(self, cutoff: float) -> None:
        while self._deliveries and self._deliveries[0] < cutoff:
            self._deliveries.popleft()

    def _measured_fps(self, now: float) -> float:
        """Frames delivered per second over the last `FPS_WINDOW` seconds of this session."""
        self._forget_deliveries_before(now - FPS_WINDOW)
        span = min(FPS_WINDOW, max(0.5, now - self._session_start))
        return len(self._deliveries) / span

    def _record_error(self, message: str) -> None:
        self._last_error = message
        self._last_error_time = time.time()

    def _stall_message(self, waited: float) -> str:
        return (
            f"no frame from {self.url} for {waited:.1f} s (stall timeout {self.stall_timeout:g} s)"
        )
