"""`atalaia supervisor`: the whole service but the HTTP API (design note 003).

The flags, their meaning and defaults are the note's own, so existing scripts keep working.
It runs the same `BackgroundManager` as `atalaia run` (cameras and detectors, the outbox
dispatchers that deliver every alert to every configured sink, the monitors that send the
serial board its commands, the log writer), on the cameras of the file it is given. The ROI
polygons (`--roi FILE --roi-polys NAME ...`) are merged into the cameras' zones before the
rules are checked, so a rule can name one. The prompts file is checked against the class
tables of each camera's models as `config check` does, before anything starts: a prompt that
matches no class would otherwise only show as a rule turned off in a running camera.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from atalaia.cli.common import CONFIG_ERROR_STATUS, fail
from atalaia.config import AtalaiaConfig, load_config
from atalaia.config.errors import ConfigError
from atalaia.config.roi_merge import RoiSource

log = logging.getLogger("atalaia.supervisor")


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
    """Run the whole service but the HTTP API: cameras, shared detectors, alert delivery to
    every sink, monitors and the log writer. SIGINT/SIGTERM drain and exit 0."""
    if roi is None and roi_polys:
        fail("--roi-polys needs --roi FILE")
    try:
        source = RoiSource(file=roi, polygons=roi_polys or []) if roi is not None else None
    except ValueError:
        fail("expected --roi-polys names that are not empty")
    cfg = _load_or_exit(config, source)
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
    mapping = _check_prompts(cfg, config, prompts)
    status = run_service(cfg, mapping)
    if status:
        raise typer.Exit(status)


def _load_or_exit(path: Path, roi: RoiSource | None) -> AtalaiaConfig:
    """The configuration with the ROI polygons merged into the cameras' zones before rules are
    checked (`zone: roi_epi_on`); a problem is printed with its file and key, status 2."""
    try:
        return load_config(path, roi=roi)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        sys.stderr.flush()
        raise typer.Exit(CONFIG_ERROR_STATUS) from None


def _check_prompts(cfg: AtalaiaConfig, config_file: Path, prompts: Path) -> list[str]:
    """What `config check` refuses about the prompts, refused here too (status 2, each problem
    with its file and key); else the prompt -> model -> class lines, for the log."""
    from atalaia.cli.config_prompts import PromptCheckError, prompt_mapping
    from atalaia.detect import DetectorConfigError, load_prompts

    try:
        load_prompts(prompts)  # a broken file is refused even with no PPE rule to use it
    except DetectorConfigError as exc:
        fail(str(exc))
    try:
        return prompt_mapping(cfg, config_file)
    except PromptCheckError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        sys.stderr.flush()
        raise typer.Exit(CONFIG_ERROR_STATUS) from None


def run_service(cfg: AtalaiaConfig, prompt_mapping: Sequence[str] = ()) -> int:
    """Run until SIGINT/SIGTERM, then drain in order; the exit status (1: could not start)."""
    from atalaia.service.server import start_logging

    writer = start_logging(cfg)
    try:
        for line in prompt_mapping:
            log.info("%s", line)
        return asyncio.run(_serve_without_http(cfg, writer.queue))
    finally:
        writer.stop()


async def _serve_without_http(cfg: AtalaiaConfig, log_queue: Any) -> int:
    """The `BackgroundManager` of `atalaia run`, on the cameras of the file, with no API."""
    from atalaia.service.manager import BackgroundManager

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    manager = BackgroundManager(cfg, log_queue=log_queue, cameras_from="config")
    try:
        await manager.startup()
        problem = manager.startup_error or manager.processing_error
        if problem is not None or manager.processing_state != "running":
            log.error("could not start: %s", problem or manager.processing_state)
            return 1
        cameras = len(manager.pipeline.cameras) if manager.pipeline is not None else 0
        sinks = ", ".join(manager.handlers_status()) or "none"
        log.info("pipeline running: %d camera(s), alerts to %s; Ctrl-C stops it", cameras, sinks)
        await stop.wait()
        log.info("shutting down")
        return 0
    finally:
        await manager.shutdown()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


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
