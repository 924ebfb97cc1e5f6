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
:class:`Family` in the table :data:`FAMILIES`; code asks the table instead of keeping its own
per-family dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from medvision_tasks.messages import look_up
from medvision_tasks.planes import PLANES

DETECTION = "detection"
TUMOR_LESION = "tl"
ANGLE_DISTANCE = "ad"

TASK_PREFIX = "medvision"
"""Every MedVision task and group name starts with it (task names: :mod:`medvision_tasks.variants`)."""

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
class Answer:
    """The numbers an answer carries.

    Attributes:
        count: how many numbers (box corners; major, minor; one value).
        decimals: decimals the random baseline prints: 6 keeps the whole-pixel edges of images up
            to ~10^5 pixels distinct; mm and degrees need no more than 0.01.

    Whether a negative angle/distance is readable is the protocol's (:mod:`medvision_tasks.protocols`).
    """

    count: int
    decimals: int


@dataclass(frozen=True)
class Asks:
    """What a family's question is about: a mask label, or a measurement between landmarks.

    Attributes:
        name_fields: doc fields naming it; the prompts need them.
        uses_mask: built from label masks (else from landmark files).
        per_plane_tasks: one task per plane (else one task over every plane).
    """

    name_fields: tuple[str, ...]
    uses_mask: bool
    per_plane_tasks: bool


LABEL = Asks(name_fields=("label_name",), uses_mask=True, per_plane_tasks=True)
MEASUREMENT = Asks(name_fields=("measurement_name", "landmark_names"), uses_mask=False, per_plane_tasks=False)


@dataclass(frozen=True)
class Family:
    """One family of MedVision questions.

    Attributes:
        name: its id in docs, records, task hooks and file names (``detection.jsonl``).
        title: the human name, in task aliases and report titles.
        task_stem: task names are ``medvision_<task_stem><variant>[_<plane>]`` (:mod:`medvision_tasks.variants`).
        task_types: every ``taskType`` read as this family: first the one the builder writes,
            then the public MedVision data's spellings (``Box-Size``, ``Tumor-Lesion-Size``,
            ``Biometrics-From-Landmarks[-Distance|-Angle]``) and the upstream code's
            (``BoxSize``, ``TumorLesionSize``).
        answer: the numbers an answer carries.
        metrics: metric names of its tasks, in results-table order.
        metric_types: the ``metric_type`` its records carry; a family with one fixed type has one
            entry, A/D takes it from the doc (``distance`` or ``angle``).
        asks: what a question is about (:data:`LABEL` or :data:`MEASUREMENT`).
        target_fields: public doc fields holding the ground truth.
    """

    name: str
    title: str
    task_stem: str
    task_types: tuple[str, ...]
    answer: Answer
    metrics: tuple[str, ...]
    metric_types: tuple[str, ...]
    asks: Asks
    target_fields: tuple[str, ...]

    @property
    def task_type(self) -> str:
        """The ``taskType`` the builder writes."""
        return self.task_types[0]

    @property
    def public_task_type(self) -> str:
        """The ``taskType`` the public MedVision data writes (``Box-Size``, ``Tumor-Lesion-Size``,
        ``Biometrics-From-Landmarks``): the second spelling of :attr:`task_types`. Without its hyphens it
        is the family's token in the public task config names (``KiTS23_BoxSize_Task01_Axial_Test``)."""
        return self.task_types[1]

    @property
    def task_planes(self) -> tuple[str | None, ...]:
        """The planes it has a task for; None stands for one task over every plane."""
        return PLANES if self.asks.per_plane_tasks else (None,)

    def metric_type_of(self, biometric_profile: Mapping | None) -> str | None:
        """The record's ``metric_type``: the family's own, else the doc's (A/D)."""
        if len(self.metric_types) == 1:
            return self.metric_types[0]
        return (biometric_profile or {}).get("metric_type")


_AD_TASK_TYPES = (
    "BiometricsFromLandmarks",
    "Biometrics-From-Landmarks",
    "Biometrics-From-Landmarks-Distance",
    "Biometrics-From-Landmarks-Angle",
    "BiometricsFromLandmarks-Distance",
    "BiometricsFromLandmarks-Angle",
)

# One family per row (kept as a table: ruff would put every argument on its own line).
# fmt: off
FAMILIES: Mapping[str, Family] = MappingProxyType({family.name: family for family in (
    #      name            title                task stem  taskType spellings (the builder writes the first)
    #      answer, metrics, metric types, what is asked, target fields
    Family(DETECTION,      "Detection",         "detect",  ("BoxCoordinate", "Box-Size", "BoxSize"),
           Answer(count=4, decimals=6), BOX_METRICS, ("box",), LABEL, ("label", "bounding_boxes")),
    Family(TUMOR_LESION,   "Tumor/lesion size", "tl",      ("TumorLesionSize", "Tumor-Lesion-Size"),
           Answer(count=2, decimals=2), MEASUREMENT_METRICS, ("size",), LABEL, ("label", "biometric_profile")),
    Family(ANGLE_DISTANCE, "Angle/distance",    "ad",      _AD_TASK_TYPES,
           Answer(count=1, decimals=2), MEASUREMENT_METRICS, ("distance", "angle"),
           MEASUREMENT, ("biometric_profile",)),
)})
# fmt: on
"""Every family by name, in the order tasks, files and report tables list them."""
FAMILY_NAMES = tuple(FAMILIES)
MASK_FAMILIES = tuple(name for name, family in FAMILIES.items() if family.asks.uses_mask)

_FAMILY_OF_TASK_TYPE = {task_type: family for family in FAMILIES.values() for task_type in family.task_types}


def get_family(name: str) -> Family:
    """The family called ``name``.

    Raises:
        ValueError: an unknown name; the message lists the known ones.
    """
    return look_up(FAMILIES, name, "family")


def family_of_task_type(task_type: object) -> Family | None:
    """The family a doc's ``taskType`` belongs to, or None for a spelling no family accepts."""
    return _FAMILY_OF_TASK_TYPE.get(str(task_type))
