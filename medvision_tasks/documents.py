"""MedVision documents: where they come from, what they must hold, and their targets.

A doc is one question about one 2D slice, in the public MedVision field layout (docs/data.md)
plus the names the prompts need (``label_name``, ``image_description``, ``modality``, and for
angle/distance ``measurement_name`` and ``landmark_names``), so no outside code is needed.

Data source: the directory named by ``MEDVISION_DATA_DIR`` when set, else the sample bundled
with the task folder. A data directory holds ``detection.jsonl``, ``tl.jsonl`` and ``ad.jsonl``
(the test split, one doc per line), the volumes they reference (paths relative to the directory,
or absolute) and optionally ``metadata.json`` with names for docs that do not carry them::

    {"labels": [{"dataset_name": "BraTS24", "taskID": "01", "label": 1,
                 "label_name": "tumor core", "modality": "MRI", "image_description": "..."}],
     "measurements": [{"dataset_name": "FeTA24", "taskID": "01", "metric_key": "...",
                       "measurement_name": "...", "landmark_names": ["...", "..."],
                       "modality": "MRI", "image_description": "..."}]}

Every doc is checked when the task loads, before any model runs: a missing field, a zero target
or a volume that is missing, corrupt or does not hold the doc's slice (its header is read, not its
voxels: :func:`volume_problem`) is reported with the doc, the docs file and the volume it names.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from medvision_tasks.environment import describe_versions, score_relevant_versions
from medvision_tasks.export_shape import to_list_shape
from medvision_tasks.families import ANGLE_DISTANCE, DETECTION, FAMILIES, TUMOR_LESION, get_family
from medvision_tasks.ground_truth import box_area_fraction, relative_box
from medvision_tasks.planes import PLANES, in_plane_axes, plane_of_slice_dim
from medvision_tasks.prompts import SeenImage, doc_prompt
from medvision_tasks.protocols import Protocol, resolve_protocol
from medvision_tasks.steps import STEP_POINTS, point_count
from medvision_tasks.volumes import VolumeHeader, VolumeReadError, inspect_volume

logger = logging.getLogger(__name__)

DATA_DIR_ENV = "MEDVISION_DATA_DIR"
SKIP_INVALID_ENV = "MEDVISION_SKIP_INVALID"
METADATA_FILE = "metadata.json"
MAX_ERRORS_SHOWN = 20

_announced_sources: set[str] = set()


class MedVisionDataError(ValueError):
    """Docs or files that cannot be evaluated; the message names each doc and file."""


def sample_dir() -> Path:
    """The bundled sample benchmark (inside the installed task folder)."""
    return Path(str(resources.files("medvision_tasks.tasks") / "sample"))


def data_dir() -> Path | None:
    """The directory named by ``MEDVISION_DATA_DIR``, or None when it is not set."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise MedVisionDataError(f"{DATA_DIR_ENV}={value!r} is not a directory")
    return path


def docs_file(root: Path, family: str) -> Path:
    """The JSONL file of one family's test docs inside a data directory (``<family>.jsonl``)."""
    return root / f"{get_family(family).name}.jsonl"


def read_jsonl_lines(path: Path) -> tuple[list[tuple[int, dict]], list[str]]:
    """Docs of a JSONL file with their line numbers, and the lines that hold no doc.

    Each line is read on its own, so one bad line (not UTF-8, not JSON, JSON that is not an
    object) is named and the others are still read: the loader refuses the file, or in skip mode
    drops that line alone.

    Returns:
        ``([(line_number, doc), ...], ["<path>:<line>: <problem>", ...])``; blank lines are neither.

    Raises:
        MedVisionDataError: the file does not exist.
    """
    if not path.is_file():
        raise MedVisionDataError(f"docs file not found: {path}")
    rows, problems = [], []
    with path.open("rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                problems.append(
                    f"{path}:{line_number}: not UTF-8 (byte 0x{raw[error.start]:02x} at column {error.start + 1})"
                )
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                problems.append(f"{path}:{line_number}: not valid JSON ({error})")
                continue
            if not isinstance(row, dict):
                problems.append(
                    f"{path}:{line_number}: a doc must be a JSON object, got {type(row).__name__} {line.strip()[:40]}"
                )
                continue
            rows.append((line_number, row))
    return rows, problems


_parsed: dict[str, tuple[tuple, tuple[list[tuple[int, dict]], list[str]]]] = {}


def _rows_of(path: Path) -> tuple[list[tuple[int, dict]], list[str]]:
    """:func:`read_jsonl_lines`, parsed once per process for the tasks of every plane that read one file.

    Kept while the file's inode, size, modification and change times stay the same (a write
    always moves the change time). Loading copies each row before adding to it.
    """
    stat = path.stat()
    signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    known = _parsed.get(str(path))
    if known is not None and known[0] == signature:
        return known[1]
    rows = read_jsonl_lines(path)
    _parsed.clear()  # one file at a time: the docs of the family being loaded
    _parsed[str(path)] = (signature, rows)
    return rows


def whole_number(value: Any) -> int | None:
    """An integer however JSON exports wrote it (2, 2.0, "2"); None for anything else."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def plane_of(doc: Mapping) -> str | None:
    """'sagittal', 'coronal' or 'axial' from the doc's ``slice_dim``; None when it is invalid."""
    return plane_of_slice_dim(whole_number(doc.get("slice_dim")))


def env_flag(name: str) -> bool:
    """A yes/no environment switch: unset, empty, 0, false, no and off mean no."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


class _Metadata:
    """Names for docs that do not carry them, from a data directory's ``metadata.json``."""

    def __init__(self, path: Path | None) -> None:
        self.labels: dict[tuple, dict] = {}
        self.measurements: dict[tuple, dict] = {}
        if path is None or not path.is_file():
            return
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise MedVisionDataError(f"{path}: not valid UTF-8 JSON ({error})") from error
        if not isinstance(content, dict):
            raise MedVisionDataError(f"{path}: expected a JSON object with 'labels' and 'measurements' lists")
        for section in ("labels", "measurements"):
            entries = content.get(section, [])
            if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
                raise MedVisionDataError(f"{path}: '{section}' must be a list of objects")
        for number, entry in enumerate(content.get("labels", []), start=1):
            label = entry.get("label")
            if label is not None and whole_number(label) is None:
                raise MedVisionDataError(
                    f"{path}: labels entry {number}: field label is {label!r}; expected a whole number"
                )
            key = (entry.get("dataset_name"), _text(entry.get("taskID")), whole_number(label))
            self.labels[key] = entry
        for entry in content.get("measurements", []):
            key = (entry.get("dataset_name"), _text(entry.get("taskID")), entry.get("metric_key"))
            self.measurements[key] = entry

    def lookup(self, doc: Mapping, family: str) -> Mapping:
        if family == ANGLE_DISTANCE:
            table, item = self.measurements, (doc.get("biometric_profile") or {}).get("metric_key")
        else:
            table, item = self.labels, whole_number(doc.get("label"))
        dataset, task = doc.get("dataset_name"), _text(doc.get("taskID"))
        return table.get((dataset, task, item)) or table.get((dataset, None, item)) or {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _positive_number(profile: Mapping, field: str, problems: list[str]) -> float | None:
    value = profile.get(field)
    if value is None:
        problems.append(f"missing field biometric_profile.{field}")
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        problems.append(f"biometric_profile.{field} is {value!r}; expected a number")
        return None
    if not math.isfinite(value):
        problems.append(f"biometric_profile.{field} = {value} (a target must be a finite number)")
        return None
    if not value > 0:
        # MRE divides by the target: a zero or negative target cannot be scored.
        problems.append(f"biometric_profile.{field} = {value} (a target must be > 0)")
        return None
    return value


def _target(doc: dict, family: str, problems: list[str]) -> list[float] | None:
    if family == DETECTION:
        boxes = doc.get("bounding_boxes") or []
        if len(boxes) != 1:
            problems.append(f"bounding_boxes has {len(boxes)} boxes; exactly one is required")
            return None
        (r0, c0), (r1, c1) = boxes[0]["min_coords"][:2], boxes[0]["max_coords"][:2]
        box = (int(r0), int(c0), int(r1), int(c1))
        if r1 <= r0 or c1 <= c0:
            # Relative corners use the inclusive max (as the benchmark did): a one-pixel side has zero area.
            problems.append(f"bounding box {list(box)} has zero area")
            return None
        size = doc["image_size_2d"]
        doc["box_area_fraction"] = box_area_fraction(box, size)
        return relative_box(box, size)
    profile = doc.get("biometric_profile") or {}
    if family == TUMOR_LESION:
        if not isinstance(profile, Mapping):
            problems.append(f"biometric_profile has {len(profile)} ellipses; exactly one is required")
            return None
        values = [_positive_number(profile, f"metric_value_{axis}_axis", problems) for axis in ("major", "minor")]
    else:
        if profile.get("metric_type") not in ("distance", "angle"):
            problems.append(
                f"biometric_profile.metric_type is {profile.get('metric_type')!r}; expected distance or angle"
            )
        values = [_positive_number(profile, "metric_value", problems)]
    return None if None in values else values


def _landmark_points(doc: Mapping, family: str, problems: list[str]) -> list[list[float]] | None:
    """The doc's ground-truth points (T/L, A/D): pixel ``[row, col]`` pairs, as many as its question has.

    Optional (the step analysis needs them: :mod:`medvision_tasks.steps`); detection's points are
    its box's corners, so a detection doc's field is not read.
    """
    points = doc.get("landmark_points")
    if points is None or family == DETECTION:
        return None
    metric_type = get_family(family).metric_type_of(doc.get("biometric_profile"))
    expected = point_count(metric_type) if metric_type in STEP_POINTS else None
    pairs = isinstance(points, (list, tuple)) and all(
        isinstance(p, (list, tuple)) and len(p) == 2 and all(_finite_number(v) for v in p) for p in points
    )
    if not pairs or len(points) != expected:
        problems.append(
            f"landmark_points {points!r} must be {expected} [row, col] pixel pairs of finite numbers (or absent)"
        )
        return None
    return [[float(row), float(col)] for row, col in points]


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


REQUIRED_FIELDS = ("dataset_name", "image_file", "slice_dim", "slice_idx", "image_size_2d", "pixel_size")
DESCRIPTIVE_FIELDS = ("image_description", "modality")
UNNAMED_ALLOWED = ("measurement_name",)
"""Name fields that may be "": an unnamed measurement (every Ceph-Biometrics-400 one) is asked in the
benchmark's unnamed form ("estimate the angle between 2 lines in degree: ...")."""


def normalize_doc(
    row: Mapping, family: str, root: Path, metadata: _Metadata, protocol: Protocol
) -> tuple[dict, list[str]]:
    """One doc ready for the hooks, and the problems that make it unusable (empty when fine)."""
    doc = dict(row)
    try:
        problems = _normalize(doc, family, root, metadata, protocol)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        problems = [f"malformed doc ({type(error).__name__}: {error})"]
    return doc, problems


def _positive_pair(values: Any, integers: bool) -> bool:
    if not isinstance(values, (list, tuple)) or len(values) != 2:
        return False
    numbers = [whole_number(v) if integers else float(v) for v in values]
    return all(n is not None and n > 0 for n in numbers)


def _field_type_problems(doc: Mapping, family: str) -> list[str]:
    """Fields of the wrong JSON type that later steps would index or hash: named before they are used."""
    problems = []
    profile = doc.get("biometric_profile")
    if family != DETECTION and profile is not None:
        # A T/L profile may also be a list of ellipses (the loader names their count).
        shapes = (Mapping, list, tuple) if family == TUMOR_LESION else (Mapping,)
        if not isinstance(profile, shapes):
            problems.append(f"field biometric_profile is {profile!r}; expected a JSON object")
        elif family == ANGLE_DISTANCE and not isinstance(profile.get("metric_key"), (str, type(None))):
            problems.append(f"field biometric_profile.metric_key is {profile['metric_key']!r}; expected a string")
    if doc.get("label") is not None and whole_number(doc["label"]) is None:
        problems.append(f"field label is {doc['label']!r}; expected a whole number")
    return problems


def _normalize(doc: dict, family: str, root: Path, metadata: _Metadata, protocol: Protocol) -> list[str]:
    problems = [f"missing field {field}" for field in REQUIRED_FIELDS if doc.get(field) is None]
    problems += _field_type_problems(doc, family)
    if problems:
        return problems
    doc.update(to_list_shape(doc, family))
    # Every doc holds the field, so that Arrow (which takes its columns from the first doc) keeps it.
    doc["upstream_task"] = _text(doc.get("upstream_task"))
    names = metadata.lookup(doc, family)
    name_fields = get_family(family).asks.name_fields
    for field in name_fields + DESCRIPTIVE_FIELDS:
        unset = doc.get(field) is None if field in UNNAMED_ALLOWED else doc.get(field) in (None, "", [])
        if unset:
            doc[field] = names.get(field, "" if field in DESCRIPTIVE_FIELDS else None)
    problems += [
        f"missing field {field} (not in the doc nor in {METADATA_FILE})"
        + (' (write "" for a measurement without a name)' if field in UNNAMED_ALLOWED else "")
        for field in name_fields
        if doc.get(field) is None or (doc.get(field) in ("", []) and field not in UNNAMED_ALLOWED)
    ]
    names_of_landmarks = doc.get("landmark_names")
    if names_of_landmarks and isinstance(names_of_landmarks[0], (list, tuple)):
        doc["landmark_names"] = [name for line in names_of_landmarks for name in line]
    slice_dim, slice_idx = whole_number(doc["slice_dim"]), whole_number(doc["slice_idx"])
    slice_problems = []
    if plane_of_slice_dim(slice_dim) is None:
        slice_problems.append(f"slice_dim is {doc['slice_dim']!r}; expected 0, 1 or 2")
    if slice_idx is None:
        slice_problems.append(f"slice_idx is {doc['slice_idx']!r}; expected a whole number")
    if slice_problems:
        return problems + slice_problems
    doc["slice_dim"], doc["slice_idx"] = slice_dim, slice_idx
    if not _positive_pair(doc["image_size_2d"], integers=True) or not _positive_pair(doc["pixel_size"], integers=False):
        problems.append(
            f"image_size_2d {doc['image_size_2d']!r} and pixel_size {doc['pixel_size']!r} must be two positive numbers each"
        )
        return problems
    size_3d = doc.get("image_size_3d")
    if size_3d and not 0 <= slice_idx < int(size_3d[slice_dim]):
        problems.append(f"slice_idx {slice_idx} outside image_size_3d {list(size_3d)} along dim {slice_dim}")
    doc["image_path"] = image_path(root, str(doc["image_file"]))
    doc["family"] = family
    doc["plane"] = plane_of_slice_dim(slice_dim)
    doc["taskID"] = _text(doc.get("taskID"))
    doc["label"] = whole_number(doc.get("label"))
    item = doc["label"] if family != ANGLE_DISTANCE else (doc.get("biometric_profile") or {}).get("metric_key")
    # Unique per question within a family: two tasks of a dataset may label one slice alike.
    doc["doc_key"] = f"{doc['dataset_name']}/{doc['taskID']}/{doc['image_file']}#{slice_dim}:{slice_idx}/{item}"
    doc["target"] = _target(doc, family, problems)
    # Every doc holds the field (None when absent), so that Arrow keeps it.
    doc["landmark_points"] = _landmark_points(doc, family, problems)
    if not problems:
        # Build the prompts once now, so a bad unit, metric type or name list is reported at load.
        try:
            native = SeenImage(tuple(doc["image_size_2d"]), tuple(doc["pixel_size"]))
            for cot in (False, True):
                doc_prompt(doc, seen=native, cot=cot, protocol=protocol)
        except (KeyError, TypeError, ValueError) as error:
            problems.append(f"cannot build its prompt: {error}")
    return problems


@functools.lru_cache(maxsize=1 << 16)
def image_path(root: Path, image_file: str) -> str:
    """The absolute path of a doc's ``image_file`` (relative to the data directory, or absolute)."""
    path = Path(image_file).expanduser()
    return str(path if path.is_absolute() else root / path)


def loading_protocol() -> Protocol:
    """The run's protocol (``MEDVISION_PROTOCOL``), whose prompts every doc must build at load.

    Raises:
        MedVisionDataError: ``MEDVISION_PROTOCOL`` names no protocol.
    """
    try:
        return resolve_protocol()
    except ValueError as error:
        raise MedVisionDataError(str(error)) from None


def announce_source(source: str) -> None:
    """Say once per process which docs the tasks run on."""
    if source not in _announced_sources:
        if not _announced_sources:
            logger.warning("MedVision: scoring with %s", describe_versions(score_relevant_versions()))
        _announced_sources.add(source)
        logger.warning("MedVision: running on %s", source)


_told_reoriented: set[str] = set()


def _log_warning(message: str) -> None:
    logger.warning("MedVision: %s", message)


def volume_problem(
    path: str,
    slice_dim: int,
    slice_idx: int,
    image_size_2d: Iterable,
    known: dict[str, VolumeHeader | str],
    say: Callable[[str], None] = _log_warning,
) -> str | None:
    """What makes a doc's volume unusable for its slice, from the volume's header; None when fine.

    The volume must pass :func:`medvision_tasks.volumes.inspect_volume` (a header read: 3D,
    plausible size, usable affine, data not cut short), have the doc's slice, and that slice must
    be ``image_size_2d`` pixels, all in the RAS+ frame slices are taken in. A volume stored in
    another orientation is said once per process (it is reoriented on reading).

    Args:
        path: the doc's ``image_path``.
        slice_dim, slice_idx: the doc's slice.
        image_size_2d: the doc's ``(rows, columns)``.
        known: headers (or problems) of volumes already inspected by this load (thousands of docs share one).
        say: how to tell a reoriented volume (a message without the ``MedVision:`` prefix; default: log a warning).
    """
    header = known.get(path)
    if header is None:
        try:
            header = inspect_volume(path)
        except VolumeReadError as error:
            header = str(error)
        known[path] = header
        if isinstance(header, VolumeHeader) and header.reoriented and path not in _told_reoriented:
            _told_reoriented.add(path)
            say(
                f"volume {path} is stored {header.orientation}; its slices are taken from its RAS+ reorientation "
                "(the frame MedVision docs index)"
            )
    if isinstance(header, str):
        return header
    depth = header.shape[slice_dim]
    if not 0 <= slice_idx < depth:
        return f"slice_idx {slice_idx} outside volume {path} (RAS+ shape {list(header.shape)}, along dim {slice_dim})"
    size = [header.shape[axis] for axis in in_plane_axes(slice_dim)]
    if [int(n) for n in image_size_2d] != size:
        return (
            f"image_size_2d {list(image_size_2d)} but the slice of volume {path} is {size} pixels "
            f"(RAS+ shape {list(header.shape)}, across dim {slice_dim})"
        )
    return None


def load_documents(family: str, plane: str | None, sample_rows: Iterable[Mapping] | None = None) -> list[dict]:
    """The docs of one task: a family, and a plane (None for every plane).

    Args:
        family: "detection", "tl" or "ad".
        plane: "axial", "coronal", "sagittal", or None for all planes.
        sample_rows: the bundled sample's rows as lmms-eval loaded them from the task YAML; used
            when ``MEDVISION_DATA_DIR`` is not set (read from the sample folder when None).

    Raises:
        MedVisionDataError: an unknown ``MEDVISION_PROTOCOL``; or listing every doc with a missing
            field or a zero target and every doc whose volume is missing, corrupt or lacks its
            slice (:func:`volume_problem`), naming the doc key, the docs file and the volume path. With ``MEDVISION_SKIP_INVALID=1`` such docs are dropped with a warning
            instead.
    """
    if plane is not None and plane not in PLANES:
        raise ValueError(f"unknown plane {plane!r}; expected one of {PLANES}")
    protocol = loading_protocol()
    root = data_dir()
    if root is None:
        root = sample_dir()
        announce_source(f"the bundled sample benchmark in {root} ({DATA_DIR_ENV} is not set)")
        if sample_rows is not None:
            rows, errors = list(enumerate(sample_rows, start=1)), []
        else:
            rows, errors = read_jsonl_lines(docs_file(root, family))
    else:
        announce_source(f"{DATA_DIR_ENV}={root}")
        if not docs_file(root, family).is_file():
            raise MedVisionDataError(
                f"no {family} docs: {docs_file(root, family)} does not exist. {DATA_DIR_ENV} must name a folder "
                f"holding {', '.join(docs_file(root, f).name for f in FAMILIES)} and their volumes: build one "
                "with `medvision-tasks prepare`, or unset it to run on the bundled sample"
            )
        rows, errors = _rows_of(docs_file(root, family))
    source = docs_file(root, family)
    metadata = _Metadata(root / METADATA_FILE)

    docs, errors = [], list(errors)
    headers: dict[str, VolumeHeader | str] = {}  # thousands of docs share a volume
    line_of_key: dict[str, int] = {}
    for line_number, row in rows:
        if plane is not None and plane_of(row) not in (None, plane):
            continue  # a missing or invalid slice_dim is reported by normalize_doc below
        doc, problems = normalize_doc(row, family, root, metadata, protocol)
        if not problems and doc["doc_key"] in line_of_key:
            # The same question twice would be scored twice (its error counted double in every mean).
            problems.append(f"duplicate of the doc on line {line_of_key[doc['doc_key']]} (the same doc_key)")
        if not problems:
            volume = volume_problem(
                doc["image_path"], doc["slice_dim"], doc["slice_idx"], doc["image_size_2d"], headers
            )
            if volume is not None:
                problems.append(volume)
        if problems:
            name = doc.get("doc_key") or "doc"
            errors.append(f"{source}:{line_number} {name}: " + "; ".join(problems))
            continue
        line_of_key[doc["doc_key"]] = line_number
        docs.append(doc)
    if errors:
        shown = "\n  ".join(errors[:MAX_ERRORS_SHOWN])
        more = f"\n  ... and {len(errors) - MAX_ERRORS_SHOWN} more" if len(errors) > MAX_ERRORS_SHOWN else ""
        message = f"{len(errors)} MedVision doc(s) cannot be evaluated:\n  {shown}{more}"
        if env_flag(SKIP_INVALID_ENV):
            logger.warning("MedVision: %s\nDropped because %s is set.", message, SKIP_INVALID_ENV)
        else:
            raise MedVisionDataError(f"{message}\nFix them, or set {SKIP_INVALID_ENV}=1 to drop them.")
    return docs
