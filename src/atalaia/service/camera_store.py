"""Cameras in the database, as the rest of the service sees them: `CameraConfig` objects.

The camera row keeps the whole validated configuration as JSON (the source of truth) and
mirrors its zones and rules into their own rows for queries. The YAML configuration seeds the
table once, on the installation's first start (recorded in the database's settings); after that
the database (changed through the API) is what runs.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from atalaia.config import AtalaiaConfig, CameraConfig
from atalaia.redact import MASK, mask_url
from atalaia.storage.cameras import delete_camera, get_camera, list_cameras, upsert_camera
from atalaia.storage.db import Database
from atalaia.storage.models import Camera, Rule, Zone
from atalaia.storage.settings import CAMERAS_SEEDED, claim_setting, get_setting

# The file older versions kept in the data directory to record the seeding; read on upgrade.
SEED_MARKER = "cameras_seeded"


def to_config(row: Camera) -> CameraConfig:
    return CameraConfig.model_validate({**row.config, "id": row.id, "enabled": row.enabled})


def save(database: Database, camera: CameraConfig) -> int:
    """Create or replace a camera; returns its version (bumped only when something changed)."""
    with database.session() as session:
        return _store(session, camera).version


def _store(session: Session, camera: CameraConfig) -> Camera:
    zones = [
        Zone(
            name=z.name,
            points=[list(p) for p in z.points],
            relative=z.is_relative,
            anchor=z.anchor,
            inertia=z.inertia,
            config=z.model_dump(mode="json"),
        )
        for z in camera.zones
    ]
    rules = [
        Rule(name=name, type=r.type, config=r.model_dump(mode="json"), enabled=r.enabled)
        for name, r in zip(camera.rule_names(), camera.rules, strict=True)
    ]
    return upsert_camera(
        session,
        camera.id,
        name=camera.name or camera.id,
        source_url=camera.source.url,
        config=camera.model_dump(mode="json"),
        enabled=camera.enabled,
        zones=zones,
        rules=rules,
    )


def load(database: Database, camera_id: str) -> CameraConfig | None:
    with database.session() as session:
        row = get_camera(session, camera_id)
        return to_config(row) if row is not None else None


def load_all(database: Database, *, enabled_only: bool = False) -> list[CameraConfig]:
    """Every stored camera that still validates; one that no longer does (say, after an
    upgrade tightened a rule) is skipped rather than stopping every other camera."""
    with database.session() as session:
        rows = list_cameras(session, enabled_only=enabled_only)
        out = []
        for row in rows:
            try:
                out.append(to_config(row))
            except ValidationError:
                continue
        return out


def remove(database: Database, camera_id: str) -> bool:
    with database.session() as session:
        return delete_camera(session, camera_id)


def seed_from_config(database: Database, config: AtalaiaConfig) -> int:
    """On the installation's first start, copy the configuration's cameras into the database.

    That seeding happened is recorded in the database, in the same transaction as the
    cameras, so cameras deleted through the API do not come back at the next start, and
    neither a new data directory pointed at the database nor a second node sharing it seeds
    again. An installation from before keeps its answer: the marker file older versions left in
    the data directory, or cameras already in the table, count as seeded.
    """
    legacy_marker = Path(config.data_dir) / SEED_MARKER
    with database.session() as session:
        if get_setting(session, CAMERAS_SEEDED) is not None:
            return 0
        if legacy_marker.exists():
            claim_setting(session, CAMERAS_SEEDED, "marker file found in the data directory")
            return 0
        if session.scalar(select(Camera.id).limit(1)) is not None:
            claim_setting(session, CAMERAS_SEEDED, "cameras already in the database")
            return 0
        note = f"{len(config.cameras)} camera(s) copied from the configuration"
        if not claim_setting(session, CAMERAS_SEEDED, note):
            return 0  # another node seeded meanwhile
        for camera in config.cameras:
            _store(session, camera)
        return len(config.cameras)


def keep_masked_password(new_url: str, old_url: str | None) -> str:
    """An edit that sends back the masked URL it was shown keeps the stored password.

    The API never reveals passwords, so a client that edits another field returns
    `rtsp://admin:***@host/...`; storing `***` would break the camera.
    """
    if old_url is None:
        return new_url
    new, old = urlsplit(new_url), urlsplit(old_url)
    if new.password != MASK or old.password is None:
        return new_url
    if (new.username, new.hostname, new.port) != (old.username, old.hostname, old.port):
        return new_url
    netloc = old.netloc if new.netloc == urlsplit(mask_url(old_url)).netloc else new.netloc
    return urlunsplit((new.scheme, netloc, new.path, new.query, new.fragment))
