"""`atalaia`: run the service, run the pipeline alone, check a configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from atalaia.cli.common import CONFIG_ERROR_STATUS, load_or_exit
from atalaia.cli.detect_cmd import detect
from atalaia.cli.models_cmd import models_app
from atalaia.cli.supervisor_cmd import spread_multi_values, supervisor
from atalaia.cli.viewer_cmd import viewer
from atalaia.config import AtalaiaConfig, render_yaml

app = typer.Typer(
    name="atalaia",
    help="Self-hosted real-time video analytics: cameras, detection, rules and alerts.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Validate and show the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(models_app, name="models")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="ATALAIA_CONFIG",
        help="YAML configuration file; without one the embedded defaults run.",
    ),
]


@app.command()
def run(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8000).")] = None,
) -> None:
    """Start the service: API, background system and cameras."""
    cfg = load_or_exit(config)
    from atalaia.service.server import serve  # heavy imports only once the config is valid

    if host is not None:
        cfg.server.host = host
    if port is not None:
        cfg.server.port = port
    serve(cfg)


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="YAML configuration file to validate.")],
    prompts: Annotated[
        Path | None,
        typer.Option("--prompts", help="PPE prompts file (as the supervisor's --prompts)."),
    ] = None,
) -> None:
    """Validate FILE and print the effective configuration, every secret masked, and how the
    PPE prompts map onto each camera's models."""
    cfg = load_or_exit(file)
    if prompts is not None:
        cfg.prompts = prompts
    prompt_lines = _prompt_mapping_or_exit(cfg, file)
    typer.echo(f"# {file}: valid\n" + render_yaml(cfg), nl=False)
    _print_roi_zones(cfg)
    for line in prompt_lines:
        typer.echo(f"# {line}")


def _print_roi_zones(cfg: AtalaiaConfig) -> None:
    """The ROI zones merged into each camera, as YAML comments (the output stays YAML)."""
    from atalaia.config.roi_merge import roi_zones_report

    for line in roi_zones_report(cfg.roi, cfg.cameras):
        typer.echo(f"# {line}")


def _prompt_mapping_or_exit(cfg: AtalaiaConfig, file: Path) -> list[str]:
    """prompt -> model -> class for each PPE camera; a prompt matching nothing exits 2."""
    from atalaia.cli.config_prompts import PromptCheckError, prompt_mapping

    try:
        return prompt_mapping(cfg, file)
    except PromptCheckError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        raise typer.Exit(CONFIG_ERROR_STATUS) from None


app.command()(supervisor)
app.command("detect")(detect)
app.command("viewer")(viewer)


def main() -> None:
    import sys

    app(args=spread_multi_values(sys.argv[1:]), prog_name="atalaia")


if __name__ == "__main__":
    main()
