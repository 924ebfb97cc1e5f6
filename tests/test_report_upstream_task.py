"""The report's per-upstream-task table: records of docs built by ``prepare --public`` grouped by their task config."""

from dataclasses import replace

import pytest

from medvision_tasks.record import DocRecord
from medvision_tasks.report.build import per_upstream_task_table
from medvision_tasks.report.grouping import System
from tests.helpers.records import measurement_record

KITS = "KiTS23_TumorLesionSize_Task01_Axial_Test"
KIPA = "KiPA22_TumorLesionSize_Task01_Axial_Test"


def _record(key: str, task: str | None, abs_error: float) -> DocRecord:
    record = DocRecord.from_dict(measurement_record(key, "D", "tl", "size", errors=(abs_error, abs_error / 10)))
    return replace(record, upstream_task=task)


def test_rows_per_upstream_task_and_model():
    records = [_record("a", KITS, 2.0), _record("b", KITS, 4.0), _record("c", KIPA, 1.0), _record("d", None, 9.0)]
    table = per_upstream_task_table({System("m", "m"): {"tl": records}}, "tl")
    # KiPA22 before KiTS23; the untagged doc (bundled sample, manifest builds) is in no row.
    assert [(r.labels["upstream task"], r.labels["docs"]) for r in table.rows] == [(KIPA, "1"), (KITS, "2")]
    assert table.rows[1].cells[("all", "mae")].value == pytest.approx(3.0)  # mean of 2 and 4 mm
    assert table.rows[1].cells[("all", "mre")].value == pytest.approx(30.0)  # mean of 0.2 and 0.4, in %


def test_no_table_without_tagged_records():
    assert per_upstream_task_table({System("m", "m"): {"tl": [_record("d", None, 9.0)]}}, "tl") is None
