"""Importing docs already in the public MedVision layout: names added, volumes placed, subjects found.

An ``imports:`` entry of a manifest names ``.jsonl``/``.json`` docs files (e.g. exported from the
public dataset). Each doc's ``taskType`` picks its family (any spelling the family table accepts);
the names its prompt needs come from the doc, else from the entry (``labels``,
``measurements``), else from the public plans the entry names (``plans``, :mod:`.plan_names`); its volume is linked, copied or kept in place (``volumes``); its subject
comes from ``subject_id``, else from its image file's name. What cannot be imported is skipped
and counted, and messages name the docs file, the line (the doc's position in a ``.json`` list)
and the field; the other docs go on.

Placing volumes (``link``, ``copy``): a file below ``image_root`` keeps its path below it, under
``volumes/imported/<dataset>/``, so two sources are never one file; a path leading out of
``image_root`` is refused (``keep`` references it in place), and a file already at the target
that is not this source's link or an identical copy is never replaced. Each volume's header is
checked (:func:`medvision_tasks.documents.volume_problem`: 3D, plausible, holding the doc's
slice); one not stored RAS+ is said once, and is reoriented when a task reads it.
"""

from __future__ import annotations

import filecmp
import json
import math
import os
import re
import shutil
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from medvision_tasks import messages
from medvision_tasks.builder.atomic import writing
from medvision_tasks.builder.layout import IMPORTED_VOLUMES_DIR, slug
from medvision_tasks.builder.plan_names import PlanNameError, PlanNames
from medvision_tasks.builder.results import ALL_PLANES, Skip
from medvision_tasks.builder.spec import ImportSpec
from medvision_tasks.documents import volume_problem, whole_number
from medvision_tasks.families import ANGLE_DISTANCE, family_of_task_type
from medvision_tasks.planes import plane_of_slice_dim

IMPORTED = "imported"
"""The ``item`` (and summary ``case``) of the skips of imported docs."""


class PlacementError(ValueError):
    """A volume that cannot be linked or copied into the output; the message names it and why."""


def _read_doc_file(path: Path) -> list[tuple[str, object, str | None]]:
    """``(where, row, problem)`` of every doc of a docs file, in order; ``problem`` says why a line is not a doc.

    ``where`` names the line of a JSONL file (``line N``) or the position in a JSON list (``doc #N``).

    Raises:
        OSError, ValueError: the file cannot be read at all (missing, not UTF-8 JSON).
    """
    if path.suffix.lower() == ".json":
        content = json.loads(path.read_text(encoding="utf-8"))
        rows = content if isinstance(content, list) else content.get("docs", []) if isinstance(content, dict) else None
        if not isinstance(rows, list):
            raise ValueError("a .json docs file holds a list of docs, or an object with a 'docs' list")
        return [(f"doc #{n}", row, None) for n, row in enumerate(rows, start=1)]
    docs: list[tuple[str, object, str | None]] = []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            line = raw.decode("utf-8")
            if line.strip():
                docs.append((f"line {number}", json.loads(line), None))
        except UnicodeDecodeError as error:
            docs.append((f"line {number}", None, f"not UTF-8 ({error})"))
        except json.JSONDecodeError as error:
            docs.append((f"line {number}", None, f"not valid JSON ({error})"))
    return docs


def _positive_numbers(value: object, whole: bool) -> bool:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return False
    if whole:
        return all((n := whole_number(v)) is not None and n > 0 for v in value)
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in value)


def _field_problem(doc: Mapping, family: str) -> tuple[str, str] | None:
    """``(field, what is wrong)`` for the first field of a doc that cannot be imported as it is; None when fine."""
    if whole_number(doc["slice_dim"]) not in (0, 1, 2):
        return "slice_dim", f"is {doc['slice_dim']!r}; expected 0, 1 or 2"
    if (index := whole_number(doc["slice_idx"])) is None or index < 0:
        return "slice_idx", f"is {doc['slice_idx']!r}; expected a whole number >= 0"
    if not _positive_numbers(doc["image_size_2d"], whole=True):
        return "image_size_2d", f"is {doc['image_size_2d']!r}; expected two positive whole numbers"
    if not _positive_numbers(doc["pixel_size"], whole=False):
        return "pixel_size", f"is {doc['pixel_size']!r}; expected two positive numbers (mm)"
    if family == ANGLE_DISTANCE:
        if not isinstance(doc.get("biometric_profile"), Mapping):
            return "biometric_profile", f"is {doc.get('biometric_profile')!r}; expected an object with a metric_key"
    elif doc.get("label") is None or whole_number(doc["label"]) is None:
        return "label", f"is {doc.get('label')!r}; expected a whole number"
    return None


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
        self._headers: dict = {}  # volume path -> its header (or problem), read once

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
        # The path as written, below image_root: unique per source, and never a way out of image_root.
        root = os.path.normpath(os.path.abspath(image_root))
        below = os.path.relpath(os.path.normpath(os.path.abspath(source)), root)
        if below == os.curdir or below.split(os.sep)[0] == os.pardir:
            raise PlacementError(
                f"{value!r} is not below image_root {image_root}: volumes: {volumes} places only files below "
                "image_root (use volumes: keep to reference it in place)"
            )
        target = self.out_dir / IMPORTED_VOLUMES_DIR / slug(dataset) / below
        if volumes == "copy":
            self._copy(source, target)
        else:
            self._link(key, target)
        relative = target.relative_to(self.out_dir).as_posix()
        self._placed[key] = relative
        self.files.add(relative)
        return relative

    @staticmethod
    def _link(key: str, target: Path) -> None:
        if target.is_symlink() and os.readlink(target) == key:
            return
        if target.is_symlink() or target.exists():
            raise PlacementError(f"{target} already exists and is not a link to {key}; not replaced (remove it first)")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(key)

    @staticmethod
    def _copy(source: Path, target: Path) -> None:
        if target.is_symlink() or target.exists():
            if target.is_file() and not target.is_symlink() and filecmp.cmp(source, target, shallow=False):
                return
            raise PlacementError(f"{target} already exists and differs from {source}; not replaced (remove it first)")
        with writing(target) as partial:
            shutil.copy2(source, partial)

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
            for position, row, problem in rows:
                where = f"import {doc_path} {position}"
                if problem is not None:
                    self._skip("unknown", "unreadable line")
                    self.errors.append(f"{where}: {problem}")
                    continue
                if not isinstance(row, dict):
                    self._skip("unknown", "not a JSON object")
                    self.errors.append(f"{where}: {row!r:.80} is not a JSON object")
                    continue
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
        bad = _field_problem(doc, family)
        if bad is not None:
            self._skip(family, f"malformed field {bad[0]}")
            self.errors.append(f"{where}: field {bad[0]} {bad[1]}")
            return None
        # Whole numbers however the export wrote them (2, 2.0, "2"), as _field_problem accepted them.
        doc["slice_dim"], doc["slice_idx"] = whole_number(doc["slice_dim"]), whole_number(doc["slice_idx"])
        doc["image_size_2d"] = [whole_number(n) for n in doc["image_size_2d"]]
        if family != ANGLE_DISTANCE:
            doc["label"] = whole_number(doc["label"])
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
            label = whole_number(doc["label"])
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
        source = Path(str(doc["image_file"]))
        source = source if source.is_absolute() else Path(spec.image_root) / source
        if source.exists():
            size_2d = [int(n) for n in doc["image_size_2d"]]
            problem = volume_problem(
                str(source), doc["slice_dim"], doc["slice_idx"], size_2d, self._headers, say=messages.info
            )
            if problem is not None:
                self._skip(family, "unusable volume")
                self.errors.append(f"{where}: field image_file: {problem}")
                return None
        for field_name in ("image_file", "mask_file", "landmark_file"):
            if not doc.get(field_name):
                continue
            try:
                placed = self.place(str(doc[field_name]), str(doc["dataset_name"]), spec.image_root, spec.volumes)
            except (PlacementError, OSError) as error:
                self._skip(family, "volume not placed")
                self.errors.append(f"{where}: field {field_name}: {error}")
                return None
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
