"""First start belongs to the database: the YAML cameras are seeded once, and one API token is
generated once, per database, whatever data directory a node uses and however many nodes
start on it together. Installations from before keep their answers (files in the data
directory)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select

from atalaia.api.auth import TOKEN_FILE, load_or_create_token
from atalaia.config import AtalaiaConfig, CameraConfig
from atalaia.service import camera_store
from atalaia.storage.db import Database
from atalaia.storage.models import Camera
from atalaia.storage.settings import API_TOKEN_SHA256, CAMERAS_SEEDED, get_setting

T = TypeVar("T")


def _config(data_dir: Path, *camera_ids: str) -> AtalaiaConfig:
    return AtalaiaConfig(
        data_dir=data_dir,
        cameras=[
            CameraConfig.model_validate({"id": cid, "source": {"url": f"rtsp://10.0.0.5/{cid}"}})
            for cid in camera_ids
        ],
    )


def _camera_ids(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(Camera.id).order_by(Camera.id)))


def _setting(db: Database, key: str) -> str | None:
    with db.session() as session:
        return get_setting(session, key)


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _on_nodes_together(db: Database, nodes: int, work: Callable[[Database], T]) -> list[T]:
    """Run `work` at once on `nodes` database handles of their own (as separate nodes have)."""
    url = db.engine.url.render_as_string(hide_password=False)
    handles = [Database(url) for _ in range(nodes)]
    barrier = threading.Barrier(nodes)
    results: list[T] = []
    errors: list[BaseException] = []

    def run(handle: Database) -> None:
        try:
            barrier.wait(10)
            results.append(work(handle))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(h,)) for h in handles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for handle in handles:
        handle.dispose()
    assert not errors, errors
    return results


def test_a_new_data_dir_on_a_seeded_database_does_not_seed_again(
    db: Database, tmp_path: Path
) -> None:
    first = _config(tmp_path / "node-a", "gate", "yard", "dock")
    assert camera_store.seed_from_config(db, first) == 3
    assert camera_store.remove(db, "yard")  # deleted through the API: must stay deleted
    assert camera_store.seed_from_config(db, first) == 0
    other = _config(tmp_path / "node-b", "gate", "yard", "dock", "lobby")
    assert camera_store.seed_from_config(db, other) == 0
    assert _camera_ids(db) == ["dock", "gate"]
    assert _setting(db, CAMERAS_SEEDED) is not None
    for data_dir in (tmp_path / "node-a", tmp_path / "node-b"):
        assert not (data_dir / camera_store.SEED_MARKER).exists()


def test_a_configuration_without_cameras_still_counts_as_seeded(
    db: Database, tmp_path: Path
) -> None:
    assert camera_store.seed_from_config(db, _config(tmp_path / "a")) == 0
    assert camera_store.seed_from_config(db, _config(tmp_path / "b", "gate")) == 0
    assert _camera_ids(db) == []


def test_upgrade_marker_file_in_the_data_dir_counts_as_seeded(db: Database, tmp_path: Path) -> None:
    """An installation from before: the marker file, an empty camera table (all deleted)."""
    old_dir = tmp_path / "old"
    old_dir.mkdir()
    (old_dir / camera_store.SEED_MARKER).write_text("seeded\n")
    assert camera_store.seed_from_config(db, _config(old_dir, "gate")) == 0
    # The fact moved into the database: a new data directory does not seed either.
    assert camera_store.seed_from_config(db, _config(tmp_path / "new", "gate")) == 0
    assert _camera_ids(db) == []


def test_upgrade_cameras_already_in_the_database_count_as_seeded(
    db: Database, tmp_path: Path
) -> None:
    """An installation from before, started with a new data directory: no marker anywhere."""
    camera_store.save(db, _config(tmp_path, "api-made").cameras[0])
    assert camera_store.seed_from_config(db, _config(tmp_path / "new", "gate", "yard")) == 0
    assert _camera_ids(db) == ["api-made"]
    assert camera_store.seed_from_config(db, _config(tmp_path / "new", "gate", "yard")) == 0


def test_nodes_starting_together_seed_once(db: Database, tmp_path: Path) -> None:
    seeded = _on_nodes_together(
        db,
        3,
        lambda handle: camera_store.seed_from_config(
            handle, _config(tmp_path / f"node-{threading.get_ident()}", "gate", "yard")
        ),
    )
    assert sorted(seeded) == [0, 0, 2]
    assert _camera_ids(db) == ["gate", "yard"]


def test_token_generated_once_per_database_and_stored_hashed(db: Database, tmp_path: Path) -> None:
    check, token = load_or_create_token(db, tmp_path / "node-a", None)
    assert token is not None and check.valid(token) and not check.valid(token + "x")
    assert _setting(db, API_TOKEN_SHA256) == _sha256(token)
    # Another node, or a new data directory, on the same database: the same token, not shown.
    again, shown = load_or_create_token(db, tmp_path / "node-b", None)
    assert shown is None and again.valid(token)
    assert not (tmp_path / "node-a" / TOKEN_FILE).exists()
    assert not (tmp_path / "node-b" / TOKEN_FILE).exists()


def test_upgrade_token_file_moves_into_the_database(db: Database, tmp_path: Path) -> None:
    old_dir = tmp_path / "old"
    old_dir.mkdir()
    (old_dir / TOKEN_FILE).write_text(_sha256("the-old-token") + "\n")
    check, shown = load_or_create_token(db, old_dir, None)
    assert shown is None and check.valid("the-old-token")
    assert _setting(db, API_TOKEN_SHA256) == _sha256("the-old-token")
    other, shown = load_or_create_token(db, tmp_path / "new", None)
    assert shown is None and other.valid("the-old-token")


def test_configured_token_wins_and_is_not_stored(db: Database, tmp_path: Path) -> None:
    load_or_create_token(db, tmp_path, None)
    check, shown = load_or_create_token(db, tmp_path, "configured-token-0123")
    assert shown is None and check.valid("configured-token-0123")
    assert _setting(db, API_TOKEN_SHA256) != _sha256("configured-token-0123")


def test_nodes_starting_together_agree_on_one_token(db: Database, tmp_path: Path) -> None:
    results = _on_nodes_together(
        db, 3, lambda handle: load_or_create_token(handle, tmp_path / "node", None)
    )
    shown = [token for _, token in results if token is not None]
    assert len(shown) == 1  # only the node whose token was stored shows one
    assert all(check.valid(shown[0]) for check, _ in results)
