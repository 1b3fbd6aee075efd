"""Alerts through the durable outbox: how fast they are committed and delivered, and what the
durability costs against publishing straight to the broker.

Scenarios, each on SQLite (a file, WAL) and on PostgreSQL (a throwaway database):

  commit/1      record_alert_event + commit, one transaction per alert (as a camera process
                does: an alert is durable before anyone is told about it).
  commit/50     the same alerts, 50 per transaction: the baseline batched writes would give.
  drain         a backlog of N committed alerts (4 cameras) delivered by one OutboxDispatcher
                to the real Mosquitto through the MQTT sink (QoS 1, each event acknowledged).
  live          alerts produced at a steady rate (commit, then wake()), delivered as they come;
                latency is event creation -> broker acknowledgement.
  direct        the same MQTT sink called straight, without the outbox (no durability): the
                ceiling the outbox is compared with.

Reported: alerts/s, latency p50/p99 (commit time for commit/*, creation -> PUBACK for the
others), CPU of this process per alert (user+sys; PostgreSQL's own server CPU is not counted),
and the process's peak RSS.

Run from the repository root (needs Mosquitto on 127.0.0.1:1883, PostgreSQL on :5432):
  .venv/bin/python -m bench.outbox [--alerts N] [--rate R] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from atalaia.config.sinks import MqttSink as MqttConfig
from atalaia.events.dispatcher import DispatchSettings, OutboxDispatcher
from atalaia.events.recorder import record_alert_event
from atalaia.events.stats import percentile
from atalaia.events.types import AlertEvent, AlertState, new_id
from atalaia.sinks.base import SinkContext
from atalaia.sinks.mqtt import MqttSink
from atalaia.storage.db import Database, default_sqlite_url

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CAMERAS = 4
SINKS = ["mqtt"]


@dataclass
class Row:
    backend: str
    scenario: str
    alerts: int
    seconds: float
    latencies: list[float]
    cpu_s: float

    def cells(self) -> list[str]:
        p50 = percentile(self.latencies, 0.5)
        p99 = percentile(self.latencies, 0.99)
        return [
            self.backend,
            self.scenario,
            str(self.alerts),
            f"{self.alerts / self.seconds:,.0f}",
            f"{p50 * 1000:.1f}" if p50 is not None else "-",
            f"{p99 * 1000:.1f}" if p99 is not None else "-",
            f"{self.cpu_s / self.alerts * 1e6:,.0f}",
            f"{peak_rss_mib():.0f}",
        ]


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def event(camera: str) -> AlertEvent:
    state = AlertState(
        id=new_id(),
        camera=camera,
        label="person",
        rule="intrusion",
        rule_type="object_in_zone",
        zone="dock",
        score=0.8,
        top_score=0.9,
        box=(10.0, 20.0, 30.0, 40.0),
        track_id=1,
        start_time=time.time(),
    )
    return AlertEvent("new", after=state, created_at=time.time())


def commit(db: Database, events: list[AlertEvent], per_transaction: int) -> list[float]:
    """Commit `events`, `per_transaction` to a transaction; returns each commit's latency."""
    latencies = []
    for start in range(0, len(events), per_transaction):
        began = time.perf_counter()
        with db.session() as session:
            for e in events[start : start + per_transaction]:
                record_alert_event(session, e, SINKS)
        latencies.append(time.perf_counter() - began)
    return latencies


def mqtt_sink(db: Database, prefix: str) -> tuple[MqttSink, MqttConfig]:
    config = MqttConfig(type="mqtt", prefix=prefix, discovery=False, snapshots=False)
    return MqttSink(config, "mqtt", SinkContext(db)), config


async def drain(db: Database, n: int, prefix: str) -> Row:
    events = [event(f"cam{i % CAMERAS}") for i in range(n)]
    commit(db, events, 100)
    if not db.is_sqlite:
        # What autovacuum does within a minute of such a burst; the claim query's plan on a
        # never-analysed table is ten times slower (see docs/benchmarks.md).
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE deliveries, alert_events")
    sink, config = mqtt_sink(db, prefix)
    dispatcher = OutboxDispatcher(db, sink, config, DispatchSettings(poll_interval=0.05))
    began, cpu0 = time.perf_counter(), cpu()
    await dispatcher.start()
    while dispatcher.stats.delivered < n:
        await asyncio.sleep(0.01)
    seconds, used = time.perf_counter() - began, cpu() - cpu0
    await dispatcher.stop()
    # The backlog's events were created before the drain: report service time, not age.
    return Row("", "drain", n, seconds, [], used)


async def live(db: Database, n: int, rate: float, prefix: str) -> Row:
    sink, config = mqtt_sink(db, prefix)
    dispatcher = OutboxDispatcher(db, sink, config, DispatchSettings(poll_interval=1.0))
    await dispatcher.start()
    began, cpu0 = time.perf_counter(), cpu()
    for i in range(n):
        due = began + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await asyncio.to_thread(commit, db, [event(f"cam{i % CAMERAS}")], 1)
        dispatcher.wake()
    while dispatcher.stats.delivered < n:
        await asyncio.sleep(0.005)
    seconds, used = time.perf_counter() - began, cpu() - cpu0
    latencies = list(dispatcher.stats.latencies)[-n:]
    await dispatcher.stop()
    return Row("", f"live@{rate:g}/s", n, seconds, latencies, used)


async def direct(db: Database, n: int, prefix: str) -> Row:
    sink, _ = mqtt_sink(db, prefix)
    await sink.start()
    events = [event(f"cam{i % CAMERAS}") for i in range(n)]
    began, cpu0 = time.perf_counter(), cpu()
    latencies = []
    for chunk in range(0, n, CAMERAS):  # one in flight per camera, as the dispatcher does
        batch = events[chunk : chunk + CAMERAS]
        sent = time.perf_counter()
        await asyncio.gather(*(sink.deliver(e) for e in batch))
        latencies += [time.perf_counter() - sent] * len(batch)
    seconds, used = time.perf_counter() - began, cpu() - cpu0
    await sink.close()
    return Row("", "direct (no outbox)", n, seconds, latencies, used)


@contextmanager
def sqlite_database() -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(default_sqlite_url(Path(tmp)))
        db.migrate()
        yield db
        db.dispose()


@contextmanager
def postgres_database() -> Iterator[Database]:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"atalaia_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    try:
        db.migrate()
        yield db
    finally:
        db.dispose()
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def run_backend(
    backend: str, opener: Callable[[], Any], n: int, rate: float, live_n: int
) -> list[Row]:
    rows: list[Row] = []
    prefix = f"atalaia-bench-{uuid.uuid4().hex[:6]}"
    for per_tx in (1, 50):
        with opener() as db:
            events = [event(f"cam{i % CAMERAS}") for i in range(n)]
            began, cpu0 = time.perf_counter(), cpu()
            latencies = commit(db, events, per_tx)
            rows.append(
                Row(
                    backend,
                    f"commit/{per_tx}",
                    n,
                    time.perf_counter() - began,
                    latencies,
                    cpu() - cpu0,
                )
            )
    for scenario in ("drain", "live", "direct"):
        with opener() as db:
            if scenario == "drain":
                row = asyncio.run(drain(db, n, prefix))
            elif scenario == "live":
                row = asyncio.run(live(db, live_n, rate, prefix))
            else:
                row = asyncio.run(direct(db, n, prefix))
        row.backend = backend
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--live-alerts", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="live alerts per second")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    rows = run_backend("sqlite", sqlite_database, args.alerts, args.rate, args.live_alerts)
    if not args.skip_postgres:
        rows += run_backend(
            "postgresql", postgres_database, args.alerts, args.rate, args.live_alerts
        )
    header = [
        "backend",
        "scenario",
        "alerts",
        "alerts/s",
        "p50 ms",
        "p99 ms",
        "CPU µs/alert",
        "peak RSS MiB",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row.cells()) + " |")


if __name__ == "__main__":
    main()
