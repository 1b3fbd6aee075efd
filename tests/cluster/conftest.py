"""A fresh PostgreSQL database per cluster test, and a tiny video for the file cameras."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.cluster.support import tiny_video
from tests.conftest import require_service
from tests.storage.conftest import DEFAULT_POSTGRES_URL, PostgresServer


@pytest.fixture
def cluster_db_url() -> Iterator[str]:
    url = os.environ.get("ATALAIA_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    parsed = make_url(url)
    require_service("PostgreSQL", parsed.host or "127.0.0.1", parsed.port or 5432)
    server = PostgresServer(url)
    database = server.create("atalaia_cluster")
    try:
        yield database
    finally:
        server.drop(database)
        server.close()


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return tiny_video(tmp_path / "tiny.avi")
