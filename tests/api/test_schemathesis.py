"""Property-based requests generated from the OpenAPI schema: no input makes a server error.

Bounded examples per operation keep it short. Runs against the real app served by uvicorn on
127.0.0.1, with a real database and log writer, so start/stop/restart really spawn and stop the
detector process and the delivery dispatchers.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings

from atalaia.api.app import create_app
from atalaia.logs import LogWriter
from atalaia.service.manager import BackgroundManager
from tests.api.conftest import AUTH, make_config
from tests.fixtures.cameras import free_port

# schemathesis's fixture loader does not work with pytest 9, so the schema is read at import
# from the app object (no start-up needed); the module fixture serves the app for real.
_DATA = Path(tempfile.mkdtemp(prefix="atalaia-schemathesis-"))
_CONFIG = make_config(_DATA)
_WRITER = LogWriter(file=_DATA / "atalaia.log", console=False)
_APP = create_app(_CONFIG, BackgroundManager(_CONFIG, log_queue=_WRITER.queue))
schema = schemathesis.openapi.from_dict(_APP.openapi())
_BASE: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _served() -> Iterator[None]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_APP, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the app did not start"
    _BASE["url"] = f"http://127.0.0.1:{port}"
    yield
    server.should_exit = True
    thread.join(60)
    _WRITER.stop()
    shutil.rmtree(_DATA, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error(case: Any) -> None:
    for headers in (AUTH, {}):
        response = case.call(base_url=_BASE["url"], headers=headers, timeout=60)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
        )
