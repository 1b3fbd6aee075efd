"""Cameras with their zones and rules: write, read, delete.

Each change that matters to a running camera bumps `Camera.version`, so the reconciler that
compares the database with the running camera processes only restarts the cameras that changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from atalaia.storage.models import Camera, Rule, Zone
from atalaia.storage.types import utcnow

# Camera ids end up in MQTT topics, file paths and URLs: no '/', '+', '#', spaces or dots.
CAMERA_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

_ZONE_FIELDS = ("points", "relative", "anchor", "inertia", "config")
_RULE_FIELDS = ("type", "config", "enabled")


class _Named(Protocol):
    name: str


_Child = TypeVar("_Child", bound=_Named)


def upsert_camera(
    session: Session,
    camera_id: str,
    *,
    name: str,
    source_url: str,
    config: Mapping[str, Any],
    enabled: bool = True,
    zones: Sequence[Zone] | None = None,
    rules: Sequence[Rule] | None = None,
    now: datetime | None = None,
) -> Camera:
    """Create the camera or bring it to the given state; its version grows only on change.

    `zones` and `rules`, when given, replace the camera's set, matched by name: an unchanged
    zone keeps its row. None leaves them as they are. The row is locked while it is compared,
    so two writers cannot both miss each other's change.
    """
    if not CAMERA_ID.fullmatch(camera_id):
        raise ValueError(
            f"invalid camera id {camera_id!r}: use 1-64 letters, digits, '_' or '-', "
            "starting with a letter or digit"
        )
    now = now or utcnow()
    camera = session.scalars(
        select(Camera)
        .where(Camera.id == camera_id)
        .with_for_update()
        .options(selectinload(Camera.zones), selectinload(Camera.rules))
        .execution_options(populate_existing=True)
    ).one_or_none()
    created = camera is None
    if camera is None:
        camera = Camera(
            id=camera_id,
            name=name,
            source_url=source_url,
            config=dict(config),
            enabled=enabled,
            created_at=now,
            updated_at=now,
        )
        session.add(camera)
        changed = False
    else:
        changed = _assign(
            camera,
            {"name": name, "source_url": source_url, "config": dict(config), "enabled": enabled},
        )
    if zones is not None:
        changed |= _replace_by_name(camera.zones, zones, _ZONE_FIELDS)
    if rules is not None:
        changed |= _replace_by_name(camera.rules, rules, _RULE_FIELDS)
    if changed and not created:
        camera.version += 1
        camera.updated_at = now
    session.flush()
    return camera


def get_camera(session: Session, camera_id: str) -> Camera | None:
    """The camera with its zones and rules loaded, or None."""
    return session.scalars(
        select(Camera)
        .where(Camera.id == camera_id)
        .options(selectinload(Camera.zones), selectinload(Camera.rules))
    ).one_or_none()


def list_cameras(session: Session, *, enabled_only: bool = False) -> list[Camera]:
    """All cameras by id, zones and rules loaded (the reconciler's view of what should run)."""
    query = (
        select(Camera)
        .order_by(Camera.id)
        .options(selectinload(Camera.zones), selectinload(Camera.rules))
    )
    if enabled_only:
        query = query.where(Camera.enabled.is_(True))
    return list(session.scalars(query))


def delete_camera(session: Session, camera_id: str) -> bool:
    """Delete the camera; the database deletes its zones and rules. Its alerts stay.

    Returns False when there was no such camera.
    """
    result = session.execute(
        delete(Camera).where(Camera.id == camera_id).execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0)) > 0


def _assign(target: object, values: Mapping[str, Any]) -> bool:
    changed = False
    for field, value in values.items():
        if getattr(target, field) != value:
            setattr(target, field, value)
            changed = True
    return changed


def _replace_by_name(
    current: list[_Child], wanted: Sequence[_Child], fields: Sequence[str]
) -> bool:
    """Make `current` match `wanted` by name, updating rows in place; True if anything changed.

    Updating in place, rather than deleting and re-inserting, keeps row ids stable and avoids
    tripping the unique (camera, name) constraint within one flush.
    """
    names = [child.name for child in wanted]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate names in {names}")
    existing = {child.name: child for child in current}
    changed = False
    for child in wanted:
        old = existing.pop(child.name, None)
        if old is None:
            current.append(child)
            changed = True
        else:
            changed |= _assign(old, {field: getattr(child, field) for field in fields})
    for gone in existing.values():
        current.remove(gone)
        changed = True
    return changed
