"""What every command shares: loading the configuration and failing with status 2."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import typer

from atalaia.config import AtalaiaConfig, ConfigError, load_config

CONFIG_ERROR_STATUS = 2


def fail(message: str) -> NoReturn:
    """Print a plain error (no traceback) and exit with status 2."""
    typer.echo(f"atalaia: {message}", err=True)
    raise typer.Exit(CONFIG_ERROR_STATUS)


def load_or_exit(path: Path | None) -> AtalaiaConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        sys.stderr.flush()
        raise typer.Exit(CONFIG_ERROR_STATUS) from None
