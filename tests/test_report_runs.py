"""Reading lmms-eval output folders, and the errors for folders the report cannot use."""

from __future__ import annotations

import json

import pytest

from medvision_tasks.report import main
from medvision_tasks.report.grouping import System, collect_systems
from medvision_tasks.report.runs import ReportInputError, read_runs
from tests.test_report_fixtures import (
    ALPHA_TL_REPORTED,
    BETA_DETECT_REPORTED,
    REPORT_TABLE_KEYS,
    alpha_tl,
    beta_detection,
    write_fixture_runs,
    write_run,
)


def test_reads_every_run_below_the_folder(tmp_path):
    runs = read_runs([write_fixture_runs(tmp_path)], progress=False)
    assert [(r.model, r.model_id, r.model_args) for r in runs] == [("alpha", "alpha", "seed=0"), ("beta", "beta", "")]
    alpha = runs[0]
    assert sorted(alpha.tasks) == ["medvision_ad", "medvision_detect", "medvision_detect_coronal", "medvision_tl"]
    assert alpha.tasks["medvision_tl"].family == "tl"
    assert alpha.tasks["medvision_tl"].reported == ALPHA_TL_REPORTED
    assert len(alpha.tasks["medvision_detect"].records) == 220
    assert alpha.date == "2026-01-01T10-00-00.000000"


def test_older_samples_with_the_record_under_every_metric_key_read_the_same(tmp_path):
    from medvision_tasks.report.build import ReportOptions, build_report
    from medvision_tasks.report.tables import tables_to_csv

    new = read_runs([write_fixture_runs(tmp_path / "new")], progress=False)
    old = read_runs([write_fixture_runs(tmp_path / "old", layout="per_metric")], progress=False)
    assert [t.record_per_metric for r in old for t in r.tasks.values()] == [True] * 5
    assert [t.record_per_metric for r in new for t in r.tasks.values()] == [False] * 5
    options = ReportOptions(n_bootstrap=30)
    assert tables_to_csv(build_report(new, options).tables) == tables_to_csv(build_report(old, options).tables)


def test_a_model_folder_or_a_results_file_works_as_well(tmp_path):
    root = write_fixture_runs(tmp_path)
    assert [r.model for r in read_runs([root / "beta"], progress=False)] == ["beta"]
    results = next((root / "alpha").glob("*_results.json"))
    assert list(read_runs([results], progress=False)[0].tasks) == [
        "medvision_detect",
        "medvision_detect_coronal",
        "medvision_tl",
        "medvision_ad",
    ]


def test_cot_tasks_make_their_own_system(tmp_path):
    write_run(
        tmp_path,
        "m",
        "",
        "d1",
        {"medvision_tl": (alpha_tl(), ALPHA_TL_REPORTED), "medvision_tl_cot": (alpha_tl(), ALPHA_TL_REPORTED)},
    )
    runs = read_runs([tmp_path], progress=False)
    assert runs[0].tasks["medvision_tl_cot"].cot and not runs[0].tasks["medvision_tl"].cot
    systems = collect_systems(runs)
    assert list(systems) == [System("m", "m", task_variant="plain"), System("m", "m", task_variant="cot")]
    assert [s.name for s in systems] == ["m · plain", "m · CoT"]


def test_same_name_different_arguments_are_told_apart(tmp_path):
    write_run(
        tmp_path, "medvision_random", "seed=0", "d1", {"medvision_tl": (alpha_tl(), ALPHA_TL_REPORTED)}, folder="a"
    )
    write_run(
        tmp_path, "medvision_random", "seed=1", "d2", {"medvision_tl": (alpha_tl(), ALPHA_TL_REPORTED)}, folder="b"
    )
    names = [r.label for r in read_runs([tmp_path], progress=False)]
    assert names == ["medvision_random [seed=0]", "medvision_random [seed=1]"]


def test_a_doc_read_twice_keeps_the_latest_run(tmp_path):
    old = alpha_tl()
    new = [dict(r, abs_error=1.0) if r["parsed"] else r for r in alpha_tl()]
    write_run(tmp_path, "m", "", "2026-01-01", {"medvision_tl": (old, ALPHA_TL_REPORTED)}, folder="x")
    write_run(tmp_path, "m", "", "2026-02-01", {"medvision_tl": (new, ALPHA_TL_REPORTED)}, folder="y")
    records = collect_systems(read_runs([tmp_path], progress=False))[System("m", "m")]["tl"]
    assert len(records) == 4
    assert [r.abs_error for r in records if r.parsed] == [1.0, 1.0, 1.0]


def test_group_entries_and_other_tasks_are_skipped(tmp_path):
    path = write_run(tmp_path, "m", "", "d", {"medvision_tl": (alpha_tl(), ALPHA_TL_REPORTED)})
    data = json.loads(path.read_text())
    data["results"]["medvision"] = {"alias": "medvision", "sr,none": 75.0}
    data["group_subtasks"]["medvision"] = ["medvision_tl"]
    data["results"]["mmmu_val"] = {"acc,none": 0.5}
    path.write_text(json.dumps(data))
    assert list(read_runs([tmp_path], progress=False)[0].tasks) == ["medvision_tl"]


def test_missing_folder(tmp_path):
    with pytest.raises(ReportInputError, match="no such file or folder"):
        read_runs([tmp_path / "nope"])


def test_folder_without_results(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ReportInputError, match=r"no lmms-eval results \(\*_results.json\).*no results were written"):
        read_runs([tmp_path])


def test_results_without_medvision_tasks(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "d_results.json").write_text(json.dumps({"results": {"mmmu_val": {"acc,none": 0.5}}}))
    with pytest.raises(ReportInputError, match=r"no MedVision task output \(tasks found: mmmu_val\)"):
        read_runs([tmp_path])


def test_results_without_samples_ask_for_log_samples(tmp_path):
    write_run(tmp_path, "m", "", "d", {"medvision_tl": (alpha_tl(), ALPHA_TL_REPORTED)})
    (tmp_path / "m" / "d_samples_medvision_tl.jsonl").unlink()
    with pytest.raises(
        ReportInputError, match=r"task medvision_tl has no samples file d_samples_medvision_tl.jsonl.*--log_samples"
    ):
        read_runs([tmp_path])


def test_malformed_results_json(tmp_path):
    (tmp_path / "d_results.json").write_text("{not json")
    with pytest.raises(ReportInputError, match=r"d_results.json: not valid JSON"):
        read_runs([tmp_path])


def _record_changed(**changes):
    """A samples-line mutation: the per-doc record under every metric key with ``changes`` applied."""

    def mutate(line: str) -> str:
        data = json.loads(line)
        return json.dumps({k: ({**v, **changes} if isinstance(v, dict) else v) for k, v in data.items()})

    return mutate


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda line: "{broken", r"samples_medvision_detect.jsonl:2: not valid JSON"),
        (
            lambda line: json.dumps({"doc_id": 1, "recall": 0.5}),
            r":2: no per-doc record under 'medvision_record' or any metric key",
        ),
        (_record_changed(doc_key=None), r":2: per-doc record has no field 'doc_key'"),
        (_record_changed(parsed="yes"), r":2: record field 'parsed' must be true or false"),
        (_record_changed(iou=None), r":2: parsed doc's record needs a finite number in 'iou'"),
        (_record_changed(family="vqa"), r":2: record field 'family' is 'vqa'"),
        (_record_changed(target=[0.1, 0.2]), r":2: record field 'target' must be a list of 4 finite number"),
    ],
)
def test_bad_samples_lines_name_file_and_line(tmp_path, mutate, message):
    write_run(tmp_path, "m", "", "d", {"medvision_detect": (beta_detection(), BETA_DETECT_REPORTED)})
    samples = tmp_path / "m" / "d_samples_medvision_detect.jsonl"
    lines = samples.read_text().splitlines()
    lines[1] = mutate(lines[1])
    samples.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReportInputError, match=message):
        read_runs([tmp_path], progress=False)


def test_cli_reports_unusable_input_with_exit_status_2(tmp_path, capsys):
    assert main([str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("MedVision error: report: ") and "no lmms-eval results" in err


def test_cli_writes_tables_markdown_csv_and_html(tmp_path, capsys):
    root = write_fixture_runs(tmp_path / "runs")
    out = tmp_path / "out"
    assert (
        main([str(root), "--out", str(out), "--bootstrap", "20", "--seed", "3", "--paper", "--no-plots", "--quiet"])
        == 0
    )
    assert capsys.readouterr().out == ""
    for stem in REPORT_TABLE_KEYS:
        assert (out / "tables" / f"{stem}.md").is_file() and (out / "tables" / f"{stem}.csv").is_file()
    assert (out / "report.html").is_file() and (out / "report.md").is_file() and (out / "tables.csv").is_file()
    assert not (out / "plots").exists()


def test_cli_rejects_negative_options(tmp_path):
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--out", str(tmp_path), "--bootstrap", "-1"])


def test_progress_bar_goes_to_stderr_when_asked(tmp_path, capsys):
    read_runs([write_fixture_runs(tmp_path)], progress=True)
    assert "reading samples" in capsys.readouterr().err


def test_same_seed_same_files_other_seed_other_intervals_only(tmp_path):
    root = write_fixture_runs(tmp_path / "runs")
    outs = []
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        out = tmp_path / name
        assert main([str(root), "--out", str(out), "--seed", seed, "--bootstrap", "30", "--quiet"]) == 0
        outs.append(out)
    same = [(p.relative_to(outs[0]), p.read_bytes()) for p in sorted(outs[0].rglob("*")) if p.is_file()]
    assert same == [(p.relative_to(outs[1]), p.read_bytes()) for p in sorted(outs[1].rglob("*")) if p.is_file()]
    table3 = [(outs[i] / "tables" / "table3_tumor_lesion_size.csv").read_text().splitlines() for i in (0, 2)]
    rows = [[line.split(",") for line in lines[1:]] for lines in table3]
    assert [r[:5] for r in rows[0]] == [r[:5] for r in rows[1]]  # same values
    assert [r[5:7] for r in rows[0]] != [r[5:7] for r in rows[1]]  # other intervals
