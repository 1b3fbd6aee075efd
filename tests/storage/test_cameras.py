"""Camera writes, reads and deletes, with the version a reconciler watches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from atalaia.storage.cameras import delete_camera, get_camera, list_cameras, upsert_camera
from atalaia.storage.db import Database
from atalaia.storage.models import Alert, Camera, Rule, Zone
from tests.storage.conftest import T0
from tests.storage.helpers import make_alert

URL = "rtsp://admin:pw@10.0.0.5/stream1"


def _zone(name: str, x: float = 0.5) -> Zone:
    return Zone(name=name, points=[[0.0, 0.0], [x, 0.0], [x, 1.0]], relative=True)


def _count(db: Database, model: type[object]) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_create_then_read_back(db: Database) -> None:
    with db.session() as session:
        upsert_camera(
            session,
            "front-door",
            name="Front door",
            source_url=URL,
            config={"detect": {"fps": 5}},
            zones=[_zone("porch")],
            rules=[Rule(name="no-people", type="zone_presence", config={"labels": ["person"]})],
            now=T0,
        )
    with db.session() as session:
        camera = get_camera(session, "front-door")
    assert camera is not None
    assert (camera.name, camera.source_url, camera.enabled) == ("Front door", URL, True)
    assert camera.config == {"detect": {"fps": 5}}
    assert camera.version == 1
    assert camera.created_at == camera.updated_at == T0
    assert [(z.name, z.relative, z.anchor, z.inertia) for z in camera.zones] == [
        ("porch", True, "bottom_center", 3)
    ]
    assert [(r.name, r.type, r.enabled) for r in camera.rules] == [
        ("no-people", "zone_presence", True)
    ]
    assert "pw" not in repr(camera)


def test_version_grows_only_when_something_changes(db: Database) -> None:
    def upsert(
        config: dict[str, int] | None = None,
        enabled: bool = True,
        zones: list[Zone] | None = None,
        rules: list[Rule] | None = None,
    ) -> int:
        with db.session() as session:
            camera = upsert_camera(
                session,
                "yard",
                name="Yard",
                source_url=URL,
                config=config or {"a": 1},
                enabled=enabled,
                zones=zones,
                rules=rules,
                now=T0 + timedelta(minutes=1),
            )
            return camera.version

    assert upsert() == 1
    assert upsert() == 1
    assert upsert(config={"a": 2}) == 2
    assert upsert(config={"a": 2}, enabled=False) == 3
    assert upsert(config={"a": 2}, enabled=False, zones=[_zone("lawn")]) == 4
    assert upsert(config={"a": 2}, enabled=False, zones=[_zone("lawn")]) == 4
    assert upsert(config={"a": 2}, enabled=False, zones=[_zone("lawn", x=0.7)]) == 5
    assert upsert(config={"a": 2}, enabled=False, rules=[Rule(name="r", type="loiter")]) == 6
    with db.session() as session:
        camera = get_camera(session, "yard")
    assert camera is not None
    assert camera.updated_at == T0 + timedelta(minutes=1)
    assert camera.zones[0].points == [[0.0, 0.0], [0.7, 0.0], [0.7, 1.0]]


def test_replacing_zones_keeps_unchanged_rows_and_drops_missing_ones(db: Database) -> None:
    with db.session() as session:
        camera = upsert_camera(
            session,
            "gate",
            name="Gate",
            source_url=URL,
            config={},
            zones=[_zone("a"), _zone("b")],
        )
        ids = {zone.name: zone.id for zone in camera.zones}
    with db.session() as session:
        camera = upsert_camera(
            session,
            "gate",
            name="Gate",
            source_url=URL,
            config={},
            zones=[_zone("a", x=0.9), _zone("c")],
        )
    with db.session() as session:
        zones = {zone.name: zone for zone in session.scalars(select(Zone))}
    assert set(zones) == {"a", "c"}
    assert zones["a"].id == ids["a"]
    assert zones["a"].points[1] == [0.9, 0.0]


def test_duplicate_zone_names_are_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="duplicate"), db.session() as session:
        upsert_camera(
            session, "gate", name="Gate", source_url=URL, config={}, zones=[_zone("a")] * 2
        )


@pytest.mark.parametrize("camera_id", ["", "a/b", "cam#1", "-x", "x" * 65, "cam 1"])
def test_camera_ids_that_break_topics_or_paths_are_refused(db: Database, camera_id: str) -> None:
    with pytest.raises(ValueError, match="invalid camera id"), db.session() as session:
        upsert_camera(session, camera_id, name="x", source_url=URL, config={})


def test_list_cameras_in_id_order_and_filter_enabled(db: Database) -> None:
    with db.session() as session:
        for camera_id, enabled in [("c", True), ("a", False), ("b", True)]:
            upsert_camera(
                session, camera_id, name=camera_id, source_url=URL, config={}, enabled=enabled
            )
    with db.session() as session:
        assert [c.id for c in list_cameras(session)] == ["a", "b", "c"]
        assert [c.id for c in list_cameras(session, enabled_only=True)] == ["b", "c"]


def test_delete_cascades_to_zones_and_rules_but_keeps_alerts(db: Database) -> None:
    with db.session() as session:
        for camera_id in ("gone", "kept"):
            upsert_camera(
                session,
                camera_id,
                name=camera_id,
                source_url=URL,
                config={},
                zones=[_zone("z1"), _zone("z2")],
                rules=[Rule(name="r1", type="loiter")],
            )
        session.add(make_alert("gone"))
    with db.session() as session:
        assert delete_camera(session, "gone") is True
        assert delete_camera(session, "gone") is False
    with db.session() as session:
        assert get_camera(session, "gone") is None
        assert len(session.scalars(select(Zone)).all()) == 2
        assert len(session.scalars(select(Rule)).all()) == 1
        assert session.scalars(select(Alert.camera_id)).all() == ["gone"]


def test_the_database_itself_cascades_deletes(db: Database) -> None:
    """A delete that bypasses the ORM still removes children: foreign keys are enforced."""
    with db.session() as session:
        upsert_camera(
            session,
            "cam",
            name="cam",
            source_url=URL,
            config={},
            zones=[_zone("z")],
            rules=[Rule(name="r", type="loiter")],
        )
    with db.engine.begin() as connection:
        connection.execute(delete(Camera))
    assert _count(db, Zone) == 0
    assert _count(db, Rule) == 0
