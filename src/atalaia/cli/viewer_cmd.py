"""`atalaia viewer`: the desktop window (needs the `desktop` extra)."""

from __future__ import annotations

from typing import Annotated

import typer


def viewer(
    url: Annotated[
        str, typer.Option(help="The running atalaia to connect to.")
    ] = "http://127.0.0.1:8000",
    token: Annotated[
        str | None,
        typer.Option(
            help="API token. Better: ATALAIA_VIEWER_TOKEN, the keyring (saved after the first "
            "connection), or the prompt; a flag stays in the shell history.",
            show_default=False,
        ),
    ] = None,
    fps: Annotated[
        float, typer.Option(min=0.5, max=30, help="Live frames per second asked per camera.")
    ] = 15.0,
    stall_probe: Annotated[
        bool, typer.Option(help="Show the UI thread's worst stall in the status bar.")
    ] = False,
) -> None:
    """Desktop viewer: live cameras, alerts as they happen, local video sent for detection."""
    try:
        from atalaia.viewer.app import run_viewer
    except ImportError as exc:
        typer.echo(
            f"the viewer needs the desktop extra: pip install 'atalaia[desktop]' ({exc})",
            err=True,
        )
        raise typer.Exit(1) from None
    raise typer.Exit(run_viewer(url, token, fps, stall_probe))
