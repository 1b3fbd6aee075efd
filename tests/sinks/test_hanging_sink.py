"""A sink whose server accepts connections and never answers holds up nobody else."""

from __future__ import annotations

import time
from pathlib import Path

from atalaia.config.app import AtalaiaConfig
from atalaia.events.service import OutboxService, enabled_sink_names
from atalaia.storage.db import Database
from tests.events.support import new_event, record, wait_until
from tests.sinks.support import HttpRecorder, SilentServer

ALERTS = 30


async def test_hung_frigate_and_mqtt_do_not_delay_the_webhook_or_database(
    db: Database, tmp_path: Path
) -> None:
    silent = SilentServer()
    silent_port = await silent.start()
    webhook = HttpRecorder()
    config = AtalaiaConfig.model_validate(
        {
            "data_dir": str(tmp_path),
            "cameras": [],
            "outbox": {"poll_interval": 0.1},
            "sinks": [
                {"type": "frigate", "base_url": f"http://127.0.0.1:{silent_port}", "timeout": 1},
                {"type": "mqtt", "port": silent_port, "timeout": 1, "discovery": False},
                {"type": "webhook", "url": webhook.url, "timeout": 1},
                {"type": "webhook", "name": "off", "url": webhook.url, "enabled": False},
            ],
        }
    )
    names = enabled_sink_names(config)
    assert names == ["database", "frigate", "mqtt", "webhook"]
    record(db, [new_event(f"cam{i % 3}") for i in range(ALERTS)], names)
    service = OutboxService.from_config(config, db)
    started = time.monotonic()
    try:
        await service.start()
        service.wake()
        await wait_until(lambda: len(webhook.requests) == ALERTS, 30, "the webhook")
        await wait_until(
            lambda: service.dispatchers["database"].stats.delivered == ALERTS, 30, "database"
        )
        elapsed = time.monotonic() - started
        for hung in ("frigate", "mqtt"):
            await wait_until(lambda h=hung: service.dispatchers[h].stats.failed >= 1, 30, hung)
        status = service.status()
        handlers = service.handlers_status()
    finally:
        await service.stop(timeout=2.0)
        await silent.close()
        webhook.close()
    # With 3 cameras the hung sinks each sat through >= 1 timeout of 3 s while the webhook and
    # database were done; loose bound for a noisy machine.
    assert elapsed < 20
    assert silent.accepted >= 2
    assert status["webhook"]["delivered"] == ALERTS and status["frigate"]["delivered"] == 0
    assert handlers == {
        "database": "active",
        "frigate": "failing",
        "mqtt": "failing",
        "webhook": "active",
    }
    assert "off" not in status
