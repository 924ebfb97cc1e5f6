"""The ``medvision-tasks`` command line: version, help into a closed pipe, one message prefix, defaults."""

from __future__ import annotations

import subprocess
import sys

from medvision_tasks import __version__
from medvision_tasks.cli import BROKEN_PIPE_STATUS, main
from tests.test_report_fixtures import write_fixture_runs


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"medvision-tasks {__version__}\n"


def test_help_into_a_closed_pipe_ends_without_a_traceback():
    # `medvision-tasks -h | head -0`: the reader is gone before the help is written.
    for command in (["-h"], ["report", "-h"], ["prepare", "-h"]):
        process = subprocess.Popen(
            [sys.executable, "-m", "medvision_tasks.cli", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        process.stdout.close()
        stderr = process.stderr.read().decode()
        process.stderr.close()
        assert process.wait(timeout=60) in (0, BROKEN_PIPE_STATUS), command
        assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_an_unknown_command_is_an_error_with_the_usage(capsys):
    assert main(["preapre"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("MedVision error: unknown command 'preapre'\nusage: medvision-tasks COMMAND")


def test_report_writes_to_medvision_report_by_default(tmp_path, monkeypatch, capsys):
    runs = write_fixture_runs(tmp_path / "runs")
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(runs), "--bootstrap", "0", "--no-plots"]) == 0
    assert (tmp_path / "medvision-report" / "report.html").is_file()
    out = capsys.readouterr().out
    assert out.startswith("### Table 2: Detection")  # the leaderboard first, then where the files went
    assert out.endswith("MedVision: report wrote 23 files to medvision-report; open medvision-report/report.html\n")
