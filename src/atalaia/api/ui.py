"""The browser UI: the page at `/`, its static assets under `/ui/`, and the cookie session.

The UI is plain HTML, CSS and ES modules shipped inside the package (`atalaia/web/`), with no
build step and nothing fetched from another host: the Socket.IO client and the font are
vendored with their licences. The page itself holds no secret; `POST /api/session` checks the
API token once and keeps it in an HttpOnly, SameSite=Strict cookie that the token check
(`presented_token`) and the Socket.IO endpoint already accept. Scripts never see the token, and
SameSite=Strict keeps other sites from riding on the cookie.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

from fastapi import APIRouter, Body, HTTPException, Request, Response, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from atalaia.api.auth import COOKIE, TokenCheck, presented_token

WEB_ROOT: Final = Path(__file__).resolve().parent.parent / "web"
ASSET_PREFIX: Final = "/ui"
REMEMBER_SECONDS: Final = 30 * 24 * 3600

# Only these kinds of file are served, each with its type; anything else under web/ is not.
MEDIA_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}

# Everything the page loads comes from this origin; images and video may also be blob: URLs
# (the webcam page), and Socket.IO connects back to the same host.
CONTENT_SECURITY_POLICY: Final = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

router = APIRouter(tags=["ui"])


def asset_path(relative: str, root: Path = WEB_ROOT) -> Path | None:
    """The file under `root` that `relative` names, or None when it is outside `root`, hidden,
    missing, or of a kind the UI does not serve."""
    if not relative or "\\" in relative or "\x00" in relative:
        return None
    parts = relative.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    base = root.resolve()
    path = base.joinpath(*parts).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        return None
    if path.suffix.lower() not in MEDIA_TYPES:
        return None
    return path


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    """The single page: sign-in, dashboard, alerts, cameras, webcam and system views."""
    path = asset_path("index.html")
    if path is None:  # a broken install: say what is missing rather than a bare 404
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"the web UI is not installed ({WEB_ROOT})")
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    return FileResponse(path, media_type=MEDIA_TYPES[".html"], headers=headers)


@router.get(ASSET_PREFIX + "/{relative:path}", include_in_schema=False)
async def asset(relative: str) -> FileResponse:
    """A static file of the UI. `no-cache` makes the browser revalidate (ETag) so an upgrade
    is seen at once; unchanged files cost a 304."""
    path = asset_path(relative)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file")
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix.lower()], headers=headers)


class SessionRequest(BaseModel):
    token: str = Field(min_length=1, max_length=4096, description="the API token")
    remember: bool = Field(
        False, description="keep the session for 30 days instead of until the browser closes"
    )


class SessionState(BaseModel):
    signed_in: bool


def _token_check(request: Request) -> TokenCheck:
    check: TokenCheck = request.app.state.token_check
    return check


@router.get(
    "/api/session",
    response_model=SessionState,
    summary="Whether the request carries a valid token (cookie or header)",
)
async def get_session(request: Request) -> SessionState:
    """Always 200, so the page can ask at start without an error in the browser's console."""
    return SessionState(signed_in=_token_check(request).valid(presented_token(request)))


@router.post(
    "/api/session",
    response_model=SessionState,
    summary="Sign in: check the token and keep it in an HttpOnly cookie",
    responses={401: {"description": "wrong token"}},
)
async def create_session(
    request: Request, response: Response, body: Annotated[SessionRequest, Body()]
) -> SessionState:
    token = body.token.strip()
    if not _token_check(request).valid(token):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "that token is not valid")
    response.set_cookie(
        COOKIE,
        token,
        max_age=REMEMBER_SECONDS if body.remember else None,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.headers["Cache-Control"] = "no-store"
    return SessionState(signed_in=True)


@router.delete(
    "/api/session", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out (drop the cookie)"
)
async def delete_session(request: Request) -> Response:
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response
