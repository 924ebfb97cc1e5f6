"""Row labels a reader can tell apart, doc counts on every row, doc sets and marks (issue 15)."""

from __future__ import annotations

import pytest

from medvision_tasks.report.build import ReportOptions, build_report
from medvision_tasks.report.html import write_html
from medvision_tasks.report.runs import checkpoint_of, parse_model_args, read_runs
from medvision_tasks.report.tables import SOURCE_RUN, Cell, Column, Row, Table, assign_ranks, mark_doc_sets
from tests.test_report_fixtures import ALPHA_TL_REPORTED, alpha_tl, write_run

TINY = "/tmp/models/tiny-qwen"


def _tl(protocol=None, versions=None, limit=None):
    records = alpha_tl()[:limit]
    for record in records:
        if protocol:
            record["protocol"] = protocol
        if versions:
            record["versions"] = versions
            record["upstream_task"] = "KiTS23_BiometricsFromLandmarks_Task01"
    return {"medvision_tl_cot": (records, ALPHA_TL_REPORTED)}


@pytest.fixture
def three_runs_of_one_checkpoint(tmp_path):
    """The issue's case: one checkpoint through two wrappers (only device arguments differ), plus a --limit run."""
    stock = {"transformers": "4.57.1", "torch": "2.8.0"}
    write_run(
        tmp_path, "qwen2_5_vl", f"pretrained={TINY},device=cpu,device_map=cpu", "d1", _tl("published", stock), "a"
    )
    write_run(tmp_path, "medvision_qwen2_5_vl", f"pretrained={TINY},device=cpu", "d2", _tl("published", stock), "b")
    newer = {"transformers": "4.58.0", "torch": "2.8.0"}
    write_run(tmp_path, "qwen2_5_vl", f"pretrained={TINY},max_pixels=12845056", "d3", _tl("original", newer, 3), "c")
    return tmp_path


def test_rows_are_named_by_checkpoint_wrapper_arguments_protocol_and_prompt(three_runs_of_one_checkpoint):
    runs = read_runs([three_runs_of_one_checkpoint], progress=False)
    report = build_report(runs, ReportOptions(n_bootstrap=0))
    t3 = report.headline[1]
    labels = [(row.labels["model"], row.labels["docs"], row.labels["doc set"]) for row in t3.rows]
    assert labels == [
        ("tiny-qwen (medvision_qwen2_5_vl) · published · CoT", "4", "A"),
        ("tiny-qwen (qwen2_5_vl) · published · CoT", "4", "A"),
        ("tiny-qwen (qwen2_5_vl) [max_pixels=12845056] · original · CoT", "3", "B"),  # the --limit 3 run
    ]
    assert not any("device" in label for label, _, _ in labels)
    assert [row.labels["model"] for row in report.consistency.rows[::4]] == [
        "tiny-qwen (qwen2_5_vl)",
        "tiny-qwen (medvision_qwen2_5_vl)",
        "tiny-qwen (qwen2_5_vl) [max_pixels=12845056]",
    ]


def test_header_counts_models_and_runs_apart_and_versions_are_shown(three_runs_of_one_checkpoint, tmp_path):
    runs = read_runs([three_runs_of_one_checkpoint], progress=False)
    report = build_report(runs, ReportOptions(n_bootstrap=0))
    page = write_html(report, [], tmp_path / "out" / "report.html").read_text()
    assert "1 model in 3 runs, 3 leaderboard rows" in page
    assert "<th>transformers</th>" in page and "<th>torch</th>" in page
    assert page.count('class="label differs">4.57.1') == 2 and page.count('class="label differs">4.58.0') == 1
    assert 'class="label differs">2.8.0' not in page  # torch is the same in every run
    assert "published" in page and "original" in page
    # The upstream task: once per run in the runs table, once per run in the per-upstream-task table.
    assert page.count("KiTS23_BiometricsFromLandmarks_Task01") == 3 + 3


def test_checkpoint_names():
    assert checkpoint_of(parse_model_args("pretrained=Qwen/Qwen2.5-VL-7B-Instruct,device=cuda"), "w") == (
        "Qwen/Qwen2.5-VL-7B-Instruct"
    )
    assert checkpoint_of(parse_model_args(f"pretrained={TINY}/"), "w") == "tiny-qwen"
    assert checkpoint_of(parse_model_args("model=./ckpt/step-100,seed=1"), "w") == "step-100"
    assert checkpoint_of(parse_model_args("seed=3"), "medvision_random") == "medvision_random"


def _table(rows):
    """rows: (value, doc set) pairs in one ranked IoU column."""
    table = Table("t", "t", "", ["model", "docs"], [Column("s", "S", "iou")], ranked=True)
    for i, (value, docs) in enumerate(rows):
        table.rows.append(
            Row({"model": f"m{i}", "docs": str(len(docs))}, {("s", "iou"): Cell(value)}, SOURCE_RUN, frozenset(docs))
        )
    mark_doc_sets(table)
    assign_ranks(table)
    return table


def test_runs_on_other_docs_are_lettered_and_ranked_apart():
    full, limited = range(18), range(3)
    table = _table([(50.0, full), (40.0, full), (30.0, full), (90.0, limited)])
    assert [r.cells[("s", "iou")].rank for r in table.rows] == [1, 2, 3, None]  # 90 on 3 docs is not gold
    assert [r.labels["doc set"] for r in table.rows] == ["A", "A", "A", "B"]
    assert table.label_columns == ["model", "docs", "doc set"]
    (note,) = table.notes
    assert note.startswith("Not all runs here were evaluated on the same docs (A: 18 docs; B: 3 docs)")
    same = _table([(50.0, full), (40.0, full)])
    assert "doc set" not in same.label_columns and not same.notes


@pytest.mark.parametrize(
    ("values", "metric", "expected"),
    [
        ([0.0, 0.0, 0.0], "iou", [None, None, None]),  # best value 0: no medals
        ([5.0, 0.0, 0.0], "iou", [1, None, None]),  # a score of 0 never gets a medal
        ([0.04, 0.0], "iou", [None, None]),  # both shown as 0.0
        ([0.0, 1.0, 2.0], "mae", [1, 2, 3]),  # an error of 0 is the best there is
    ],
)
def test_zero_scores_get_no_medal(values, metric, expected):
    table = Table("t", "t", "", ["model"], [Column("s", "S", metric)], ranked=True)
    table.rows = [Row({"model": str(i)}, {("s", metric): Cell(v)}) for i, v in enumerate(values)]
    assign_ranks(table)
    assert [r.cells[("s", metric)].rank for r in table.rows] == expected
