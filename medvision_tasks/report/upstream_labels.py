"""The MedVision benchmark's label groups, as data: which labels its tables pool together.

Facts of the upstream code (``YongchengYAO/MedVision``, ``src/medvision_bm/utils/configs.py``
at ``c221615``, 2025-12-05, unchanged for these tables since ``3595c90``, 2025-11-17: the
version behind the paper's tables), restated here as data:

- :data:`REGIONS` is upstream's ``label_map_regroup`` (stored once, in
  :mod:`medvision_tasks.label_groups`) read the other way round (region -> its labels). Table 2
  pools detection docs by region, across datasets. Later upstream versions (``eadae72``,
  2026-02-04) split "Knee" into "Knee Bone" (femur, tibia) and "Knee Soft Tissue" (cartilages,
  menisci); the paper's Table 2 predates that and uses "Knee" (:data:`~medvision_tasks.label_groups.FIRST_RELEASE`).
- Table 3 pools T/L docs by upstream's ``label_map_rename``
  (:data:`medvision_tasks.label_groups.LABEL_MAP_RENAME`).
- :data:`MODALITY_ABBREVIATIONS`, the plane letters and the Table 2 constants
  (``MINIMUM_GROUP_SIZE``, ``EXCLUDED_KEYS``, ``TUMOR_LESION_GROUP_KEYS``).

Labels are matched exactly, as upstream does; upstream raises on a label it does not know, the
report names such labels instead (:mod:`.paper`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from medvision_tasks.label_groups import FIRST_RELEASE, LABEL_MAP_REGROUP, LABEL_MAP_RENAME
from medvision_tasks.planes import PLANES

REGION_OF: Mapping[str, str] = LABEL_MAP_REGROUP[FIRST_RELEASE]
"""Label name -> region: upstream's ``label_map_regroup`` as the paper's tables used it (one "Knee")."""

_regions: dict[str, list[str]] = {}
for _label, _region in REGION_OF.items():
    _regions.setdefault(_region, []).append(_label)
REGIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {region: tuple(labels) for region, labels in _regions.items()}
)
"""Region (Table 2 group name) -> the label names upstream puts in it."""
del _regions, _label, _region

MODALITY_ABBREVIATIONS: Mapping[str, str] = MappingProxyType(
    {"MRI": "MR", "CT": "CT", "ultrasound": "US", "X-ray": "XR", "PET": "PET"}
)
"""How upstream writes a modality in a group name; any other modality is written as given."""

PLANE_LETTERS: Mapping[str, str] = MappingProxyType(dict(zip(PLANES, ("A", "C", "S"))))
"""Plane -> the letter upstream writes in a group name (slice_dim 2 A, 1 C, 0 S)."""

MINIMUM_GROUP_SIZE = 50
"""Table 2 leaves out regions with fewer docs than this (upstream ``MINIMUM_GROUP_SIZE``)."""
EXCLUDED_GROUP_WORDS = ("miscellaneous", "others")
"""Table 2 leaves out groups whose lower-cased name contains one of these (``EXCLUDED_KEYS``)."""
TUMOR_LESION_GROUP_WORDS = ("tumor", "lesion", "metastatic")
"""A Table 2 group is tumor/lesion when its lower-cased name contains one (``TUMOR_LESION_GROUP_KEYS``)."""
NEAR_ZERO_TARGET = 0.1
"""Table 4 skips A/D docs whose target is below this (later upstream ``AD_NEAR_ZERO_GT_THRESHOLD``)."""


def region_of(label_name: str) -> str | None:
    """The Table 2 region of a detection label, or None when upstream's map does not list it."""
    return REGION_OF.get(label_name)


def tl_label_of(label_name: str) -> str | None:
    """The Table 3 label of a T/L label (upstream's rename), or None when upstream's map does not list it."""
    return LABEL_MAP_RENAME.get(label_name)


def modality_abbreviation(modality: str) -> str:
    """``MRI`` -> ``MR``, ``ultrasound`` -> ``US``, ...; any other modality as given."""
    return MODALITY_ABBREVIATIONS.get(modality, modality)
