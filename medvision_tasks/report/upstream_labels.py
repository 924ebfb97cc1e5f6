"""The MedVision benchmark's label groups, as data: which labels its tables pool together.

Facts of the upstream code (``YongchengYAO/MedVision``, ``src/medvision_bm/utils/configs.py``
at ``c221615``, 2025-12-05, unchanged for these tables since ``3595c90``, 2025-11-17: the
version behind the paper's tables), restated here as data:

- :data:`REGIONS` is upstream's ``label_map_regroup`` read the other way round (region -> its
  labels). Table 2 pools detection docs by region, across datasets. Later upstream versions
  (``eadae72``, 2026-02-04) split "Knee" into "Knee Bone" (femur, tibia) and "Knee Soft Tissue"
  (cartilages, menisci); the paper's Table 2 predates that and uses "Knee".
- :data:`TL_RENAMED` holds the entries of upstream's ``label_map_rename`` that change a label
  (every other label keeps its name). Table 3 pools T/L docs by renamed label. Both maps have
  the same labels.
- :data:`MODALITY_ABBREVIATIONS`, the plane letters and the Table 2 constants
  (``MINIMUM_GROUP_SIZE``, ``EXCLUDED_KEYS``, ``TUMOR_LESION_GROUP_KEYS``).

Labels are matched exactly, as upstream does; upstream raises on a label it does not know, the
report names such labels instead (:mod:`.paper`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from medvision_tasks.planes import PLANES

_SIDES = ("left", "right")
_RIBS = tuple(
    f"{side} {n}{'st' if n == 1 else 'nd' if n == 2 else 'rd' if n == 3 else 'th'} rib"
    for side in _SIDES
    for n in range(1, 13)
)
_VERTEBRAE = tuple(
    f"vertebra {level}"
    for level in (
        *(f"C{i}" for i in range(1, 8)),
        *(f"T{i}" for i in range(1, 13)),
        *(f"L{i}" for i in range(1, 6)),
        "S1",
    )
)
_TEETH = tuple(
    f"{jaw} {side} {tooth}"
    for jaw in ("upper", "lower")
    for side in _SIDES
    for tooth in (
        "canine",
        "central incisor",
        "lateral incisor",
        "first premolar",
        "second premolar",
        "first molar",
        "second molar",
        "third molar (wisdom tooth)",
    )
)

REGIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "Artery": (
            "aorta",
            "anterior communicating artery",
            "basilar artery",
            *(
                f"{side} {artery}"
                for side in _SIDES
                for artery in (
                    "iliac artery",
                    "anterior cerebral artery",
                    "common carotid artery",
                    "internal carotid artery",
                    "middle cerebral artery",
                    "posterior cerebral artery",
                    "posterior communicating artery",
                    "subclavian artery",
                )
            ),
            "renal artery",
            "third a2 segment",
            "brachiocephalic trunk",
        ),
        "Vein": (
            "superior vena cava",
            "inferior vena cava",
            "inferior vena cava (ivc)",
            "postcava",
            "postcava (inferior vena cava)",
            "portal and splenic veins",
            "portal vein and splenic vein",
            *(f"{side} {vein}" for side in _SIDES for vein in ("brachiocephalic vein", "iliac vein")),
            "renal vein",
        ),
        "Brain": (
            "brain",
            "skull",
            "anterior hippocampus",
            "posterior hippocampus",
            "deep grey matter",
            "grey matter",
            "white matter",
            "brainstem",
            "cerebellum",
            "ventricles",
            "external cerebrospinal fluid",
        ),
        "Brain Tumor/Lesion": (
            "stroke infarct",
            "peritumoral edema of brain",
            "edema of brain",
            "surrounding non-enhancing flair hyperintensity of brain",
            "resection cavity of brain",
            "enhancing brain tumor",
            "enhancing brain tumor tissue",
            "non-enhancing brain tumor",
            "non-enhancing brain tumor core",
            "gross tumor volume of brain",
            "cystic component of brain",
        ),
        "Heart": (
            "heart",
            "left atrium",
            "left atrium of heart",
            "left atrial appendage",
            "left ventricular cavity",
            "left ventricular myocardium",
            "left ventricle",
            "right ventricular cavity",
            "myocardium",
        ),
        "Lung": (
            "left lung",
            "left lung lower lobe",
            "left lung upper lobe",
            "right lung",
            "right lung lower lobe",
            "right lung middle lobe",
            "right lung upper lobe",
        ),
        "Lung Tumor/Lesion": ("lung cancer",),
        "Liver": ("liver", "liver vessel"),
        "Liver Tumor/Lesion": ("liver cancer", "liver tumour", "liver tumor"),
        "Kidney": ("kidney", "right kidney", "left kidney"),
        "Kidney Tumor/Lesion": ("kidney cyst", "left kidney cyst", "right kidney cyst", "kidney tumor"),
        "Pancreas": ("pancreas",),
        "Pancreas Tumor/Lesion": ("pancreas cancer",),
        "Gallbladder": ("gall bladder", "gallbladder"),
        "Spleen": ("spleen",),
        "Adrenal Gland": (
            "adrenal gland",
            "left adrenal gland",
            "left adrenal gland (lag)",
            "right adrenal gland",
            "right adrenal gland (rag)",
        ),
        "Colon": ("colon",),
        "Colon Tumor/Lesion": ("colon cancer primaries",),
        "Intestine": ("rectum", "duodenum", "small bowel"),
        "Esophagus": ("esophagus",),
        "Stomach": ("stomach",),
        "Urinary System": ("urinary bladder", "bladder"),
        "Uterus": ("uterus",),
        "Prostate": ("prostate", "peripheral zone of prostate", "transition zone of prostate"),
        "Head-Neck": ("cochlea", "trachea", "pharynx", "thyroid gland"),
        "Head-Neck Tumor/Lesion": ("primary gross tumor volume (head & neck)", "vestibular schwannoma"),
        "Hip": (
            "left hip",
            "right hip",
            "sacrum",
            *(f"{side} gluteus {part}" for side in _SIDES for part in ("maximus", "medius", "minimus")),
            "right iliopsoas",
            "left iliopsoas",
        ),
        "Rib": (*_RIBS, "costal cartilages"),
        "Spine": (*_VERTEBRAE, "vertebrae", "intervertebral discs", "spinal cord"),
        "Knee": (
            "femur",
            "tibia",
            "left femur",
            "right femur",
            "femoral cartilage",
            "lateral tibial cartilage",
            "medial tibial cartilage",
            "patellar cartilage",
            "lateral meniscus",
            "medial meniscus",
        ),
        "Metastatic Lymph Node": ("metastatic lymph node",),
        "Miscellaneous Tumor/Lesion": ("edema", "tumor", "cystic component"),
        "Jawbone": ("upper jawbone", "lower jawbone", "left inferior alveolar canal", "right inferior alveolar canal"),
        "Tooth": _TEETH,
        "Others": (
            "na",
            "implant",
            "crown",
            "bridge",
            "left autochthon",
            "right autochthon",
            "sternum",
            "humerus",
            "left humerus",
            "right humerus",
            "left clavicle",
            "right clavicle",
            "left scapula",
            "right scapula",
            "prostate/uterus",
        ),
    }
)
"""Region (Table 2 group name) -> the label names upstream puts in it."""

REGION_OF: Mapping[str, str] = MappingProxyType(
    {label: region for region, labels in REGIONS.items() for label in labels}
)
"""Label name -> region: upstream's ``label_map_regroup``."""

TL_RENAMED: Mapping[str, str] = MappingProxyType(
    {
        "inferior vena cava (ivc)": "inferior vena cava",
        "postcava (inferior vena cava)": "postcava",
        "portal vein and splenic vein": "portal and splenic vein",
        "anterior hippocampus": "hippocampus",
        "posterior hippocampus": "hippocampus",
        "deep grey matter": "grey matter",
        "external cerebrospinal fluid": "cerebrospinal fluid",
        "peritumoral edema of brain": "brain edema",
        "edema of brain": "brain edema",
        "surrounding non-enhancing flair hyperintensity of brain": "non-enhancing flair hyperintensity of brain",
        "resection cavity of brain": "brain resection cavity",
        "enhancing brain tumor tissue": "enhancing brain tumor",
        "gross tumor volume of brain": "brain tumor",
        "cystic component of brain": "brain cyst",
        "left atrium of heart": "left atrium",
        "liver cancer": "liver tumor",
        "liver tumour": "liver tumor",
        "gall bladder": "gallbladder",
        "left adrenal gland (lag)": "left adrenal gland",
        "right adrenal gland (rag)": "right adrenal gland",
        "colon cancer primaries": "colon cancer",
        "peripheral zone of prostate": "prostate",
        "transition zone of prostate": "prostate",
        "primary gross tumor volume (head & neck)": "head & neck tumor",
        "edema": "miscellaneous tumor/lesion",
        "tumor": "miscellaneous tumor/lesion",
        "cystic component": "miscellaneous tumor/lesion",
        "na": "others",
        "implant": "others",
        "crown": "others",
        "bridge": "others",
    }
)
"""The entries of upstream's ``label_map_rename`` that change the label (Table 3 groups)."""

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
    if label_name not in REGION_OF:
        return None
    return TL_RENAMED.get(label_name, label_name)


def modality_abbreviation(modality: str) -> str:
    """``MRI`` -> ``MR``, ``ultrasound`` -> ``US``, ...; any other modality as given."""
    return MODALITY_ABBREVIATIONS.get(modality, modality)
