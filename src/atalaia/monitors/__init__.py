"""The basic monitors of design note 002: host metrics, the ESP32 on a serial port, and camera
reachability. Each runs on its own daemon threads beside the pipeline, independent of alert
processing, and shares one small interface (`start()`, `stop(timeout)`, `running`,
`snapshot()`); `BasicMonitors` builds all three from `MonitorsConfig`.
"""

from atalaia.monitors.base import Monitor, MonitorSnapshot, ThreadedMonitor
from atalaia.monitors.camera_monitor import (
    CameraMonitor,
    CameraMonitorSnapshot,
    CameraReachability,
)
from atalaia.monitors.group import BasicMonitors
from atalaia.monitors.host_monitor import HostMonitor, HostSample, HostSnapshot
from atalaia.monitors.serial_monitor import SerialMonitor
from atalaia.monitors.serial_records import SerialSnapshot

__all__ = [
    "BasicMonitors",
    "CameraMonitor",
    "CameraMonitorSnapshot",
    "CameraReachability",
    "HostMonitor",
    "HostSample",
    "HostSnapshot",
    "Monitor",
    "MonitorSnapshot",
    "SerialMonitor",
    "SerialSnapshot",
    "ThreadedMonitor",
]
