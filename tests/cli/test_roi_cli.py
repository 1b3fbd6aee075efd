"""ROI zones on the command line: `config check` shows them per camera, and both `config check`
and `atalaia supervisor` refuse (status 2, file and key) an unknown polygon or a clash."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from atalaia.cli.main import app

runner = CliRunner()
SQUARE = [[0.1, 0.3], [0.9, 0.3], [0.9, 1.0], [0.1, 1.0]]


def write_inputs(tmp_path: Path, roi_key: str) -> tuple[Path, Path, Path]:
    roi = tmp_path / "roi.json"
    roi.write_text(json.dumps({"polygons": {"roi_epi_on": SQUARE, "door": SQUARE}}))
    site = tmp_path / "site.yaml"
    site.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        f"{roi_key.format(roi=roi)}"
        "cameras:\n"
        "  - id: cam61\n"
        "    source: demo://people\n"
        "    zones:\n"
        "      - {name: bench, points: [[0, 0], [0.5, 0], [0.5, 0.5]]}\n"
        "    rules:\n"
        "      - {type: object_in_zone, zone: roi_epi_on}\n"
        "  - id: cam62\n"
        "    source: demo://people\n"
    )
    prompts = tmp_path / "ppe.yaml"
    prompts.write_text("equipment:\n  helmet: [helmet]\n")
    return site, roi, prompts


def test_config_check_prints_the_merged_roi_zones_per_camera(tmp_path: Path) -> None:
    site, roi, _ = write_inputs(tmp_path, "roi: {{file: {roi}, polygons: [roi_epi_on]}}\n")
    result = runner.invoke(app, ["config", "check", str(site)])
    assert result.exit_code == 0, result.output
    assert "# ROI zones merged into the cameras:\n" in result.output
    assert f"#   cam61: roi_epi_on (from {roi}); own zones: bench\n" in result.output
    assert f"#   cam62: roi_epi_on (from {roi})\n" in result.output


def test_config_check_refuses_an_unknown_roi_name(tmp_path: Path) -> None:
    site, roi, _ = write_inputs(tmp_path, "roi:\n  file: {roi}\n  polygons: [roi_epi_off]\n")
    result = runner.invoke(app, ["config", "check", str(site)])
    assert result.exit_code == 2
    assert (
        f"{site}: roi.polygons[0] (line 4): no polygon named 'roi_epi_off' in the ROI file {roi}"
    ) in result.output
    # The rule on the zone the ROI would have given is reported too, at its own key.
    assert "cameras[0].rules[0].zone" in result.output


def test_config_check_refuses_a_zone_name_clash(tmp_path: Path) -> None:
    site, roi, _ = write_inputs(tmp_path, "roi: {roi}\n")
    site.write_text(site.read_text().replace("name: bench", "name: door"))
    result = runner.invoke(app, ["config", "check", str(site)])
    assert result.exit_code == 2
    assert f"{site}: cameras[0].zones[0].name (line 7): zone 'door' of camera 'cam61'" in (
        result.output
    )
    assert f"({roi}: polygons.door (line 1))" in result.output


def test_supervisor_refuses_an_unknown_roi_name_and_a_clash(tmp_path: Path) -> None:
    site, roi, prompts = write_inputs(tmp_path, "")
    base = ["supervisor", "--config", str(site), "--prompts", str(prompts), "--roi", str(roi)]
    unknown = runner.invoke(app, [*base, "--roi-polys", "roi_epi_on", "--roi-polys", "nope"])
    assert unknown.exit_code == 2
    assert f"--roi-polys: no polygon named 'nope' in the ROI file {roi}" in unknown.output
    assert "the file has: roi_epi_on, door" in unknown.output

    site.write_text(site.read_text().replace("name: bench", "name: door"))
    clash = runner.invoke(app, [*base, "--roi-polys", "door"])
    assert clash.exit_code == 2
    assert f"{site}: cameras[0].zones[0].name (line 6)" in clash.output
    assert f"({roi}: polygons.door (line 1))" in clash.output
