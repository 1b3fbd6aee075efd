"""A sink type that atalaia does not ship, registered by a deployment before loading its config.

The plugin below is all a deployment writes: its config model and its implementation, in one
file, registered together. Once registered, `atalaia config check` accepts `type: collect`
(through the real CLI, in a process of its own) and the outbox delivers alerts to it through
the real dispatcher, exactly as to a built-in sink.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import Field, SecretStr

from atalaia.config.errors import ConfigError
from atalaia.config.loader import load_config
from atalaia.config.sinks import SINK_PLUGINS, SinkBase
from atalaia.events.service import OutboxService, enabled_sink_names
from atalaia.events.types import AlertEvent
from atalaia.sinks import register_sink_type
from atalaia.sinks.base import DeliveryError, SinkContext
from atalaia.storage.db import Database
from tests.events.support import end_event, new_event, record, wait_until

REPO = Path(__file__).resolve().parents[2]
TOKEN = "collect-token-5ecr3t"


# -- the plugin: what a deployment writes ------------------------------------------------


class CollectSinkConfig(SinkBase):
    """Appends each event as a JSON line to `path`; `labels` limits which alerts go."""

    type: Literal["collect"]
    path: Path
    labels: list[str] = Field(default_factory=list)
    token: SecretStr | None = None


class CollectSink:
    """Writes every event it is given to a JSON-lines file (the destination)."""

    def __init__(self, config: CollectSinkConfig, name: str, context: SinkContext) -> None:
        self.name = name
        self.config = config
        self.delivered = 0

    async def start(self) -> None:
        self.config.path.parent.mkdir(parents=True, exist_ok=True)

    async def deliver(self, event: AlertEvent) -> None:
        if self.config.labels and event.after.label not in self.config.labels:
            return
        try:
            with self.config.path.open("a") as out:
                out.write(json.dumps({"id": event.id, "type": event.type}) + "\n")
        except OSError as exc:
            raise DeliveryError(f"cannot append to {self.config.path}: {exc}") from None
        self.delivered += 1

    async def close(self) -> None:
        return None

    def health(self) -> dict[str, Any]:
        return {"connected": True, "delivered": self.delivered}


def register() -> None:
    register_sink_type(CollectSinkConfig)(CollectSink)


# -- the tests -------------------------------------------------------------------------


@pytest.fixture
def collect_registered() -> Iterator[None]:
    register()
    try:
        yield
    finally:
        SINK_PLUGINS.unregister("collect")


def config_file(tmp_path: Path, events: Path) -> Path:
    path = tmp_path / "atalaia.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            data_dir: {tmp_path / "data"}
            sinks:
              - type: collect
                name: lines
                path: {events}
                token: {TOKEN}
                backoff_initial: 0.05
                timeout: 2
            """
        )
    )
    return path


def config_check(path: Path, *, registered: bool) -> subprocess.CompletedProcess[str]:
    """`atalaia config check PATH` in a new interpreter; with `registered`, the deployment's
    start-up script registers the plugin first, then hands over to the real CLI."""
    setup = "from tests.sinks.test_out_of_tree_sink import register; register(); " * registered
    code = f"import sys; {setup}from atalaia.cli.main import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, "config", "check", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_config_check_accepts_a_registered_sink_type(tmp_path: Path) -> None:
    path = config_file(tmp_path, tmp_path / "events.jsonl")
    unknown = config_check(path, registered=False)
    assert unknown.returncode == 2, unknown.stdout + unknown.stderr
    refused = unknown.stdout + unknown.stderr
    assert str(path) in refused and "sinks[0].type" in refused and "'collect'" in refused
    assert "'webhook'" in refused  # the error lists the known types

    checked = config_check(path, registered=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"# {path}: valid" in checked.stdout
    assert "type: collect" in checked.stdout and "name: lines" in checked.stdout
    assert TOKEN not in checked.stdout  # its secret is masked like a built-in sink's


def test_unknown_keys_of_a_registered_sink_are_named(
    tmp_path: Path, collect_registered: None
) -> None:
    path = config_file(tmp_path, tmp_path / "events.jsonl")
    path.write_text(path.read_text() + "    pathh: /tmp/x\n")
    with pytest.raises(ConfigError, match=r"sinks\[0\]\.pathh .*did you mean 'path'"):
        load_config(path, env={})


async def test_a_registered_sink_receives_alerts_through_the_outbox(
    tmp_path: Path, sqlite_db: Database, collect_registered: None
) -> None:
    events_file = tmp_path / "out" / "events.jsonl"
    config = load_config(config_file(tmp_path, events_file), env={})
    assert [type(s).__name__ for s in config.sinks] == ["DatabaseSinkConfig", "CollectSinkConfig"]
    outbox = OutboxService.from_config(config, sqlite_db)
    sink = outbox.dispatchers["lines"].sink
    assert isinstance(sink, CollectSink)
    await outbox.start()
    try:
        first = new_event("gate")
        events = [first, new_event("dock"), end_event(first)]
        record(sqlite_db, events, enabled_sink_names(config))
        outbox.wake()
        await wait_until(lambda: sink.delivered == len(events), 20, "three deliveries")
        status = outbox.dispatchers["lines"].status()
        assert status["state"] == "running" and status["sink"]["delivered"] == len(events)
    finally:
        await outbox.stop()
    lines = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert sorted(line["id"] for line in lines) == sorted(e.id for e in events)
    assert sorted(line["type"] for line in lines) == ["end", "new", "new"]
