"""Cameras in the database, as the rest of the service sees them: `CameraConfig` objects.

The camera row keeps the whole validated configuration as JSON (the source of truth) and
mirrors its zones and rules into their own rows for queries. The YAML configuration seeds the
table once, on first start; after that the database (changed through the API) is what runs.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

from atalaia.config import AtalaiaConfig, CameraConfig
from atalaia.redact import MASK, mask_url
from atalaia.storage.cameras import delete_camera, get_camera, list_cameras, upsert_camera
from atalaia.storage.db import Database
from atalaia.storage.models import Camera, Rule, Zone

SEED_MARKER = "cameras_seeded"


def to_config(row: Camera) -> CameraConfig:
    return CameraConfig.model_validate({**row.config, "id": row.id, "enabled": row.enabled})


def save(database: Database, camera: CameraConfig) -> int:
    """Create or replace a camera; returns its version (bumped only when something changed)."""
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
    with database.session() as session:
        row = upsert_camera(
            session,
            camera.id,
            name=camera.name or camera.id,
            source_url=camera.source.url,
            config=camera.model_dump(mode="json"),
            enabled=camera.enabled,
            zones=zones,
            rules=rules,
        )
        return row.version


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
    """On first start, copy the configuration's cameras into the database.

    A marker in the data directory records that seeding happened, so cameras deleted through
    the API do not come back at the next start.
    """
    marker = Path(config.data_dir) / SEED_MARKER
    if marker.exists():
        return 0
    with database.session() as session:
        existing = {row.id for row in list_cameras(session)}
    added = 0
    for camera in config.cameras:
        if camera.id not in existing:
            save(database, camera)
            added += 1
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("the YAML cameras were copied into the database; the API manages them now\n")
    return added


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
