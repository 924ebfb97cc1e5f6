"""The report on real lmms-eval output: the bundled sample, two models, files written as the CLI does.

lmms-eval runs in-process (``simple_evaluate`` + ``EvaluationTracker``, the calls its
``__main__`` makes for ``--output_path DIR --log_samples``), once with a scripted model that
answers from the target but fails on about a quarter of the docs, once with ``medvision_random``
resolved by name through the registered entry point. The report's numbers must equal the
numbers lmms-eval wrote, for every task and metric.
"""

from __future__ import annotations

import csv
import json
import math
import zlib
from pathlib import Path

import pytest
from lmms_eval import evaluator as lmms_eval_evaluator
from lmms_eval.loggers import EvaluationTracker
from lmms_eval.tasks import TaskManager

from medvision_tasks import utils
from medvision_tasks.cli import task_folder
from medvision_tasks.documents import sample_dir
from medvision_tasks.report import main
from tests.helpers.scripted_model import ScriptedModel, perfect_answer

TASKS = ["medvision_detect", "medvision_detect_cot", "medvision_detect_coronal", "medvision_tl", "medvision_ad_cot"]

pytestmark = pytest.mark.skipif(not (sample_dir() / "detection.jsonl").is_file(), reason="bundled sample not present")


def flaky_answer(doc, prompt):
    """The target, except "no idea" for about one doc in four (fixed by the doc key)."""
    if zlib.crc32(doc["doc_key"].encode()) % 4 == 0:
        return "no idea"
    return perfect_answer(doc, prompt)


def run_lmms_eval(model, model_args: str, out: Path, date: str, task_manager: TaskManager) -> Path:
    tracker = EvaluationTracker(output_path=str(out))
    results = lmms_eval_evaluator.simple_evaluate(
        model=model,
        model_args=model_args,
        tasks=TASKS,
        task_manager=task_manager,
        bootstrap_iters=0,
        log_samples=True,
        evaluation_tracker=tracker,
        datetime_str=date,
    )
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples, datetime_str=date)
    for task_name in results["configs"]:
        tracker.save_results_samples(task_name=task_name, samples=samples[task_name])
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.delenv("MEDVISION_DATA_DIR", raising=False)
    utils.SLICES.clear()
    root = tmp_path_factory.mktemp("runs")
    task_manager = TaskManager(include_path=task_folder(), include_defaults=False)
    run_lmms_eval(ScriptedModel(flaky_answer), "", root / "scripted", "2026-01-01T00-00-00", task_manager)
    run_lmms_eval("medvision_random", "seed=0", root / "random", "2026-01-01T00-00-01", task_manager)
    return root


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def report_dir(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert main([str(runs / "scripted"), str(runs / "random"), "--out", str(out), "--bootstrap", "100", "--quiet"]) == 0
    return out


def lmms_numbers(runs: Path) -> dict[tuple[str, str, str], float]:
    numbers = {}
    for path in runs.rglob("*_results.json"):
        data = json.loads(path.read_text())
        for task in TASKS:
            for key, value in data["results"][task].items():
                if key.endswith(",none") and "_stderr" not in key:
                    numbers[(data["config"]["model"], task, key[: -len(",none")])] = value
    return numbers


def test_report_equals_lmms_eval_for_every_task_and_metric(runs, report_dir):
    expected = lmms_numbers(runs)
    assert {model for model, _, _ in expected} == {"ScriptedModel", "medvision_random"}
    with (report_dir / "tables" / "consistency.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["subset"] == "report"]
    ours = {
        (row["model"], row["task"], row["task metric"]): float(row["value"]) if row["value"] else math.nan
        for row in rows
    }
    assert ours.keys() == expected.keys()
    for key, value in expected.items():
        assert ours[key] == pytest.approx(value, rel=1e-12, abs=1e-12, nan_ok=True), key


def test_table3_rows_are_the_lmms_eval_task_numbers(runs, report_dir):
    # Every T/L doc of the sample is axial, so Table 3 pools exactly the docs of medvision_tl.
    expected = lmms_numbers(runs)
    with (report_dir / "tables" / "table3_tumor_lesion_size.csv").open() as handle:
        for row in csv.DictReader(handle):
            assert float(row["value"]) == pytest.approx(
                expected[(row["model"], "medvision_tl", row["metric"])], rel=1e-12
            )
            assert float(row["ci_low"]) <= float(row["value"]) <= float(row["ci_high"])


def test_scripted_failures_show_in_success_rate_and_random_answers_always_parse(runs):
    expected = lmms_numbers(runs)
    assert 0.0 < expected[("ScriptedModel", "medvision_detect", "sr")] < 100.0
    for task in TASKS:
        assert expected[("medvision_random", task, "sr")] == 100.0, task


def test_html_page_holds_every_section_and_figure(report_dir):
    page = (report_dir / "report.html").read_text()
    for anchor in ("leaderboard", "per-label", "planes", "box-size", "errors", "check", "table2_detection"):
        assert f'id="{anchor}"' in page
    assert page.count("data:image/png;base64,") == len(list((report_dir / "plots").glob("*.png"))) >= 5
