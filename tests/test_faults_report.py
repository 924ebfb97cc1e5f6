"""Faults in the runs `medvision-tasks report` reads, and data that must not act in its outputs.

Unusable input is exit 2 with one ``MedVision error: report:`` line naming the file; labels from
data are shown, never run (Markdown/HTML, spreadsheet formulas, matplotlib mathtext).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from medvision_tasks.report import files, main
from medvision_tasks.report.tables import csv_cell, escape_markdown
from tests.helpers.records import measurement_record
from tests.test_report_fixtures import ALPHA_TL_REPORTED, alpha_tl, write_run

CLI = str(Path(sys.executable).with_name("medvision-tasks"))


def _run(root: Path, records: list[dict] | None = None, reported: dict | None = None) -> Path:
    tasks = {"medvision_tl": (alpha_tl() if records is None else records, reported or ALPHA_TL_REPORTED)}
    write_run(root, "m", "", "d", tasks)
    return root / "m"


def _report(root: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """The real command line, as a user types it."""
    args = [CLI, "report", str(root), "--out", str(out), "--bootstrap", "0", "--quiet", *extra]
    return subprocess.run(args, check=False, capture_output=True, text=True, timeout=300)


def test_a_samples_file_that_is_not_utf8_is_exit_2_naming_the_file_and_line(tmp_path):
    samples = _run(tmp_path / "runs") / "d_samples_medvision_tl.jsonl"
    lines = samples.read_bytes().splitlines(keepends=True)
    samples.write_bytes(lines[0] + lines[1].replace(b'"kidney tumor"', b'"kidney tum\xf6r"') + b"".join(lines[2:]))
    column = lines[1].index(b"kidney tumor") + len(b"kidney tum") + 1
    finished = _report(tmp_path / "runs", tmp_path / "out", "--no-plots")
    assert finished.returncode == 2
    assert finished.stderr == f"MedVision error: report: {samples}:2: not UTF-8 (byte 0xf6 at column {column})\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("constant", ["Infinity", "-Infinity", "NaN"])
def test_a_record_holding_a_non_finite_number_is_exit_2_naming_the_line(tmp_path, capsys, constant):
    samples = _run(tmp_path / "runs") / "d_samples_medvision_tl.jsonl"
    lines = samples.read_text().splitlines()
    record = json.loads(lines[0])
    record["medvision_record"]["abs_error"] = float(constant.replace("Infinity", "inf"))
    lines[0] = json.dumps(record)  # Python writes the constant, as lmms-eval's json.dumps would
    samples.write_text("\n".join(lines) + "\n")
    assert main([str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--no-plots", "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"MedVision error: report: {samples}:1: holds {constant}, not a number a record may hold\n"
    )


def test_an_infinite_reported_metric_is_exit_2_naming_the_results_file(tmp_path, capsys):
    run = _run(tmp_path / "runs", reported={**ALPHA_TL_REPORTED, "mae": float("inf")})
    results = next(run.glob("*_results.json"))
    assert '"mae,none": Infinity' in results.read_text()
    assert main([str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--no-plots", "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"MedVision error: report: {results}: task medvision_tl: metric 'mae,none' is inf, not a finite number\n"
    )


def test_a_results_file_without_the_filter_suffix_is_read(tmp_path):
    from medvision_tasks.report.runs import read_runs

    run = _run(tmp_path / "runs")
    results = next(run.glob("*_results.json"))
    data = json.loads(results.read_text())
    entry = data["results"]["medvision_tl"]
    data["results"]["medvision_tl"] = {
        (key.split(",")[0] if key.endswith(",none") else key): value for key, value in entry.items()
    }
    results.write_text(json.dumps(data))
    (read,) = read_runs([tmp_path / "runs"], progress=False)
    assert read.tasks["medvision_tl"].reported == ALPHA_TL_REPORTED


HOSTILE_LABEL = "<script>alert(1)</script> $\\frac{a}{$ =HYPERLINK(1) | x"


def test_labels_from_data_are_shown_not_run_in_every_output(tmp_path):
    records = [
        measurement_record(f"KiTS23/tl/{i}", "KiTS23", "tl", "size", errors=(2.0, 0.05), label_name=HOSTILE_LABEL)
        for i in range(3)
    ]
    records.append(measurement_record("=cmd|' /C calc'!A0", "=cmd", "tl", "size", errors=(1.0, 0.1)))
    _run(tmp_path / "runs", records)
    out = tmp_path / "out"
    finished = _report(tmp_path / "runs", out)  # with plots: mathtext must not parse the label
    assert finished.returncode == 0, finished.stderr
    markdown = (out / "report.md").read_text()
    assert "<script>" not in markdown and "&lt;script>alert(1)&lt;/script>" in markdown
    html = (out / "report.html").read_text()
    assert "<script>alert" not in html
    cells = [cell for row in csv.reader(io.StringIO((out / "tables.csv").read_text())) for cell in row]
    assert "=cmd" not in cells and "'=cmd" in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
    assert any(path.suffix == ".png" for path in (out / "plots").iterdir())
    assert not list(out.rglob("*.partial*"))


def test_escaping_rules():
    assert escape_markdown("a|b <i>&\nc") == "a\\|b &lt;i>& c"
    assert escape_markdown("MRE<0.1, x > y, A & B") == "MRE<0.1, x > y, A & B"  # nothing a renderer reads as markup
    assert escape_markdown("&amp; &#60; <!-- c --> <?x ?>") == "&amp;amp; &amp;#60; &lt;!-- c --> &lt;?x ?>"
    assert [csv_cell(t) for t in ("=1+2", "+x", "-x", "@SUM(A1)", "\tx", "-3.5", "+2", "liver")] == [
        "'=1+2",
        "'+x",
        "'-x",
        "'@SUM(A1)",
        "'\tx",
        "-3.5",
        "+2",
        "liver",
    ]


def test_an_output_is_complete_or_absent(tmp_path):
    target = tmp_path / "report.md"
    files.write_text(target, "old\n")
    with pytest.raises(RuntimeError), files.replacing(target) as partial:
        partial.write_text("half of the new")
        raise RuntimeError("killed while writing")
    assert target.read_text() == "old\n" and list(tmp_path.iterdir()) == [target]
    files.write_text(target, "new\n")
    assert target.read_text() == "new\n" and list(tmp_path.iterdir()) == [target]
