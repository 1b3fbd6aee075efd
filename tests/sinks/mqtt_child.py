"""A process that runs an MQTT sink until killed (for the last-will test).

Usage: python -m tests.sinks.mqtt_child PREFIX PORT
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from atalaia.config.sinks import MqttSink as MqttConfig
from atalaia.sinks.base import SinkContext
from atalaia.sinks.mqtt import MqttSink
from atalaia.storage.db import Database


async def main(prefix: str, port: int) -> None:
    config = MqttConfig(type="mqtt", port=port, prefix=prefix, discovery=False)
    sink = MqttSink(config, "mqtt", SinkContext(Database("sqlite://"), Path(".")))
    await sink.start()
    print("ready" if sink.health()["connected"] else "not connected", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
