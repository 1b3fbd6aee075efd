"""Alerts keep reaching MQTT when a node is killed with -9 in the middle of a burst.

Three real nodes share the outbox (every node's dispatchers claim deliveries with `FOR UPDATE
SKIP LOCKED`). The burst is written the way a camera process writes it (`AlertRecorder`: the
alert, its event and one pending delivery per sink in one transaction) from this process, so
the test knows exactly which events were committed; a real subscriber on the local Mosquitto
counts what arrives. Every committed event must arrive; a repeat may only carry the same id.

The outbox lease is a minute (twice the sink's three timeouts); the killed node's claims must
not wait it out: the survivors make them due once its heartbeat is a camera lease old (10 s).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import paho.mqtt.client as mqtt

from atalaia.events.types import AlertEvent
from atalaia.pipeline.alert_recorder import AlertRecorder
from atalaia.storage import Database
from tests.cluster.support import camera_entries, cluster_nodes, running_cameras, wait_for
from tests.conftest import require_service
from tests.pipeline.test_alert_recorder import state

BURST = 150


class Subscriber:
    """A QoS 1 subscriber that counts every event id it receives."""

    def __init__(self, topic: str) -> None:
        self.ids: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        assert self._ready.wait(10), "could not subscribe to Mosquitto"

    def _message(self, _client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        event_id = json.loads(message.payload)["id"]
        with self._lock:
            self.ids[event_id] += 1

    def received(self) -> Counter[str]:
        with self._lock:
            return Counter(self.ids)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_every_alert_reaches_mqtt_through_a_kill_9(
    tmp_path: Path, cluster_db_url: str, video: Path
) -> None:
    require_service("Mosquitto", "127.0.0.1", 1883)
    prefix = f"atalaia-cluster-{uuid.uuid4().hex[:10]}"
    sink = {"type": "mqtt", "prefix": prefix, "discovery": False, "snapshots": False}
    subscriber = Subscriber(f"{prefix}/events")
    database = Database(cluster_db_url)
    recorder: AlertRecorder | None = None
    cameras = camera_entries(video, 3)
    try:
        with cluster_nodes(tmp_path, cluster_db_url, cameras, extra_sinks=[sink]) as nodes:
            for node in nodes:
                node.start()
            assert wait_for(lambda: all(running_cameras(n) is not None for n in nodes), 120), (
                "\n".join(n.tail() for n in nodes)
            )
            recorder = AlertRecorder(database, ["database", "mqtt"], retry_initial=0.1).start()
            committed: list[str] = []
            recorder.on_committed = lambda event: committed.append(event.id)
            sent = []
            for i in range(BURST):
                alert = state(f"{i:032x}", camera=f"cam{i % 3:02d}")
                event = AlertEvent("new", after=alert, created_at=time.time())
                sent.append(event.id)
                recorder.submit(event)
                if i == BURST // 3:
                    nodes[0].kill()  # mid-burst, with deliveries in flight on every node
                time.sleep(0.02)
            assert wait_for(lambda: len(committed) == BURST, 30)
            # Well under the one-minute outbox lease the killed node's claims were taken for.
            everything = wait_for(lambda: set(sent) <= set(subscriber.received()), 40)
            received = subscriber.received()
            missing = set(sent) - set(received)
            assert everything, f"{len(missing)} of {BURST} events never reached MQTT"
            assert set(received) == set(sent)  # nothing but the burst, under its own ids
            repeats = sum(received.values()) - len(received)
            print(f"{BURST} events delivered through a kill -9; {repeats} repeated (same id)")
    finally:
        if recorder is not None:
            recorder.close()
        subscriber.close()
        database.dispose()
