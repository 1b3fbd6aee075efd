"""The FindFace sink against a local server: multipart shape, a real JPEG, pooled connections."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from atalaia.config.sinks import FindfaceSink as FindfaceConfig
from atalaia.events.types import AlertEvent
from atalaia.sinks.base import DeliveryError, PermanentDeliveryError, SinkContext
from atalaia.sinks.findface import FindfaceSink
from atalaia.storage.db import Database
from tests.events.support import end_event, new_event
from tests.sinks.support import HttpRecorder, is_jpeg, write_jpeg


@pytest.fixture
def server() -> Iterator[HttpRecorder]:
    recorder = HttpRecorder(lambda _r: (200, {"id": 1}))
    yield recorder
    recorder.close()


def findface(db: Database, url: str, tmp_path: Path, **changes: Any) -> FindfaceSink:
    values: dict[str, Any] = dict(
        type="findface", base_url=url, token="ff-token-123", camera="ext-{camera}", timeout=5.0
    )
    values.update(changes)
    return FindfaceSink(FindfaceConfig(**values), "findface", SinkContext(db, tmp_path))


async def test_posts_the_snapshot_as_multipart_with_the_token(
    db: Database, server: HttpRecorder, tmp_path: Path
) -> None:
    jpeg = write_jpeg(tmp_path / "snaps" / "a.jpg")
    event = new_event("gate", snapshot_path="snaps/a.jpg", start_time=1_700_000_000.5)
    sink = findface(db, server.url, tmp_path, mf_selector="all")
    await sink.start()
    await sink.deliver(event)
    await sink.close()
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/events/faces/add/")
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    form = request.form()
    assert set(form) == {"fullframe", "token", "camera", "mf_selector", "timestamp"}
    filename, picture = form["fullframe"]
    assert filename == f"{event.id}.jpg" and picture == jpeg and is_jpeg(picture)
    assert form["token"][1] == b"ff-token-123"
    assert form["camera"][1] == b"ext-gate"
    assert form["mf_selector"][1] == b"all"
    assert datetime.fromisoformat(form["timestamp"][1].decode()).timestamp() == 1_700_000_000.5


async def test_field_names_come_from_the_config_and_png_becomes_jpeg(
    db: Database, server: HttpRecorder, tmp_path: Path
) -> None:
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "b.png"), np.full((32, 32, 3), 200, dtype=np.uint8))
    sink = findface(db, server.url, tmp_path, fields={"fullframe": "photo", "token": "key"})
    await sink.deliver(new_event(snapshot_path=str(tmp_path / "b.png")))
    await sink.close()
    form = server.requests[0].form()
    assert set(form) == {"photo", "key", "camera", "mf_selector", "timestamp"}
    assert is_jpeg(form["photo"][1])


async def test_one_pooled_connection_carries_many_events(
    db: Database, server: HttpRecorder, tmp_path: Path
) -> None:
    write_jpeg(tmp_path / "c.jpg")
    sink = findface(db, server.url, tmp_path)
    await sink.start()
    for _ in range(10):
        await sink.deliver(new_event(snapshot_path="c.jpg"))
    await sink.close()
    assert len(server.requests) == 10
    assert server.connections == 1 and {r.connection for r in server.requests} == {1}


async def test_only_new_pictures_of_wanted_labels_are_sent(
    db: Database, server: HttpRecorder, tmp_path: Path
) -> None:
    write_jpeg(tmp_path / "d.jpg")
    write_jpeg(tmp_path / "e.jpg")
    sink = findface(db, server.url, tmp_path, labels=["person"])
    first = new_event(snapshot_path="d.jpg")
    same = AlertEvent("update", after=first.after.evolve(score=0.5), before=first.after)
    changed = AlertEvent(
        "update", after=first.after.evolve(snapshot_path="e.jpg"), before=first.after
    )
    for event in (
        first,
        same,
        changed,
        end_event(first),
        new_event(),  # no snapshot
        new_event(label="car", snapshot_path="d.jpg"),
    ):
        await sink.deliver(event)
    await sink.close()
    assert len(server.requests) == 2 and (sink.sent, sink.skipped) == (2, 4)


async def test_missing_or_broken_snapshots_and_refusals(db: Database, tmp_path: Path) -> None:
    (tmp_path / "junk.jpg").write_bytes(b"not a picture")
    write_jpeg(tmp_path / "ok.jpg")
    answers = iter([(400, {"detail": "bad"}), (503, {})])
    server = HttpRecorder(lambda _r: next(answers))
    sink = findface(db, server.url, tmp_path)
    try:
        with pytest.raises(DeliveryError, match="not readable") as missing:
            await sink.deliver(new_event(snapshot_path="gone.jpg"))
        assert not isinstance(missing.value, PermanentDeliveryError)
        with pytest.raises(PermanentDeliveryError, match="not a picture"):
            await sink.deliver(new_event(snapshot_path="junk.jpg"))
        with pytest.raises(PermanentDeliveryError, match="HTTP 400"):
            await sink.deliver(new_event(snapshot_path="ok.jpg"))
        with pytest.raises(DeliveryError, match="HTTP 503") as unavailable:
            await sink.deliver(new_event(snapshot_path="ok.jpg"))
        assert not isinstance(unavailable.value, PermanentDeliveryError)
        assert "ff-token-123" not in str(sink.health())
    finally:
        await sink.close()
        server.close()
