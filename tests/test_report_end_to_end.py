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
from lmms_eval.tasks import TaskManager

from medvision_tasks import utils
from medvision_tasks.cli import task_folder
from medvision_tasks.documents import sample_dir
from medvision_tasks.families import FAMILIES
from medvision_tasks.record import DocRecord
from medvision_tasks.report import main
from tests.helpers.lmms_runs import run_lmms_eval
from tests.helpers.scripted_model import ScriptedModel, perfect_answer

TASKS = ["medvision_detect", "medvision_detect_cot", "medvision_detect_coronal", "medvision_tl", "medvision_ad_cot"]

pytestmark = pytest.mark.skipif(not (sample_dir() / "detection.jsonl").is_file(), reason="bundled sample not present")


def flaky_answer(doc, prompt):
    """The target, except "no idea" for about one doc in four (fixed by the doc key)."""
    if zlib.crc32(doc["doc_key"].encode()) % 4 == 0:
        return "no idea"
    return perfect_answer(doc, prompt)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.delenv("MEDVISION_DATA_DIR", raising=False)
    utils.SLICES.clear()
    root = tmp_path_factory.mktemp("runs")
    task_manager = TaskManager(include_path=task_folder(), include_defaults=False)
    run_lmms_eval(ScriptedModel(flaky_answer), "", root / "scripted", "2026-01-01T00-00-00", task_manager, TASKS)
    run_lmms_eval("medvision_random", "seed=0", root / "random", "2026-01-01T00-00-01", task_manager, TASKS)
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
                if key.endswith(",none") and "_stderr" not in key and not key.startswith("medvision_record"):
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


def _axial_tl_records(runs: Path, model: str) -> list[dict]:
    """The per-doc records of a model's medvision_tl samples file, as logged, axial only."""
    (path,) = [p for p in runs.rglob("*_samples_medvision_tl.jsonl") if model in str(p)]
    records = []
    for line in path.read_text().splitlines():
        data = json.loads(line)
        record = data.get("medvision_record") or data["mae"]  # the record once, or (older runs) per metric
        if record["plane"] == "axial":
            records.append(record)
    return records


def _weighted(groups, per_group):
    """Mean of ``per_group(g)`` over groups, weighted by their docs."""
    return sum(len(g) * per_group(g) for g in groups) / sum(len(g) for g in groups)


def _mean_over_parsed(group, field):
    return sum(r[field] for r in group if r["parsed"]) / sum(r["parsed"] for r in group)


def test_table3_is_the_weighted_mean_of_per_label_numbers(runs, report_dir):
    # The sample's axial T/L docs: "brain lesion" (MRI) and "lung lesion" (CT), two groups. Upstream's Table 3:
    # per group MAE/MRE over parsed docs and SR/MRE<0.1 over all, weighted by the group's docs; a group
    # without a parsed answer leaves every number.
    with (report_dir / "tables" / "table3_tumor_lesion_size.csv").open() as handle:
        table3 = {(row["model"], row["metric"]): float(row["value"]) for row in csv.DictReader(handle)}
    for model, folder in (
        ("ScriptedModel · published · plain", "scripted"),
        ("medvision_random · published · plain", "random"),
    ):
        groups: dict[tuple[str, str], list[dict]] = {}
        for record in _axial_tl_records(runs / folder, ""):
            groups.setdefault((record["label_name"], record["modality"]), []).append(record)
        assert len(groups) == 2
        kept = [g for g in groups.values() if any(r["parsed"] for r in g)]
        expected = {
            "mae": _weighted(kept, lambda g: _mean_over_parsed(g, "abs_error")),
            "mre": 100 * _weighted(kept, lambda g: _mean_over_parsed(g, "rel_error")),
            "sr": 100 * _weighted(kept, lambda g: sum(r["parsed"] for r in g) / len(g)),
            "mre<0.1": 100 * _weighted(kept, lambda g: sum(r["parsed"] and r["rel_error"] < 0.1 for r in g) / len(g)),
        }
        for metric, value in expected.items():
            assert table3[(model, metric)] == pytest.approx(value, rel=1e-12), (model, metric)


def test_each_samples_line_holds_the_record_once_and_a_number_per_metric(runs):
    for path in runs.rglob("*_samples_*.jsonl"):
        task = path.stem.split("_samples_", 1)[1]
        metrics = FAMILIES[DocRecord.from_dict(json.loads(path.read_text().splitlines()[0])["medvision_record"]).family]
        for line in path.read_text().splitlines():
            data = json.loads(line)
            records = [key for key, value in data.items() if isinstance(value, dict)]
            assert records == ["medvision_record"], (task, records)
            for metric in metrics.metrics:
                assert data[metric] is None or isinstance(data[metric], float), (task, metric, data[metric])
    # lmms-eval lists the record key in its results with nothing to show (no aggregation), and no table row
    for path in runs.rglob("*_results.json"):
        results = json.loads(path.read_text())["results"]
        for task in TASKS:
            assert results[task]["medvision_record,none"] == []


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
