"""Importing docs already in the public MedVision layout: names added, volumes placed, subjects found.

An ``imports:`` entry of a manifest names ``.jsonl``/``.json`` docs files (e.g. exported from the
public dataset). Each doc's ``taskType`` picks its family (any spelling the family table accepts);
the names its prompt needs come from the doc, else from the entry (``labels``,
``measurements``), else from the public plans the entry names (``plans``, :mod:`.plan_names`); its volume is linked, copied or kept in place (``volumes``); its subject
comes from ``subject_id``, else from its image file's name. What cannot be imported is skipped
and counted, and messages name the docs file and the doc.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from medvision_tasks.builder.layout import IMPORTED_VOLUMES_DIR, slug
from medvision_tasks.builder.plan_names import PlanNameError, PlanNames
from medvision_tasks.builder.results import ALL_PLANES, Skip
from medvision_tasks.builder.spec import ImportSpec
from medvision_tasks.families import ANGLE_DISTANCE, family_of_task_type
from medvision_tasks.planes import plane_of_slice_dim

IMPORTED = "imported"
"""The ``item`` (and summary ``case``) of the skips of imported docs."""


def _read_doc_file(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        content = json.loads(text)
        rows = content if isinstance(content, list) else content.get("docs", [])
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not all(isinstance(row, dict) for row in rows):
        raise ValueError("every doc must be a JSON object")
    return rows


def _subject_of(doc: Mapping, pattern: str | None) -> str:
    if doc.get("subject_id"):
        return str(doc["subject_id"])
    name = Path(str(doc["image_file"])).name
    if pattern:
        match = re.search(pattern, name)
        if match:
            return match.group(1)
    return re.sub(r"(\.nii\.gz|\.nii|\.nrrd)$", "", name)


class Importer:
    """Brings public-layout docs into the output, with names, volumes and subjects.

    One importer serves every import entry of a manifest, so a volume named by several entries
    is placed once. After :meth:`run`, :attr:`skips`, :attr:`errors` and :attr:`files` hold what
    every entry so far skipped, reported and placed.
    """

    REQUIRED = ("dataset_name", "taskType", "image_file", "slice_dim", "slice_idx", "image_size_2d", "pixel_size")

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.skips: Counter[Skip] = Counter()
        self.errors: list[str] = []
        self.files: set[str] = set()
        self._placed: dict[str, str] = {}
        self.plan_names = PlanNames()

    def place(self, value: str, dataset: str, image_root: str, volumes: str) -> str | None:
        """Where a doc's file is once imported, or None when it does not exist.

        Args:
            value: the doc's path, relative to ``image_root`` (or absolute).
            dataset: the doc's dataset (linked and copied files go under ``volumes/imported/<dataset>/``).
            image_root: what relative paths are relative to.
            volumes: "keep" (the absolute path of the file itself), "link" or "copy" (a path
                relative to the output directory, keeping ``value``'s folders).
        """
        source = Path(value)
        if not source.is_absolute():
            source = Path(image_root) / source
        if not source.exists():
            return None
        if volumes == "keep":
            return str(source.resolve())
        key = str(source.resolve())
        if key in self._placed:
            return self._placed[key]
        relative_value = Path(value) if not Path(value).is_absolute() else Path(source.name)
        parts = [p for p in relative_value.parts if p not in ("..", ".")]
        target = self.out_dir / IMPORTED_VOLUMES_DIR / slug(dataset) / Path(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if volumes == "copy":
            if not (target.is_file() and target.stat().st_size == source.stat().st_size):
                shutil.copy2(source, target)
        else:
            if target.is_symlink() or target.exists():
                if target.is_symlink() and os.readlink(target) == key:
                    pass
                else:
                    target.unlink()
                    target.symlink_to(key)
            else:
                target.symlink_to(key)
        relative = target.relative_to(self.out_dir).as_posix()
        self._placed[key] = relative
        self.files.add(relative)
        return relative

    def run(self, spec: ImportSpec) -> list[tuple[str, str, dict]]:
        """(family, subject, doc) for every importable doc of one import entry."""
        labels = dict(spec.labels)
        measurements = {key: (name, landmarks) for key, name, landmarks in spec.measurements}
        imported = []
        for doc_path in spec.docs:
            try:
                rows = _read_doc_file(Path(doc_path))
            except (OSError, ValueError) as error:
                self.errors.append(f"import {doc_path}: cannot read docs ({error})")
                continue
            for line, row in enumerate(rows, start=1):
                where = f"import {doc_path} doc #{line}"
                if spec.dataset_name and row.get("dataset_name") != spec.dataset_name:
                    continue
                if spec.task_id and str(row.get("taskID")) != spec.task_id:
                    continue
                item = self._one(spec, row, where, labels, measurements)
                if item is not None:
                    imported.append(item)
        return imported

    def _skip(self, family: str, reason: str) -> None:
        self.skips[Skip(family, IMPORTED, ALL_PLANES, reason)] += 1

    def _one(self, spec: ImportSpec, row: dict, where: str, labels: dict, measurements: dict) -> tuple | None:
        doc = dict(row)
        found = family_of_task_type(doc.get("taskType"))
        if found is None:
            self._skip("unknown", f"unknown taskType {doc.get('taskType')!r}")
            return None
        family = found.name
        missing = [f for f in self.REQUIRED + found.target_fields if doc.get(f) is None]
        if missing:
            self._skip(family, f"missing field {missing[0]}")
            return None
        if spec.plans:
            try:
                self.plan_names.fill(doc, family, spec)
            except PlanNameError as error:
                self._skip(family, "no names in the plans")
                self.errors.append(f"{where}: {error}")
                return None
        if family == ANGLE_DISTANCE:
            key = str(doc["biometric_profile"].get("metric_key"))
            name, landmark_names = measurements.get(key, (None, None))
            if doc.get("measurement_name") is None:
                doc["measurement_name"] = name  # "" for an unnamed measurement (the benchmark's unnamed form)
            doc["landmark_names"] = doc.get("landmark_names") or (
                [list(x) if isinstance(x, tuple) else x for x in landmark_names] if landmark_names else None
            )
            if doc["measurement_name"] is None or not doc["landmark_names"]:
                self._skip(family, "no measurement name for metric_key")
                self.errors.append(f"{where}: no name/landmarks for metric_key {key!r} (add it under measurements)")
                return None
            doc["label_name"] = doc.get("label_name") or doc["measurement_name"] or key
        else:
            label = int(doc["label"])
            doc["label_name"] = doc.get("label_name") or labels.get(label)
            if not doc["label_name"]:
                self._skip(family, "no label name for label")
                self.errors.append(f"{where}: no name for label {label} (add it under labels)")
                return None
        doc["modality"] = doc.get("modality") or spec.modality
        description = doc.get("image_description") or spec.image_description
        doc["image_description"] = description.replace(
            "{plane}", plane_of_slice_dim(int(doc["slice_dim"])) or ""
        ).replace("{modality}", doc["modality"])
        for field_name in ("image_file", "mask_file", "landmark_file"):
            if not doc.get(field_name):
                continue
            placed = self.place(str(doc[field_name]), str(doc["dataset_name"]), spec.image_root, spec.volumes)
            if placed is None:
                if field_name == "image_file":
                    self._skip(family, "volume not found")
                    self.errors.append(f"{where}: image_file {doc[field_name]!r} not found under {spec.image_root}")
                    return None
                continue  # masks and landmark files are not needed for evaluation
            doc[field_name] = placed
        subject = _subject_of(row, spec.subject_id_pattern)
        doc["subject_id"] = subject
        return family, subject, doc
