"""A real app on a temporary SQLite database; alert processing only where a test asks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from atalaia.api.app import create_app
from atalaia.config import AtalaiaConfig, CameraConfig, SupervisorConfig
from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.logs import LogWriter
from atalaia.service.manager import BackgroundManager

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_config(
    tmp_path: Path, cameras: list[CameraConfig] | None = None, **server: Any
) -> AtalaiaConfig:
    return AtalaiaConfig.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "server": {"token": TOKEN, **server},
            "supervisor": SupervisorConfig(
                heartbeat_interval=0.3, heartbeat_timeout=10
            ).model_dump(),
            "detectors": {"default": OnnxDetectorConfig(input_size=320).model_dump()},
            "cameras": [c.model_dump(mode="json") for c in cameras or []],
        }
    )


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """Build a client; `processing=True` runs real camera and detector processes."""
    opened: list[tuple[TestClient, LogWriter | None]] = []

    def build(config: AtalaiaConfig | None = None, processing: bool = False) -> TestClient:
        config = config or make_config(tmp_path)
        writer = LogWriter(file=tmp_path / "atalaia.log", console=False) if processing else None
        manager = BackgroundManager(
            config, log_queue=writer.queue if writer else None, reconcile_interval=1.0
        )
        client = TestClient(create_app(config, manager))
        client.__enter__()
        opened.append((client, writer))
        return client

    yield build
    for client, writer in opened:
        client.__exit__(None, None, None)
        if writer is not None:
            writer.stop()
