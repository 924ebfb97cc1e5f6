"""The layout of the data directory ``medvision-tasks prepare`` writes: every name it gives a file.

::

    DIR/detection.jsonl, DIR/tl.jsonl, DIR/ad.jsonl      test split, one doc per line
    DIR/train/{detection,tl,ad}.jsonl                    train split (when any subject is in it)
    DIR/volumes/<dataset>_<case>_image.nii.gz            RAS+ image
    DIR/volumes/<dataset>_<case>_mask[-<label>].nii.gz   label mask on the image's grid
    DIR/volumes/<dataset>_<case>_landmarks.json          A/D landmarks and their projections
    DIR/volumes/<dataset>_<case>_tl_landmarks.json       T/L ellipse axis endpoints per doc
    DIR/volumes/imported/<dataset>/...                   volumes of imported docs
    DIR/summary.json                                     doc counts, every skip with its reason
    DIR/.cases/                                          per-case cache

Paths inside docs are relative to ``DIR`` (POSIX separators).
"""

from __future__ import annotations

from medvision_tasks.builder.spec import CaseSpec

VOLUMES_DIR = "volumes"
IMPORTED_VOLUMES_DIR = f"{VOLUMES_DIR}/imported"
TRAIN_DIR = "train"
SUMMARY_FILE = "summary.json"
CACHE_DIR = ".cases"
SPLITS = ("test", "train")


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (letters, digits, ``.``, ``_``, ``-``)."""
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in text.strip())
    return cleaned.strip("_") or "x"


def case_prefix(case: CaseSpec) -> str:
    """``<dataset>_<case>``, the start of every file a case writes (the manifest keeps it unique)."""
    return f"{slug(case.dataset_name)}_{slug(case.case_id)}"


def image_file(case: CaseSpec) -> str:
    """The case's written image, relative to the data directory."""
    return f"{VOLUMES_DIR}/{case_prefix(case)}_image.nii.gz"


def landmarks_file(case: CaseSpec) -> str:
    """The case's A/D landmark file, relative to the data directory."""
    return f"{VOLUMES_DIR}/{case_prefix(case)}_landmarks.json"


def ellipses_file(case: CaseSpec) -> str:
    """The case's T/L ellipse endpoint file, relative to the data directory."""
    return f"{VOLUMES_DIR}/{case_prefix(case)}_tl_landmarks.json"


def mask_files(case: CaseSpec) -> list[str]:
    """The written file of each of the case's masks, in manifest order, relative to the data directory.

    One mask: ``<prefix>_mask.nii.gz``. Several: ``<prefix>_mask-<first label>.nii.gz``, with the
    task id added for a mask whose first label's name an earlier mask already used.
    """
    prefix = case_prefix(case)
    if len(case.masks) == 1:
        return [f"{VOLUMES_DIR}/{prefix}_mask.nii.gz"]
    names: list[str] = []
    for mask in case.masks:
        name = f"{prefix}_mask-{slug(mask.labels[0].name)}.nii.gz"
        if name in names:
            name = f"{prefix}_mask-{mask.task_id}-{slug(mask.labels[0].name)}.nii.gz"
        names.append(name)
    return [f"{VOLUMES_DIR}/{name}" for name in names]
