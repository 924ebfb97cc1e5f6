"""Upstream MedVision's label groups and CT windows: data, stored once, with their source.

Source: ``src/medvision_bm/utils/configs.py`` of GitHub ``YongchengYAO/MedVision``:

- ``label_map_regroup`` (label name -> anatomical group; Table 2 pools labels of all datasets by
  it, and the later image normalisation picks a CT window by it). As of the first release
  (commit ``3595c90``, 2025-11-17, unchanged to ``c221615``, 2025-12-05) the knee labels form one
  group ``"Knee"``; commit ``eadae72`` (2026-02-04) split them into ``"Knee Bone"`` and
  ``"Knee Soft Tissue"`` (still so in the fork ``viennh/MedVision`` at ``ae6e130``, 2026-04-10).
  Every other entry is the same in both versions.
- ``label_map_rename`` (label name -> the label group of Table 3's T/L rows), same file, unchanged
  from ``3595c90`` to ``ae6e130``.
- ``HU_window_WL_map`` and ``CT_HU_windows_WL`` (``eadae72``, unchanged to ``ae6e130``): the CT
  window of each group as ``(width, level)`` in Hounsfield units.

Label names are the benchmark plans' ``labels_map`` values, lower case, matched exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

FIRST_RELEASE = "first_release"
"""The map as the first public release had it (one ``"Knee"`` group): paper v1's Table 2."""
KNEE_SPLIT = "knee_split"
"""The map from ``eadae72`` on (``"Knee Bone"`` / ``"Knee Soft Tissue"``): the later pipeline."""
REGROUP_VERSIONS = (FIRST_RELEASE, KNEE_SPLIT)

OTHERS_GROUP = "Others"
"""Upstream's catch-all group: no CT window, dropped from Table 2."""

_VERTEBRA_LEVELS = [f"C{n}" for n in range(1, 8)] + [f"T{n}" for n in range(1, 13)] + [f"L{n}" for n in range(1, 6)]
_TEETH = [
    f"{jaw} {side} {tooth}"
    for jaw in ("upper", "lower")
    for side in ("left", "right")
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
]

# group -> its labels, in upstream's order (the order does not matter to a lookup).
_GROUP_LABELS: dict[str, tuple[str, ...]] = {
    "Artery": (
        "aorta",
        "anterior communicating artery",
        "basilar artery",
        "left iliac artery",
        "left anterior cerebral artery",
        "left common carotid artery",
        "left internal carotid artery",
        "left middle cerebral artery",
        "left posterior cerebral artery",
        "left posterior communicating artery",
        "left subclavian artery",
        "renal artery",
        "right iliac artery",
        "right anterior cerebral artery",
        "right common carotid artery",
        "right internal carotid artery",
        "right middle cerebral artery",
        "right posterior cerebral artery",
        "right posterior communicating artery",
        "right subclavian artery",
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
        "left brachiocephalic vein",
        "right brachiocephalic vein",
        "left iliac vein",
        "right iliac vein",
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
        "left gluteus maximus",
        "left gluteus medius",
        "left gluteus minimus",
        "right gluteus maximus",
        "right gluteus medius",
        "right gluteus minimus",
        "right iliopsoas",
        "left iliopsoas",
    ),
    "Rib": (
        *(f"{side} {nth} rib" for side in ("left", "right") for nth in ("1st", "2nd", "3rd")),
        *(f"{side} {n}th rib" for side in ("left", "right") for n in range(4, 13)),
        "costal cartilages",
    ),
    "Spine": (
        *(f"vertebra {level}" for level in _VERTEBRA_LEVELS + ["S1"]),
        "vertebrae",
        "intervertebral discs",
        "spinal cord",
    ),
    "Knee Bone": ("femur", "tibia", "left femur", "right femur"),
    "Knee Soft Tissue": (
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
    "Tooth": tuple(_TEETH),
    OTHERS_GROUP: (
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
# Before eadae72 both knee groups were one.
_FIRST_RELEASE_MERGED = {"Knee Bone": "Knee", "Knee Soft Tissue": "Knee"}


def _regroup(merged: Mapping[str, str]) -> Mapping[str, str]:
    table = {label: merged.get(group, group) for group, labels in _GROUP_LABELS.items() for label in labels}
    return MappingProxyType(table)


LABEL_MAP_REGROUP: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {FIRST_RELEASE: _regroup(_FIRST_RELEASE_MERGED), KNEE_SPLIT: _regroup({})}
)
"""``label_map_regroup`` by version (:data:`FIRST_RELEASE`, :data:`KNEE_SPLIT`): label -> group."""

# label_map_rename: every label keeps its name except these.
_RENAMED = {
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

LABEL_MAP_RENAME: Mapping[str, str] = MappingProxyType(
    {label: _RENAMED.get(label, label) for label in LABEL_MAP_REGROUP[KNEE_SPLIT]}
)
"""``label_map_rename``: label -> the name of its T/L group (Table 3); same labels as the regroup map."""

# HU_window_WL_map: (window width, window level) in HU.
_SOFT_TISSUE, _LUNG, _BRAIN, _BONE = (400, 40), (1500, -600), (80, 40), (1800, 400)
_NON_SOFT_TISSUE_WINDOWS = {
    **dict.fromkeys(("Brain", "Brain Tumor/Lesion"), _BRAIN),
    **dict.fromkeys(("Lung", "Lung Tumor/Lesion"), _LUNG),
    **dict.fromkeys(("Hip", "Rib", "Spine", "Knee Bone", "Jawbone", "Tooth"), _BONE),
}

CT_WINDOWS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {group: _NON_SOFT_TISSUE_WINDOWS.get(group, _SOFT_TISSUE) for group in _GROUP_LABELS if group != OTHERS_GROUP}
)
"""``CT_HU_windows_WL``: group (knee-split version) -> ``(width, level)`` in HU; ``"Others"`` has none."""


class UnknownLabelError(KeyError):
    """A label name upstream's ``label_map_regroup`` does not hold."""

    def __str__(self) -> str:
        return str(self.args[0])


def label_group(label_name: str, version: str = KNEE_SPLIT) -> str:
    """The upstream group of a label name, e.g. ``"kidney cyst"`` -> ``"Kidney Tumor/Lesion"``.

    Args:
        label_name: a label name as the benchmark plans spell it (exact match).
        version: :data:`FIRST_RELEASE` or :data:`KNEE_SPLIT` (see the module doc).

    Raises:
        ValueError: an unknown version.
        UnknownLabelError: the label is not in the map (upstream raised too).
    """
    if version not in LABEL_MAP_REGROUP:
        raise ValueError(f"unknown label_map_regroup version {version!r}; expected one of {REGROUP_VERSIONS}")
    try:
        return LABEL_MAP_REGROUP[version][label_name]
    except KeyError:
        raise UnknownLabelError(
            f"label {label_name!r} is not in upstream MedVision's label_map_regroup ({version})"
        ) from None
