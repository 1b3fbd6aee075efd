"""`atalaia supervisor`: the camera pipeline without the web service (user note 003).

The flags, their meaning and defaults are the note's own, so existing scripts keep working.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from atalaia.cli.common import fail, load_or_exit
from atalaia.config import AtalaiaConfig
from atalaia.config.errors import ConfigError


def supervisor(
    config: Annotated[Path, typer.Option("--config", help="YAML configuration file (required).")],
    prompts: Annotated[
        Path,
        typer.Option("--prompts", help="YAML prompts file for protective equipment (required)."),
    ],
    roi: Annotated[
        Path | None, typer.Option("--roi", help="ROI file (JSON) with named polygons.")
    ] = None,
    roi_polys: Annotated[
        list[str] | None,
        typer.Option("--roi-polys", help="Names of the ROI polygons to use (one or more)."),
    ] = None,
    log_file: Annotated[Path, typer.Option("--log-file", help="Log file.")] = Path("pipeline.log"),
    heartbeat_timeout: Annotated[
        float, typer.Option("--heartbeat-timeout", help="Heartbeat timeout in seconds.")
    ] = 30.0,
    max_restarts: Annotated[
        int, typer.Option("--max-restarts", help="Maximum restarts per process within the window.")
    ] = 5,
    restart_window: Annotated[
        float, typer.Option("--restart-window", help="Window for counting restarts, in seconds.")
    ] = 3600.0,
) -> None:
    """Run the multi-camera pipeline (capture, shared detector, supervisor) without the web API."""
    cfg = load_or_exit(config)
    interval = cfg.supervisor.heartbeat_interval
    if heartbeat_timeout <= interval or max_restarts < 0 or restart_window <= 0:
        fail(
            f"expected --heartbeat-timeout > the heartbeat interval ({interval}s), "
            "--max-restarts >= 0 and --restart-window > 0"
        )
    cfg.supervisor.heartbeat_timeout = heartbeat_timeout
    cfg.supervisor.max_restarts = max_restarts
    cfg.supervisor.restart_window = restart_window
    cfg.logging.file = log_file
    cfg.prompts = prompts
    _check_prompts(prompts)
    if roi is not None:
        _apply_roi(cfg, roi, roi_polys or [])
    elif roi_polys:
        fail("--roi-polys needs --roi FILE")
    run_pipeline(cfg)


def _check_prompts(path: Path) -> None:
    from atalaia.detect import DetectorConfigError, load_prompts

    try:
        load_prompts(path)
    except DetectorConfigError as exc:
        fail(str(exc))


def _apply_roi(cfg: AtalaiaConfig, roi: Path, names: list[str]) -> None:
    """ROI polygons become zones of every camera that defines none of its own."""
    from atalaia.rules import zones_from_roi

    try:
        zones = zones_from_roi(roi, names)
    except ConfigError as exc:
        fail(str(exc))
    for camera in cfg.cameras:
        if not camera.zones:
            camera.zones = list(zones)


def run_pipeline(cfg: AtalaiaConfig) -> None:
    """Start the pipeline, block until SIGINT/SIGTERM, then shut down in order."""
    import logging

    from atalaia.pipeline.runner import Pipeline
    from atalaia.service.server import start_logging

    writer = start_logging(cfg)
    log = logging.getLogger("atalaia.supervisor")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    pipeline = Pipeline(cfg, writer.queue)
    try:
        pipeline.start()
        log.info("pipeline running: %d camera(s); Ctrl-C stops it", len(pipeline.cameras))
        while not stop.wait(0.5):
            pass
        log.info("shutting down")
    finally:
        pipeline.stop()
        writer.stop()


def spread_multi_values(argv: list[str], option: str = "--roi-polys") -> list[str]:
    """Let `--roi-polys a b` mean `--roi-polys a --roi-polys b`, as in the note's argparse
    (nargs='+'), which click does not do by itself."""
    out: list[str] = []
    taking = False
    for arg in argv:
        if arg == option:
            taking = True
            continue
        if taking and not arg.startswith("-"):
            out += [option, arg]
            continue
        taking = False
        out.append(arg)
    return out
