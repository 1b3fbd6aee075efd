"""The UI's HTTP side without a browser: the page and its assets, and the cookie session."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from atalaia.api.app import create_app
from atalaia.api.auth import COOKIE
from atalaia.api.ui import REMEMBER_SECONDS, WEB_ROOT, asset_path
from atalaia.config import AtalaiaConfig
from atalaia.service.manager import BackgroundManager

TOKEN = "ui-routes-token-0123456789"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    config = AtalaiaConfig.model_validate(
        {"data_dir": str(tmp_path / "data"), "server": {"token": TOKEN}, "cameras": []}
    )
    # The routes under test need no background work: the manager is never started.
    with TestClient(create_app(config, BackgroundManager(config))) as test_client:
        yield test_client


def test_index_is_served_with_a_strict_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/ui/js/main.js">' in response.text


def test_every_asset_the_page_names_is_served_locally(client: TestClient) -> None:
    """No CDN, no external font: every URL in the page, its CSS and its modules is ours."""
    seen: set[str] = set()
    pending = ["/"]
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, url
        text = "" if url.endswith(".woff2") else response.text
        external = re.search(
            r'(?:src|href)="(?:https?:)?//|url\(\s*["\']?(?:https?:)?//|@import|'
            r'from\s+["\'](?:https?:)?//|import\(\s*["\'](?:https?:)?//',
            text,
        )
        assert external is None, f"{url} loads something from another host: {external}"
        if url == "/":
            refs = re.findall(r'(?:src|href)="(/ui/[^"]+)"', text)
        elif url.endswith(".css"):
            refs = [_join(url, r) for r in re.findall(r'url\("?([^")]+)"?\)', text)]
        elif url.endswith(".js") and "/vendor/" not in url:
            refs = [_join(url, r) for r in re.findall(r'from "(\.[^"]+)"', text)]
            refs += re.findall(r'"(/ui/[^"]+)"', text)
        else:
            refs = []
        pending.extend(refs)
    assert "/ui/vendor/socket.io/socket.io.min.js" in seen
    assert "/ui/vendor/inter/inter-latin-wght-normal.woff2" in seen
    assert len([u for u in seen if u.endswith(".js")]) >= 15
    for licence in ("socket.io/LICENSE.txt", "inter/LICENSE.txt"):
        assert (WEB_ROOT / "vendor" / licence).is_file()


def _join(base: str, relative: str) -> str:
    parts = base.split("/")[:-1]
    for piece in relative.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


@pytest.mark.parametrize(
    "path",
    [
        "/ui/../api/ui.py",
        "/ui/%2e%2e/api/ui.py",
        "/ui/js/../../api/ui.py",
        "/ui/.hidden",
        "/ui/js/main.py",
        "/ui/",
        "/ui/nothing.js",
    ],
)
def test_nothing_outside_the_web_folder_is_served(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_asset_path_refuses_escapes(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "a.js").write_text("1")
    (tmp_path / "secret.js").write_text("2")
    (tmp_path / "web" / "link.js").symlink_to(tmp_path / "secret.js")
    root = tmp_path / "web"
    assert asset_path("a.js", root) == (root / "a.js").resolve()
    for bad in ("../secret.js", "link.js", "a.js/", "", "a\\b.js", ".a.js", "./a.js"):
        assert asset_path(bad, root) is None, bad


def test_sign_in_sets_a_strict_http_only_cookie(client: TestClient) -> None:
    assert client.get("/api/session").json() == {"signed_in": False}
    assert client.get("/api/stats").status_code == 401

    wrong = client.post("/api/session", json={"token": "nope"})
    assert wrong.status_code == 401
    assert "set-cookie" not in wrong.headers

    right = client.post("/api/session", json={"token": TOKEN})
    assert right.status_code == 200 and right.json() == {"signed_in": True}
    cookie = right.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Max-Age" not in cookie and "Secure" not in cookie  # session cookie over plain http

    assert client.get("/api/session").json() == {"signed_in": True}
    assert client.get("/api/stats").status_code == 200  # the cookie is the token

    out = client.delete("/api/session")
    assert out.status_code == 204
    assert f'{COOKIE}=""' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/api/session").json() == {"signed_in": False}


def test_remember_me_keeps_the_cookie_for_thirty_days(client: TestClient) -> None:
    response = client.post("/api/session", json={"token": TOKEN, "remember": True})
    assert f"Max-Age={REMEMBER_SECONDS}" in response.headers["set-cookie"]


def test_https_requests_get_a_secure_cookie(tmp_path: Path) -> None:
    config = AtalaiaConfig.model_validate(
        {"data_dir": str(tmp_path / "data"), "server": {"token": TOKEN}, "cameras": []}
    )
    app = create_app(config, BackgroundManager(config))
    with TestClient(app, base_url="https://atalaia.example") as secure:
        response = secure.post("/api/session", json={"token": TOKEN})
    assert "Secure" in response.headers["set-cookie"]


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": "x" * 5000}, {"token": 5}])
def test_malformed_sign_in_is_refused_cleanly(client: TestClient, body: dict[str, object]) -> None:
    assert client.post("/api/session", json=body).status_code == 422
