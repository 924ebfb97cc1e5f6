"""Published numbers of the MedVision paper (arXiv 2511.18676), Tables 2-4.

Shipped as package data: ``medvision_tasks/reference/paper_tables.csv`` with columns
``table, model, subset, metric, value`` (percent; MAE in mm or degrees). They were measured on
the paper's full test split, not on the docs of the user's runs: the report shows them as
separate, clearly marked rows and ranks them only among themselves.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

PAPER_CSV = "paper_tables.csv"
PAPER_TABLE_KEYS = {
    "2_detection": "table2_detection",
    "3_tumor_lesion_size": "table3_tumor_lesion_size",
    "4_angle_distance": "table4_angle_distance",
}
"""Paper table name -> report table key."""
CITATION = (
    "Yao et al., MedVision: Dataset and Benchmark for Quantitative Medical Image Analysis, arXiv 2511.18676 (2025)"
)


@dataclass(frozen=True)
class PublishedValue:
    """One published number: report table key, model, subset, metric, value."""

    table: str
    model: str
    subset: str
    metric: str
    value: float


def load_published() -> list[PublishedValue]:
    """The paper's numbers, in file order (the paper's row order).

    Raises:
        ValueError: the shipped file is malformed (names the line).
    """
    source = resources.files("medvision_tasks") / "reference" / PAPER_CSV
    values = []
    with source.open(encoding="utf-8") as handle:
        for line_number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                values.append(
                    PublishedValue(
                        table=PAPER_TABLE_KEYS[row["table"]],
                        model=row["model"],
                        subset=row["subset"],
                        metric=row["metric"],
                        value=float(row["value"]),
                    )
                )
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"{PAPER_CSV}:{line_number}: malformed row {row!r} ({error})") from error
    return values
