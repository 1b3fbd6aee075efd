"""Alerts as they happen: snapshot, camera, rule, zone and time, newest on top.

Clicking an alert plays its clip (`ClipPlayer`); Space or A acknowledges the selected
alert. The service has no acknowledgement route yet, so acknowledgement is the viewer's own:
it greys the alert out and stops counting it among the unacknowledged ones.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from atalaia.viewer.service_poller import AlertItem

MAX_ALERTS = 500  # the list is a live view, not the archive (the web console has that)
ALERT_ROLE = Qt.ItemDataRole.UserRole
ACK_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_A)


def alert_text(alert: AlertItem) -> str:
    when = alert.start_time.astimezone().strftime("%H:%M:%S")
    zone = f" · zone {alert.zone}" if alert.zone else ""
    clip = " · ▶ clip" if alert.has_clip else ""
    return f"{when}  {alert.camera}\n{alert.rule} · {alert.label}{zone}{clip}"


class AlertList(QListWidget):
    """The list itself; acknowledges the selected alert on Space or A."""

    acknowledged = Signal(str)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        item = self.currentItem()
        if item is not None and event.key() in ACK_KEYS:
            alert: AlertItem = item.data(ALERT_ROLE)
            if not item.text().startswith("✓ "):
                item.setText("✓ " + item.text())
                item.setForeground(QColor("#888"))
                self.acknowledged.emit(alert.id)
            return
        super().keyPressEvent(event)


class AlertsPanel(QWidget):
    """Header with the count of unacknowledged alerts, and the list."""

    clip_requested = Signal(object)  # AlertItem

    def __init__(self) -> None:
        super().__init__()
        self.header = QLabel("Alerts")
        self.list = AlertList()
        self.list.setIconSize(QSize(96, 72))
        self.list.setObjectName("alerts")
        self.shown: dict[str, float] = {}  # alert id -> time.time() it appeared in the list
        self.acknowledged: set[str] = set()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(self.list, 1)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        self.list.acknowledged.connect(self._acknowledge)
        self._update_header()

    def add_alerts(self, alerts: list[AlertItem], now: float) -> None:
        for alert in alerts:
            if alert.id in self.shown:
                continue
            item = QListWidgetItem(alert_text(alert))
            item.setData(ALERT_ROLE, alert)
            if alert.snapshot is not None:
                item.setIcon(QIcon(QPixmap.fromImage(alert.snapshot)))
            self.list.insertItem(0, item)
            self.shown[alert.id] = now
        while self.list.count() > MAX_ALERTS:
            self.list.takeItem(self.list.count() - 1)
        self._update_header()

    def _activated(self, item: QListWidgetItem) -> None:
        # A clip is written after the alert ends: what was clip-less when it arrived may have
        # one now, so always ask; the player says when there is none yet.
        self.clip_requested.emit(item.data(ALERT_ROLE))

    def _acknowledge(self, alert_id: str) -> None:
        self.acknowledged.add(alert_id)
        self._update_header()

    def _update_header(self) -> None:
        waiting = len(self.shown) - len(self.acknowledged)
        self.header.setText(
            f"<b>Alerts</b> · {waiting} unacknowledged (select, then Space or A to acknowledge)"
        )
