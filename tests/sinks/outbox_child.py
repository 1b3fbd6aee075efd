"""A process that owns pending deliveries: the outbox with one webhook sink, until killed.

Usage: python -m tests.sinks.outbox_child DATABASE_URL WEBHOOK_URL
"""

from __future__ import annotations

import asyncio
import sys

from atalaia.config.sinks import OutboxConfig, WebhookSink
from atalaia.events.dispatcher import DispatchSettings, OutboxDispatcher
from atalaia.events.service import OutboxService
from atalaia.sinks.base import SinkContext
from atalaia.sinks.registry import build_sink
from atalaia.storage.db import Database

# A short lease: the rows a killed process had claimed come back quickly.
SETTINGS = DispatchSettings(poll_interval=0.1, batch_size=20, lease=2.0)


async def main(database_url: str, webhook_url: str) -> None:
    database = Database(database_url)
    config = WebhookSink(
        type="webhook", url=webhook_url, timeout=0.5, backoff_initial=0.1, backoff_max=0.5
    )
    sink = build_sink(config, "hook", SinkContext(database))
    service = OutboxService(
        database, [OutboxDispatcher(database, sink, config, SETTINGS)], OutboxConfig()
    )
    await service.start()
    print("running", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
