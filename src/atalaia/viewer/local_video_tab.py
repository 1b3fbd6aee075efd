"""The "Local video" tab: open a file or a camera device, see it analysed by the service."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from atalaia.viewer.local_video import LocalVideoSender
from atalaia.viewer.threads import keep_until_finished

VIDEO_FILTER = "Videos (*.mp4 *.mkv *.avi *.mov *.webm *.y4m);;All files (*)"


class LocalVideoTab(QWidget):
    """Source, buffer size and frames in flight (note 000's knobs), the annotated picture."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__()
        self.url, self._token = url, token
        self.video_sender: LocalVideoSender | None = None
        self.frames_shown = 0
        self.source = QLineEdit()
        self.source.setPlaceholderText("video file, or a camera device: 0, /dev/video0")
        browse = QPushButton("Open file…")
        browse.clicked.connect(self._browse)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.toggle)
        self.buffer_size = QSpinBox(minimum=1, maximum=30, value=2, prefix="buffer ")
        self.in_flight = QSpinBox(minimum=1, maximum=8, value=2, prefix="in flight ")
        self.loop = QCheckBox("loop file")
        self.loop.setChecked(True)
        controls = QHBoxLayout()
        for widget in (self.source, browse, self.buffer_size, self.in_flight, self.loop):
            controls.addWidget(widget)
        controls.addWidget(self.start_button)
        self.picture = QLabel("open a video file or a camera device")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setStyleSheet("background: #111; color: #bbb;")
        self.state = QLabel("")
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.state)
        self._stats_timer = QTimer(self, interval=1000)
        self._stats_timer.timeout.connect(self._show_stats)
        self._state_text = ""

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a video", "", "Videos (*.mp4 *.mkv *.avi *.mov *.webm);;All files (*)"
        )
        if path:
            self.source.setText(path)

    def toggle(self) -> None:
        if self.video_sender is None:
            self.start(self.source.text().strip())
        else:
            self.stop()

    def start(self, source: str) -> None:
        if not source or self.video_sender is not None:
            return
        self.source.setText(source)
        sender = LocalVideoSender(
            self.url,
            self._token,
            source,
            buffer_size=self.buffer_size.value(),
            max_in_flight=self.in_flight.value(),
            loop=self.loop.isChecked(),
        )
        sender.set_target_size(self.picture.size())
        sender.frame_ready.connect(self._paint)
        sender.state_changed.connect(self._state)
        keep_until_finished(sender)
        self.video_sender = sender
        sender.start()
        self._stats_timer.start()
        self.start_button.setText("Stop")

    def stop(self) -> None:
        if self.video_sender is not None:
            self.video_sender.stop()
            self.video_sender = None
        self._stats_timer.stop()
        self.start_button.setText("Start")

    def _paint(self) -> None:
        sender = self.video_sender
        image = sender.slot.take() if sender is not None else None
        if image is not None:
            self.picture.setPixmap(QPixmap.fromImage(image))
            self.frames_shown += 1

    def _state(self, text: str) -> None:
        self._state_text = text
        self._show_stats()

    def _show_stats(self) -> None:
        if self.video_sender is None:
            self.state.setText(self._state_text)
            return
        s = self.video_sender.stats()
        self.state.setText(
            f"{self._state_text} · read {s.read} · dropped {s.dropped} · sent {s.sent}"
            f" · answered {s.answered} · refused {s.errors} · in flight {s.in_flight}"
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.video_sender is not None:
            self.video_sender.set_target_size(self.picture.size())
