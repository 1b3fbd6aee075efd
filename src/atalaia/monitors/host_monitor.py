"""HostMonitor: the machine's CPU, memory, disk, load, temperature and process count.

Sampled on a daemon thread every `interval` seconds rather than on request, so that
`/background/status`, `/api/stats` and a Prometheus scrape read a ready sample and never wait
for psutil (a CPU percentage needs two readings some time apart).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import psutil

from atalaia.config.monitors import HostMonitorConfig
from atalaia.monitors.base import MonitorState, ThreadedMonitor, Worker

log = logging.getLogger(__name__)

# Sensor chips that measure the CPU itself, best first: Intel, AMD, Raspberry Pi and other
# ARM boards, then the ACPI zone that most PCs expose when nothing better is there.
_CPU_CHIPS = ("coretemp", "k10temp", "zenpower", "cpu_thermal", "cpu-thermal", "soc_thermal")
_FALLBACK_CHIPS = ("acpitz",)
# Readings outside this range come from unconnected or broken sensors.
_PLAUSIBLE_C = (-40.0, 150.0)


class TemperatureReading(Protocol):
    """What psutil reports per sensor (its `shwtemp` tuple)."""

    @property
    def current(self) -> float: ...


def chip_temperatures(sensors: Mapping[str, Sequence[TemperatureReading]]) -> dict[str, float]:
    """The hottest plausible reading of each chip."""
    low, high = _PLAUSIBLE_C
    out: dict[str, float] = {}
    for chip, readings in sensors.items():
        values = [r.current for r in readings if r.current is not None and low < r.current < high]
        if values:
            out[chip] = round(max(values), 1)
    return out


def cpu_temperature(chips: Mapping[str, float]) -> float | None:
    """The CPU's temperature: the first CPU chip found, else the ACPI zone, else the hottest
    chip of any kind; None when the machine exposes no sensor."""
    for chip in (*_CPU_CHIPS, *_FALLBACK_CHIPS):
        if chip in chips:
            return chips[chip]
    return max(chips.values()) if chips else None


def read_temperatures() -> dict[str, float]:
    """Per-chip temperatures; empty where psutil has no sensors (macOS, Windows, containers)."""
    reader = getattr(psutil, "sensors_temperatures", None)
    if reader is None:
        return {}
    try:
        sensors = reader()
    except (OSError, RuntimeError) as exc:
        log.debug("temperature sensors unreadable: %s", exc)
        return {}
    return chip_temperatures(sensors or {})


def existing_dir(path: Path) -> Path:
    """`path` or its nearest existing parent, so disk usage works before data_dir is made."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


@dataclass(frozen=True, slots=True)
class HostSample:
    """One reading. Sizes in bytes, percentages 0-100 except `service_cpu_percent`, which is
    this process's share of one core and reaches `100 * cpu_count` when it uses all of them."""

    sampled_at: float
    cpu_percent: float
    cpu_count: int
    load_average: tuple[float, float, float] | None
    memory_total: int
    memory_available: int
    memory_used: int
    memory_percent: float
    swap_percent: float
    disk_path: str
    disk_total: int
    disk_used: int
    disk_free: int
    disk_percent: float
    temperature_c: float | None
    temperatures: dict[str, float]
    process_count: int
    uptime_s: float
    service_cpu_percent: float
    service_rss: int
    service_threads: int


@dataclass(frozen=True, slots=True)
class HostSnapshot:
    """The latest sample (None until the first one is taken) and the monitor's own state."""

    state: MonitorState
    interval: float
    samples: int
    sample: HostSample | None
    last_error: str | None = None
    last_error_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.sample is not None and self.sample.load_average is not None:
            data["sample"]["load_average"] = list(self.sample.load_average)
        return data


class HostMonitor(ThreadedMonitor):
    """Samples the host every `config.interval` seconds; `sample()` also works unstarted."""

    name = "host"

    def __init__(self, config: HostMonitorConfig, data_dir: Path = Path("data")) -> None:
        super().__init__()
        self.config = config
        self.disk_path = config.disk_path or data_dir
        self._process = psutil.Process(os.getpid())
        self._lock = threading.Lock()
        self._latest: HostSample | None = None
        self._samples = 0
        self._last_error: str | None = None
        self._last_error_at: float | None = None

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def _workers(self) -> list[tuple[str, Worker]]:
        return [("sampler", self._run)]

    def _run(self, stop: threading.Event) -> None:
        # CPU percentages compare with the previous call: prime them, then take the first
        # sample soon (not a whole interval later) so the status has values early.
        self._prime()
        delay = min(1.0, self.config.interval)
        while not self._pause(stop, delay):
            try:
                self.sample()
            except Exception as exc:  # a psutil failure must not end the monitor
                with self._lock:
                    self._last_error = f"{type(exc).__name__}: {exc}"
                    self._last_error_at = time.time()
                log.warning("host sample failed: %s", exc)
            delay = self.config.interval

    def _prime(self) -> None:
        psutil.cpu_percent(interval=None)
        self._process.cpu_percent(interval=None)

    def sample(self) -> HostSample:
        """Take a sample now, keep it as the latest and return it.

        The CPU figures cover the time since the previous sample (or the priming call); the
        very first call, on a monitor never started, reports 0 for them.
        """
        vm = psutil.virtual_memory()
        disk_dir = existing_dir(self.disk_path)
        disk = psutil.disk_usage(str(disk_dir))
        load: tuple[float, float, float] | None
        try:
            one, five, fifteen = psutil.getloadavg()
            load = (one, five, fifteen)
        except (OSError, AttributeError):
            load = None
        chips = read_temperatures()
        with self._process.oneshot():
            service_cpu = self._process.cpu_percent(interval=None)
            rss = self._process.memory_info().rss
            threads = self._process.num_threads()
        now = time.time()
        taken = HostSample(
            sampled_at=now,
            cpu_percent=float(psutil.cpu_percent(interval=None)),
            cpu_count=psutil.cpu_count() or 1,
            load_average=load,
            memory_total=vm.total,
            memory_available=vm.available,
            memory_used=vm.used,
            memory_percent=float(vm.percent),
            swap_percent=float(psutil.swap_memory().percent),
            disk_path=str(disk_dir),
            disk_total=disk.total,
            disk_used=disk.used,
            disk_free=disk.free,
            disk_percent=float(disk.percent),
            temperature_c=cpu_temperature(chips),
            temperatures=chips,
            process_count=len(psutil.pids()),
            uptime_s=max(0.0, now - psutil.boot_time()),
            service_cpu_percent=float(service_cpu),
            service_rss=rss,
            service_threads=threads,
        )
        with self._lock:
            self._latest = taken
            self._samples += 1
        return taken

    def snapshot(self) -> HostSnapshot:
        with self._lock:
            return HostSnapshot(
                state=self.state,
                interval=self.config.interval,
                samples=self._samples,
                sample=self._latest,
                last_error=self._last_error,
                last_error_at=self._last_error_at,
            )
