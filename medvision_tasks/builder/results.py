"""What building produces: skipped slices with their reasons, each family's docs, and one case's result.

A case's result is plain data end to end: :class:`CaseResult` is what a worker process returns,
what the per-case cache stores (:meth:`CaseResult.to_json`) and what the driver merges.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from medvision_tasks.builder.spec import CaseSpec
from medvision_tasks.families import FAMILY_NAMES

# Skip reasons: summary.json counts skips by these exact strings (docs/data.md lists them).
SKIP_SPLIT = "label is not one 4-connected component in the slice"
SKIP_SMALL_BOX = "box side under {min_side} px"
SKIP_SMALL_LESION = "lesion under {min_pixels} px"
SKIP_NO_FIT = "ellipse fit failed"
SKIP_BAND = "ellipse endpoints outside the 0.9x-1.1x box band"
SKIP_STEP = "slice not on the slice_step grid"
SKIP_MAX = "beyond max_slices_per_label_plane"
SKIP_FAR = "landmark farther than {tolerance} mm from the slice"
SKIP_OUTSIDE = "landmark outside the volume"
SKIP_MISSING_LANDMARK = "landmark not in the landmark file"
SKIP_ZERO = "measured value is zero"
SKIP_LABEL_ABSENT = "label absent from the mask"
ALL_PLANES = "all"
"""The ``plane`` of a skip that concerns every plane (a label absent from its mask)."""


class Skip(NamedTuple):
    """What was skipped and why; counted per case in a ``Counter[Skip]``.

    Attributes:
        family: "detection", "tl", "ad", or "unknown" (an import of an unknown ``taskType``).
        item: the label name, the measurement key, or "imported".
        plane: "axial", "coronal", "sagittal" or :data:`ALL_PLANES`.
        reason: one of the ``SKIP_*`` texts, filled in.
    """

    family: str
    item: str
    plane: str
    reason: str


def skip_rows(skips: Mapping[Skip, int]) -> list[dict]:
    """``{family, item, plane, reason, count}`` per skip, in first-seen order (summary.json's ``details``)."""
    return [{**skip._asdict(), "count": count} for skip, count in skips.items()]


@dataclass(frozen=True)
class FamilyDocs:
    """What one family builder made: its docs, what it skipped, and what it has to report.

    Attributes:
        docs: the docs, in slice order.
        skips: skip -> count, in first-seen order.
        errors: problems worth a message (e.g. a measurement naming an unknown landmark).
        landmarks: entries of the family's landmark file (T/L: ellipse endpoints by doc; A/D:
            the landmarks and their per-doc projections); empty when it writes none.
    """

    docs: tuple[dict, ...] = ()
    skips: Mapping[Skip, int] = field(default_factory=lambda: MappingProxyType({}))
    errors: tuple[str, ...] = ()
    landmarks: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class CaseResult:
    """One case, built or failed.

    Attributes:
        case: ``dataset/case``.
        dataset_name: the case's dataset.
        subject_id: the unit of the train/test split.
        docs: family -> its docs (without split), every family present.
        skips: skip -> count, in first-seen order.
        errors: messages, each naming the case.
        fatal: True when the case produced nothing (its files are removed).
        files: files written, relative to the output directory.
    """

    case: str
    dataset_name: str
    subject_id: str
    docs: Mapping[str, tuple[dict, ...]]
    skips: Mapping[Skip, int]
    errors: tuple[str, ...]
    fatal: bool
    files: tuple[str, ...]

    @classmethod
    def failed(cls, case: CaseSpec, errors: tuple[str, ...], message: str) -> CaseResult:
        """A case that produced nothing: the errors seen so far and the one that stopped it."""
        return cls(
            case=case.name,
            dataset_name=case.dataset_name,
            subject_id=case.subject_id,
            docs={family: () for family in FAMILY_NAMES},
            skips={},
            errors=(*errors, f"case {case.name}: {message}"),
            fatal=True,
            files=(),
        )

    def to_json(self) -> dict[str, Any]:
        """The result as JSON data (the per-case cache's ``result``)."""
        return {
            "case": self.case,
            "dataset_name": self.dataset_name,
            "subject_id": self.subject_id,
            "docs": {family: list(docs) for family, docs in self.docs.items()},
            "skips": skip_rows(self.skips),
            "errors": list(self.errors),
            "fatal": self.fatal,
            "files": list(self.files),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CaseResult:
        """A result read back from :meth:`to_json`.

        Raises:
            KeyError, TypeError, ValueError: data not written by :meth:`to_json` (the cache
                treats it as absent).
        """
        skips: Counter[Skip] = Counter()
        for row in data["skips"]:
            skips[Skip(row["family"], row["item"], row["plane"], row["reason"])] += int(row["count"])
        return cls(
            case=str(data["case"]),
            dataset_name=str(data["dataset_name"]),
            subject_id=str(data["subject_id"]),
            docs={family: tuple(data["docs"][family]) for family in FAMILY_NAMES},
            skips=skips,
            errors=tuple(data["errors"]),
            fatal=bool(data["fatal"]),
            files=tuple(data["files"]),
        )
