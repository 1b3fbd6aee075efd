"""HostMonitor reads the real machine: values must be within what the machine can report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import psutil

from atalaia.config.monitors import HostMonitorConfig
from atalaia.monitors import HostMonitor
from atalaia.monitors.base import ThreadedMonitor
from atalaia.monitors.host_monitor import chip_temperatures, cpu_temperature
from tests.monitors.support import monitor_threads, wait_until


class Sensor(NamedTuple):
    label: str
    current: float


def test_a_sample_has_sane_values(tmp_path: Path) -> None:
    monitor = HostMonitor(HostMonitorConfig(), data_dir=tmp_path)
    sample = monitor.sample()
    cores = psutil.cpu_count() or 1
    assert 0 <= sample.cpu_percent <= 100
    assert 0 <= sample.service_cpu_percent <= 100 * cores
    assert sample.cpu_count == cores
    assert 0 < sample.memory_available <= sample.memory_total
    assert 0 <= sample.memory_percent <= 100
    assert sample.disk_path == str(tmp_path)
    assert sample.disk_total > 0 and 0 <= sample.disk_free <= sample.disk_total
    assert 0 <= sample.disk_percent <= 100
    assert sample.temperature_c is None or -40 < sample.temperature_c < 150
    assert sample.process_count >= 1
    assert sample.service_rss > 0 and sample.service_threads >= 1
    assert sample.load_average is None or all(v >= 0 for v in sample.load_average)
    snap = monitor.snapshot()
    assert snap.sample == sample and snap.samples == 1 and snap.state == "stopped"
    json.dumps(snap.as_dict())  # plain JSON values throughout


def test_disk_usage_of_a_data_dir_not_made_yet_uses_its_parent(tmp_path: Path) -> None:
    monitor = HostMonitor(HostMonitorConfig(), data_dir=tmp_path / "not" / "yet")
    assert monitor.sample().disk_path == str(tmp_path)


def test_runs_on_a_thread_and_stops_cleanly(
    tmp_path: Path, stop_after: Callable[[ThreadedMonitor], ThreadedMonitor]
) -> None:
    monitor = HostMonitor(HostMonitorConfig(interval=0.5), data_dir=tmp_path)
    stop_after(monitor)
    monitor.start()
    assert monitor.running and monitor.snapshot().state == "running"
    assert wait_until(lambda: monitor.snapshot().samples >= 2, 5)
    assert monitor.stop(3)
    assert not monitor.running and monitor.snapshot().state == "stopped"
    assert not monitor_threads()
    samples = monitor.snapshot().samples
    monitor.start()  # a stopped monitor starts again
    assert wait_until(lambda: monitor.snapshot().samples > samples, 5)


def test_disabled_monitor_starts_nothing(tmp_path: Path) -> None:
    monitor = HostMonitor(HostMonitorConfig(enabled=False), data_dir=tmp_path)
    monitor.start()
    assert not monitor.running
    assert monitor.snapshot().state == "disabled" and monitor.snapshot().sample is None


def test_temperature_prefers_the_cpu_chip_and_ignores_broken_sensors() -> None:
    chips = chip_temperatures(
        {
            "acpitz": [Sensor("", 41.0)],
            "nvme": [Sensor("Composite", 55.0)],
            "coretemp": [Sensor("Package id 0", 62.0), Sensor("Core 0", 60.0)],
            "broken": [Sensor("", -273.0), Sensor("", 511.0)],
        }
    )
    assert chips == {"acpitz": 41.0, "nvme": 55.0, "coretemp": 62.0}
    assert cpu_temperature(chips) == 62.0
    assert cpu_temperature({"acpitz": 41.0, "nvme": 55.0}) == 41.0
    assert cpu_temperature({"nvme": 55.0, "gpu": 70.0}) == 70.0
    assert cpu_temperature({}) is None
