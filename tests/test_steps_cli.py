"""Seeing or computing, end to end: the real ``lmms-eval`` and ``medvision-tasks report`` commands on the bundled sample.

A scripted model registered for the test through ``LMMS_EVAL_PLUGINS`` (``tests/helpers/scripted_plugin``)
answers as MedVision-V0 does, from each doc's true points (``landmark_points``; detection: its box):
``wrong_pixel_size`` localises exactly and measures with a wrong pixel size, ``shifted_points``
moves its points and measures them correctly. The report must tell them apart: the first
"computes wrong, sees right", the second "computes right, sees wrong"; their coordinate-only
answers are measured by the plugin, exactly for the first.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from medvision_tasks.cli import task_folder
from tests.helpers.lmms_runs import plugin_cli_env

BIN = Path(sys.executable).parent
TASKS = "medvision_detect_cot,medvision_tl_cot,medvision_ad_cot,medvision_tl_coords,medvision_ad_coords,medvision_tl_no_visual"
MEASUREMENTS = ("Tumor/lesion size", "A/D distance", "A/D angle")


def _run(command: list[str]) -> subprocess.CompletedProcess:
    env = plugin_cli_env("tests.helpers.scripted_plugin")
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("steps_cli")
    for behaviour in ("wrong_pixel_size", "shifted_points"):
        evaluated = _run(
            [
                str(BIN / "lmms-eval"),
                "--include_path", task_folder(),
                "--model", "medvision_scripted",
                "--model_args", f"behaviour={behaviour}",
                "--tasks", TASKS,
                "--output_path", str(out / "runs"),
                "--log_samples",
            ]
        )  # fmt: skip
        assert "Traceback" not in evaluated.stderr, evaluated.stderr[-4000:]
    reported = _run([str(BIN / "medvision-tasks"), "report", str(out / "runs"), "--out", str(out / "report"),
                     "--bootstrap", "0", "--quiet"])  # fmt: skip
    assert reported.returncode == 0, reported.stderr[-4000:]
    return out / "report"


def _rows(report: Path, table: str) -> list[dict[str, str]]:
    with (report / "tables" / f"{table}.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _cells(report: Path, question: str, behaviour: str, variant: str) -> dict[tuple[str, str], str]:
    model = f"medvision_scripted [behaviour={behaviour}] · published · {variant}"
    rows = [r for r in _rows(report, "error_split") if r["question"] == question and r["model"] == model]
    assert rows, (question, model)
    return {(r["subset"], r["metric"]): r["value"] for r in rows} | {("", "verdict"): rows[0]["verdict"]}


@pytest.mark.slow
@pytest.mark.parametrize("question", MEASUREMENTS)
def test_a_wrong_pixel_size_computes_wrong_and_sees_right(report, question):
    cells = _cells(report, question, "wrong_pixel_size", "CoT")
    assert cells[("", "verdict")] == "computes wrong, sees right"
    assert float(cells[("seeing", "error (mm)")]) < 1e-3  # six decimals of exact points
    assert float(cells[("seeing", "right (%)")]) == 100.0
    assert float(cells[("explained", "arithmetic (%)")]) == pytest.approx(100.0, abs=0.01)
    coordinates = _cells(report, question, "wrong_pixel_size", "coordinates only")
    assert coordinates[("", "verdict")] == "computed by the plugin, sees right"
    assert float(coordinates[("final", "relative error (%)")]) < 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("question", MEASUREMENTS)
def test_shifted_points_with_right_arithmetic_compute_right_and_see_wrong(report, question):
    cells = _cells(report, question, "shifted_points", "CoT")
    assert cells[("", "verdict")] == "computes right, sees wrong"
    assert float(cells[("seeing", "right (%)")]) == 0.0
    assert float(cells[("computing", "right (%)")]) == 100.0
    assert float(cells[("explained", "localisation (%)")]) == pytest.approx(100.0, abs=0.01)
    coordinates = _cells(report, question, "shifted_points", "coordinates only")
    assert coordinates[("", "verdict")] == "computed by the plugin, sees wrong"


@pytest.mark.slow
def test_the_variants_sit_beside_the_full_task_and_the_figure_is_drawn(report):
    rows = [r for r in _rows(report, "variants_tl") if r["metric"] == "mre"]
    mre = {(r["model"], r["subset"]): float(r["value"]) for r in rows}
    exact = "medvision_scripted [behaviour=wrong_pixel_size] · published"
    # The plugin's exact measurement of exact points beside the wrong arithmetic; the same answers without the
    # image (the scripted model never looks), which a real model could not give.
    assert mre[(exact, "coords")] < 1e-3 < mre[(exact, "cot")]
    assert mre[(exact, "no_visual")] == pytest.approx(mre[(exact, "cot")])
    assert (report / "plots" / "error_split.png").stat().st_size > 10_000
    page = (report / "report.html").read_text(encoding="utf-8")
    assert "Seeing or computing" in page and "computes wrong, sees right" in page
