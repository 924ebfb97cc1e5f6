"""What a MedVision question family is: one table that every module and the YAML generator read.

MedVision asks three families of questions about a 2D slice, each answered with numbers in
physical units:

========== ============================ ================================== =====================
family     question                     answer                             built from
========== ============================ ================================== =====================
detection  box around one labelled      4 relative corners                 a label mask
           structure                    ``x0,y0,x1,y1`` in [0, 1]
tl         major and minor axis of a    2 lengths in mm                    a label mask
           tumor/lesion's ellipse
ad         a landmark distance, or an   1 value in mm or degrees           landmarks
           angle between two lines
========== ============================ ================================== =====================

Everything that differs by family (task names, the public ``taskType`` spellings it accepts,
answer count, metrics, units, titles, the random baseline's printed decimals) is a field of its
:class:`Family` below; code asks the table instead of keeping its own per-family dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

DETECTION = "detection"
TUMOR_LESION = "tl"
ANGLE_DISTANCE = "ad"

BOX_METRICS = ("recall", "precision", "f1", "iou", "sr", "iou>0.5")
"""Metrics of box answers (definitions: :mod:`medvision_tasks.metrics`)."""
MEASUREMENT_METRICS = ("mae", "mre", "sr", "mre<0.1")
"""Metrics of measured values (definitions: :mod:`medvision_tasks.metrics`)."""
ALL_METRICS = tuple(dict.fromkeys(BOX_METRICS + MEASUREMENT_METRICS))

METRIC_UNITS: Mapping[str, str | None] = MappingProxyType(
    {"box": None, "size": "mm", "distance": "mm", "angle": "degree"}
)
"""Unit of a record's ``metric_type``, as docs write it in ``metric_unit`` (boxes are relative: none)."""


@dataclass(frozen=True)
class Family:
    """One family of MedVision questions.

    Attributes:
        name: its id in docs, records, task hooks and file names (``detection.jsonl``).
        title: the human name, in task aliases and report titles.
        task_stem: task names are ``medvision_<task_stem>[_cot][_<plane>]``.
        task_type: the public ``taskType`` the builder writes.
        task_type_aliases: other ``taskType`` spellings read as this family: the public MedVision
            data's (``Box-Size``, ``Tumor-Lesion-Size``, ``Biometrics-From-Landmarks[-Distance|
            -Angle]``) and the upstream code's (``BoxSize``).
        answer_count: how many numbers an answer carries.
        answer_decimals: decimals the random baseline prints: 6 keeps the whole-pixel edges of
            images up to ~10^5 pixels distinct; mm and degrees need no more than 0.01.
        allows_negative: whether a negative answer value is readable (distances and angles are
            never negative, so a negative one is a parse failure).
        metrics: metric names of its tasks, in results-table order.
        metric_types: the ``metric_type`` its records carry; a family with one fixed type has one
            entry, A/D takes it from the doc (``distance`` or ``angle``).
        uses_mask: built from label masks (detection, T/L) rather than from landmarks (A/D).
        per_plane_tasks: one task per plane (detection, T/L) or one task over every plane (A/D).
        name_fields: doc fields naming what is asked; the prompts need them.
        target_fields: public doc fields holding the ground truth.
    """

    name: str
    title: str
    task_stem: str
    task_type: str
    task_type_aliases: tuple[str, ...]
    answer_count: int
    answer_decimals: int
    allows_negative: bool
    metrics: tuple[str, ...]
    metric_types: tuple[str, ...]
    uses_mask: bool
    per_plane_tasks: bool
    name_fields: tuple[str, ...]
    target_fields: tuple[str, ...]

    @property
    def task_types(self) -> tuple[str, ...]:
        """Every ``taskType`` read as this family, the one the builder writes first."""
        return (self.task_type, *self.task_type_aliases)

    def metric_type_of(self, biometric_profile: Mapping | None) -> str | None:
        """The record's ``metric_type``: the family's own, else the doc's (A/D)."""
        if len(self.metric_types) == 1:
            return self.metric_types[0]
        return (biometric_profile or {}).get("metric_type")


FAMILIES: Mapping[str, Family] = MappingProxyType(
    {
        family.name: family
        for family in (
            Family(
                name=DETECTION,
                title="Detection",
                task_stem="detect",
                task_type="BoxCoordinate",
                task_type_aliases=("Box-Size", "BoxSize"),
                answer_count=4,
                answer_decimals=6,
                allows_negative=True,
                metrics=BOX_METRICS,
                metric_types=("box",),
                uses_mask=True,
                per_plane_tasks=True,
                name_fields=("label_name",),
                target_fields=("label", "bounding_boxes"),
            ),
            Family(
                name=TUMOR_LESION,
                title="Tumor/lesion size",
                task_stem="tl",
                task_type="TumorLesionSize",
                task_type_aliases=("Tumor-Lesion-Size",),
                answer_count=2,
                answer_decimals=2,
                allows_negative=True,
                metrics=MEASUREMENT_METRICS,
                metric_types=("size",),
                uses_mask=True,
                per_plane_tasks=True,
                name_fields=("label_name",),
                target_fields=("label", "biometric_profile"),
            ),
            Family(
                name=ANGLE_DISTANCE,
                title="Angle/distance",
                task_stem="ad",
                task_type="BiometricsFromLandmarks",
                task_type_aliases=(
                    "Biometrics-From-Landmarks",
                    "Biometrics-From-Landmarks-Distance",
                    "Biometrics-From-Landmarks-Angle",
                    "BiometricsFromLandmarks-Distance",
                    "BiometricsFromLandmarks-Angle",
                ),
                answer_count=1,
                answer_decimals=2,
                allows_negative=False,
                metrics=MEASUREMENT_METRICS,
                metric_types=("distance", "angle"),
                uses_mask=False,
                per_plane_tasks=False,
                name_fields=("measurement_name", "landmark_names"),
                target_fields=("biometric_profile",),
            ),
        )
    }
)
"""Every family by name, in the order tasks, files and report tables list them."""
FAMILY_NAMES = tuple(FAMILIES)
MASK_FAMILIES = tuple(name for name, family in FAMILIES.items() if family.uses_mask)

_FAMILY_OF_TASK_TYPE = {task_type: family for family in FAMILIES.values() for task_type in family.task_types}


def get_family(name: str) -> Family:
    """The family called ``name``.

    Raises:
        ValueError: an unknown name; the message lists the known ones.
    """
    try:
        return FAMILIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown family {name!r}; expected one of {FAMILY_NAMES}") from None


def family_of_task_type(task_type: object) -> Family | None:
    """The family a doc's ``taskType`` belongs to, or None for a spelling no family accepts."""
    return _FAMILY_OF_TASK_TYPE.get(str(task_type))
