"""Report tables on hand-built runs: grouping, weighting, failures, ranking, Markdown and CSV.

Expected values are worked out by hand in tests/test_report_fixtures.py.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest

from medvision_tasks.report.build import ReportOptions, build_report
from medvision_tasks.report.runs import read_runs
from medvision_tasks.report.tables import (
    SOURCE_BASELINE,
    SOURCE_PAPER,
    SOURCE_RUN,
    Cell,
    Column,
    Row,
    Table,
    assign_ranks,
    to_csv,
    to_markdown,
)
from tests.test_report_fixtures import (
    EXPECTED_ALPHA_ANATOMY,
    EXPECTED_ALPHA_TUMOR_ALL_REGIONS,
    EXPECTED_BETA_ANATOMY,
    write_fixture_runs,
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = write_fixture_runs(tmp_path_factory.mktemp("runs"))
    runs = read_runs([root], progress=False)
    return build_report(runs, ReportOptions(seed=0, n_bootstrap=50, paper=True))


def table(report, key):
    return next(t for t in report.tables if t.key == key)


def row(tab, **labels):
    found = [r for r in tab.rows if all(r.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (labels, [r.labels for r in tab.rows])
    return found[0]


def values(r, subset):
    return {metric: cell.value for (s, metric), cell in r.cells.items() if s == subset}


def test_table2_anatomy_is_the_sample_weighted_mean_over_regions_of_50_plus_docs(report):
    t2 = table(report, "table2_detection")
    assert values(row(t2, model="alpha · plain"), "anatomy") == pytest.approx(EXPECTED_ALPHA_ANATOMY, abs=1e-9)
    assert values(row(t2, model="beta · plain"), "anatomy") == pytest.approx(EXPECTED_BETA_ANATOMY, abs=1e-9)
    # Kidney (40 docs) is left out and named in a note, with its reason
    assert any("Kidney @ CT (A) (40 docs: under 50 docs)" in note for note in t2.notes)
    assert row(t2, model="alpha · plain").cells[("anatomy", "recall")].n_docs == 150


def test_table2_side_without_a_region_of_50_docs_is_empty_and_said_so(report):
    t2 = table(report, "table2_detection")
    alpha = row(t2, model="alpha · plain")
    assert not any(side == "tumor_lesion" for side, _ in alpha.cells)
    (note,) = [n for n in t2.notes if n.startswith("Tumor/lesion: no region left")]
    assert "no region left for any model" in note and "no fallback" in note
    assert any("Kidney Tumor/Lesion @ CT (A) (20 docs: under 50 docs)" in n for n in t2.notes)
    assert any("Liver Tumor/Lesion @ CT (A) (10 docs: under 50 docs)" in n for n in t2.notes)
    assert "| beta · plain | 150 | 48.0 🥈" in to_markdown(t2, with_ci=False)


def test_min_group_docs_zero_uses_every_region_and_says_it_is_not_the_papers_rule(tmp_path):
    runs = read_runs([write_fixture_runs(tmp_path)], progress=False)
    t2 = build_report(runs, ReportOptions(n_bootstrap=0, min_group_docs=0)).headline[0]
    alpha = row(t2, model="alpha · plain")
    # anatomy with kidney (40 docs, perfect): R (60*60 + 90*50 + 40*100)/190 = 12100/190
    assert alpha.cells[("anatomy", "recall")].value == pytest.approx(100 * 121 / 190)
    assert alpha.cells[("anatomy", "recall")].ci is None
    assert values(alpha, "tumor_lesion") == pytest.approx(EXPECTED_ALPHA_TUMOR_ALL_REGIONS, abs=1e-9)
    assert any("not the paper's aggregation" in note for note in t2.notes)


def test_table3_and_table4_subtasks_of_one_label_group_give_that_groups_means(report):
    # Each sub-task here holds one label group (T/L: kidney tumor; each A/D sub-task one measurement
    # type of one dataset), so its group-weighted mean (the paper's rule) is that group's mean over its
    # parsed docs; where the two rules differ is tested in tests/test_report_paper.py.
    t3 = table(report, "table3_tumor_lesion_size")
    assert values(row(t3, model="alpha · plain"), "all") == pytest.approx(
        {"mae": 4.0, "mre": 11.0, "sr": 75.0, "mre<0.1": 50.0}
    )
    t4 = table(report, "table4_angle_distance")
    alpha = row(t4, model="alpha · plain")
    assert values(alpha, "ceph_distance") == pytest.approx({"mae": 2.0, "mre": 4.0, "sr": 100.0, "mre<0.1": 100.0})
    assert values(alpha, "ceph_angle") == pytest.approx({"mae": 10.0, "mre": 50.0, "sr": 50.0, "mre<0.1": 0.0})
    assert values(alpha, "feta24_distance") == pytest.approx({"mae": 10.0, "mre": 20.0, "sr": 100.0, "mre<0.1": 0.0})
    # paper column order, as in its Table 4
    assert [c.subset for c in t4.columns[::4]] == ["ceph_distance", "ceph_angle", "feta24_distance"]


def test_user_runs_are_ranked_among_themselves(report):
    t2 = table(report, "table2_detection")
    alpha, beta = row(t2, model="alpha · plain"), row(t2, model="beta · plain")
    ranks = {m: (alpha.cells[("anatomy", m)].rank, beta.cells[("anatomy", m)].rank) for m in EXPECTED_ALPHA_ANATOMY}
    assert ranks == {
        "recall": (1, 2),
        "precision": (2, 1),
        "f1": (2, 1),
        "iou": (2, 1),
        "sr": (None, None),
        "iou>0.5": (2, 1),
    }


# Medals of the paper's project page, per column (gold, silver, bronze), typed from the page.
PAPER_MEDALS = {
    (row["table"], row["subset"], row["metric"]): (row["gold"], row["silver"], row["bronze"])
    for row in csv.DictReader((Path(__file__).parent / "data" / "paper_medals.csv").read_text().splitlines())
}


def test_published_rows_reproduce_the_paper_medals_exactly(report):
    for tab in report.headline:
        published = [r for r in tab.rows if r.source == SOURCE_PAPER]
        assert len(published) == 13, tab.key
        for column in tab.columns:
            if column.metric == "sr":
                assert all(r.cells[column.key].rank is None for r in published)
                continue
            medalled = sorted(
                (r.cells[column.key].rank, r.labels["model"]) for r in published if r.cells[column.key].rank
            )
            assert tuple(model for _, model in medalled) == PAPER_MEDALS[(tab.key, column.subset, column.metric)], (
                column
            )


def _ranked(values, metric="iou", decimals=1, sources=None):
    tab = Table("t", "t", "", ["model"], [Column("s", "S", metric, decimals)], ranked=True)
    for i, value in enumerate(values):
        source = sources[i] if sources else SOURCE_RUN
        tab.rows.append(Row({"model": str(i)}, {("s", metric): Cell(value)}, source=source))
    assign_ranks(tab)
    return [r.cells[("s", metric)].rank for r in tab.rows]


@pytest.mark.parametrize(
    ("values", "metric", "expected"),
    [
        ([80.0, 80.0, 70.0, 60.0], "iou", [1, 1, 3, None]),  # tie shares gold, silver skipped
        ([70.0, 80.04, 79.96, 60.0], "iou", [3, 1, 1, None]),  # ranked on the shown value (80.0)
        ([1.04, 1.01, 2.0, 0.5], "mae", [2, 2, None, 1]),  # lower is better; 1.0 and 1.0 tie
        ([3.0, math.nan, 1.0, 2.0], "mre", [3, None, 1, 2]),  # undefined is never ranked
        ([100.0, 90.0, 80.0], "sr", [None, None, None]),  # success rate is not ranked
        ([5.0, 5.0, 5.0], "f1", [None, None, None]),  # all equal: no marks
        ([42.0], "f1", [None]),  # one row: no marks
    ],
)
def test_rank_marks(values, metric, expected):
    assert _ranked(values, metric) == expected


def test_sources_are_ranked_separately_and_baselines_not_at_all():
    ranks = _ranked(
        [10.0, 20.0, 90.0, 80.0, 99.0],
        sources=[SOURCE_RUN, SOURCE_RUN, SOURCE_PAPER, SOURCE_PAPER, SOURCE_BASELINE],
    )
    assert ranks == [2, 1, 1, 2, None]


def test_per_label_rows_hold_each_region_and_model(report):
    per_label = table(report, "per_label_detection")
    liver_alpha = row(per_label, group="Liver @ CT (A)", model="alpha · plain")
    assert liver_alpha.labels["datasets"] == "AMOS22" and liver_alpha.labels["Table 2"] == "anatomy"
    # 45 of 60 parsed with IoU .55 and F1 .7: IoU>=0.5 45/60; IoU>=0.6 none; F1>=0.5 and >=0.6 45/60, >=0.7 too
    assert values(liver_alpha, "all") == pytest.approx(
        {
            "recall": 60.0,
            "precision": 45.0,
            "f1": 52.5,
            "iou": 41.25,
            "sr": 75.0,
            "iou>0.5": 75.0,
            "iou>0.6": 0.0,
            "iou>0.7": 0.0,
            "iou>0.8": 0.0,
            "iou>0.9": 0.0,
            "f1>0.5": 75.0,
            "f1>0.6": 75.0,
            "f1>0.7": 75.0,
            "f1>0.8": 0.0,
            "f1>0.9": 0.0,
        }
    )
    liver_beta = row(per_label, group="Liver @ CT (A)", model="beta · plain")
    assert values(liver_beta, "all")["iou"] == pytest.approx(80.0)
    kidney = row(per_label, group="Kidney @ CT (A)", model="alpha · plain")
    assert kidney.labels["docs"] == "40" and kidney.labels["Table 2"] == "no: under 50 docs"
    coronal = row(per_label, group="Liver @ CT (C)", model="alpha · plain")
    assert values(coronal, "all")["iou"] == pytest.approx(10.0)
    assert coronal.labels["Table 2"] == "no: coronal"
    # axial rows come before coronal rows
    planes = [r.labels["group"][-3:] for r in per_label.rows]
    assert planes == sorted(planes, key=lambda p: p != "(A)")
    tl = row(table(report, "per_label_tl"), group="kidney tumor @ MR (A)", model="alpha · plain")
    # errors .05, .2, failure, .08 of 4 docs: buckets 0, 2, -, 0 -> MRE<0.1 2/4, <0.2 2/4, <0.3 3/4 ... <1.0 3/4 = SR
    assert values(tl, "all") == pytest.approx(
        {"mae": 4.0, "mre": 11.0, "sr": 75.0, "mre<0.1": 50.0, "mre<0.2": 50.0}
        | {f"mre<{k / 10:.1f}": 75.0 for k in range(3, 11)}
    )


def test_plane_tables_compare_only_label_groups_present_on_every_plane(report):
    planes = table(report, "planes_detection")
    alpha = row(planes, model="alpha · plain")
    assert alpha.labels["label groups"] == "1"  # liver only
    assert values(alpha, "axial") == pytest.approx(
        {"recall": 60.0, "precision": 45.0, "f1": 52.5, "iou": 41.25, "sr": 75.0, "iou>0.5": 75.0}
    )
    assert values(alpha, "coronal") == pytest.approx(
        {"recall": 15.0, "precision": 15.0, "f1": 15.0, "iou": 10.0, "sr": 50.0, "iou>0.5": 0.0}
    )
    assert [r.labels["model"] for r in planes.rows] == ["alpha · plain"]  # beta ran axial only
    ad = row(table(report, "planes_ad"), model="alpha · plain")  # FeTA24 distance only; Ceph is axial only
    assert values(ad, "axial") == pytest.approx({"mae": 5.0, "mre": 10.0, "sr": 100.0, "mre<0.1": 0.0})
    assert values(ad, "coronal") == pytest.approx({"mae": 15.0, "mre": 30.0, "sr": 100.0, "mre<0.1": 0.0})
    assert "planes_tl" not in {t.key for t in report.tables}


def test_box_size_bins_and_random_baseline_rows(report):
    box = report.box_size
    # alpha: liver (60) and both tumor groups (30) are 1-2 % of the image -> under 5 %; spleen 7 % -> 5-10 %;
    # kidney 12 % -> 10-15 %.
    docs = {(r.labels["box area"], r.labels["model"]): int(r.labels["docs"]) for r in box.rows}
    random = "random boxes (the benchmark's random model)"
    assert docs == {
        ("<5%", "alpha · plain"): 90,
        ("<5%", "beta · plain"): 60,
        ("<5%", random): 90,
        ("5–10%", "alpha · plain"): 90,
        ("5–10%", "beta · plain"): 90,
        ("5–10%", random): 90,
        ("10–15%", "alpha · plain"): 40,
        ("10–15%", random): 40,
    }
    spleen_alpha = row(box, **{"box area": "5–10%", "model": "alpha · plain"})
    assert values(spleen_alpha, "all")["iou"] == pytest.approx(30.0)
    baseline = [r for r in box.rows if r.source == SOURCE_BASELINE]
    assert all(r.cells[("all", "sr")].value == 100.0 for r in baseline)
    assert all(0.0 < r.cells[("all", "iou")].value < 100.0 for r in baseline)


def test_consistency_table_matches_lmms_eval_numbers(report):
    check = report.consistency
    assert len(check.rows) == 6 + 6 + 4 + 4 + 6  # alpha detect, coronal, tl, ad; beta detect
    for r in check.rows:
        assert r.cells[("difference", "value")].value == pytest.approx(0.0, abs=1e-9), r.labels


def test_csv_is_long_format_with_the_paper_columns(report):
    t3 = table(report, "table3_tumor_lesion_size")
    lines = list(csv.DictReader(io.StringIO(to_csv(t3))))
    assert list(lines[0])[:5] == ["table", "model", "subset", "metric", "value"]
    alpha_mae = next(line for line in lines if line["model"] == "alpha · plain" and line["metric"] == "mae")
    assert float(alpha_mae["value"]) == pytest.approx(4.0)
    assert alpha_mae["source"] == "run" and alpha_mae["n_docs"] == "4"
    assert float(alpha_mae["ci_low"]) <= 4.0 <= float(alpha_mae["ci_high"])
    published = next(line for line in lines if line["model"] == "MedVision-V0 (7B)" and line["metric"] == "mae")
    assert published == {**published, "value": "10.5", "source": "paper", "rank": "1", "n_docs": "", "ci_low": ""}


def test_markdown_marks_published_rows(report):
    text = to_markdown(table(report, "table2_detection"))
    assert "| _MedVision-V0 (7B)_ (paper) | – | 81.3 🥇 |" in text
    assert "54.0 🥇 (" in text  # alpha's anatomy recall with its interval


def test_a_model_that_never_answers_has_no_error_and_zero_success(tmp_path):
    from tests.helpers.records import measurement_record
    from tests.test_report_fixtures import ALPHA_TL_REPORTED, alpha_tl, write_run

    silent = [
        measurement_record(f"KiTS23/tl/{i}", "KiTS23", "tl", "size", errors=None, label_name="kidney tumor")
        for i in range(4)
    ]
    write_run(tmp_path, "alpha", "", "d1", {"medvision_tl": (alpha_tl(), ALPHA_TL_REPORTED)})
    write_run(
        tmp_path,
        "silent",
        "",
        "d2",
        {"medvision_tl": (silent, {"mae": math.nan, "mre": math.nan, "sr": 0.0, "mre<0.1": 0.0})},
    )
    t3 = build_report(read_runs([tmp_path], progress=False), ReportOptions(n_bootstrap=20)).headline[1]
    # Upstream's Table 3 leaves a group without a parsed answer out of every number, SR included:
    # the silent model has no number at all, and the note says why.
    assert row(t3, model="silent · plain").cells == {}
    assert (
        "Left out of silent · plain's numbers, SR included (no parsed answer, as upstream): every group (1 group, "
        "4 docs)." in t3.notes
    )
    assert row(t3, model="alpha · plain").cells[("all", "mae")].rank is None  # the only defined MAE: nothing to compare
    assert "| silent · plain | 0 | – | – | – | – |" in to_markdown(t3)


def test_measurements_under_the_default_image_policy_are_flagged(tmp_path):
    from tests.test_report_fixtures import ALPHA_TL_REPORTED, alpha_tl, write_run

    unmapped = [{**record, "image_policy": "unmapped_native"} for record in alpha_tl()]
    mapped = [{**record, "image_policy": "qwen2_5_vl"} for record in alpha_tl()]
    unrecorded = [
        {**record, "image_policy": "unknown", "image_size": None, "pixel_size": None} for record in alpha_tl()
    ]
    write_run(tmp_path, "unknown_vlm", "", "d1", {"medvision_tl": (unmapped, ALPHA_TL_REPORTED)})
    write_run(tmp_path, "qwen2_5_vl", "", "d2", {"medvision_tl": (mapped, ALPHA_TL_REPORTED)})
    write_run(tmp_path, "scored_elsewhere", "", "d3", {"medvision_tl": (unrecorded, ALPHA_TL_REPORTED)})
    headline = build_report(read_runs([tmp_path], progress=False), ReportOptions(n_bootstrap=0)).headline
    (note,) = [n for n in headline[1].notes if n.startswith("Unverified spacing")]
    assert "unknown_vlm · plain ran under the default image policy `unmapped_native`" in note
    assert "qwen2_5_vl" not in note.split("ran under")[0]
    (unknown,) = [n for n in headline[1].notes if n.startswith("Unknown stated geometry")]
    assert unknown.startswith("Unknown stated geometry: records of scored_elsewhere · plain carry no entry")
    assert not any(n.startswith(("Unverified spacing", "Unknown")) for n in headline[2].notes)  # no A/D runs


def test_random_boxes_are_drawn_on_the_slice_grid_not_the_stated_size():
    from medvision_tasks.report.paper import random_baseline_record
    from tests.helpers.records import detection_record, typed

    # A 2 x 2 slice shown to the model at 504 x 504: widths and heights can only be 1 or 2 pixels, so
    # against a whole-image target every IoU (= the box's area) is 1/4, 1/2 or 1.
    (record,) = typed(
        [
            {
                **detection_record("d", "D", "x"),
                "slice_size": [2, 2],
                "image_size": [504, 504],
                "target": [0.0, 0.0, 1.0, 1.0],
            }
        ]
    )
    ious = {round(random_baseline_record(record, seed, draws=1).iou, 12) for seed in range(60)}
    assert ious == {0.25, 0.5, 1.0}
