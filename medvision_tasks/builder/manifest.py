"""The ``medvision-tasks prepare`` manifest: a YAML file naming cases, parsed into specs.

The format is documented in docs/data.md, "Manifest". In short::

    base_dir: ..                 # optional; paths are relative to it (default: the manifest's folder)
    seed: 0                      # subject-level split: seeded shuffle, train_fraction to train
    train_fraction: 0.7
    defaults: {planes: [axial, coronal, sagittal]}   # any case key, for every case
    datasets:
      - name: MyDataset
        modality: MRI
        image_description: "a {plane} slice of a T1-weighted brain MRI"
        cases:
          - id: case001
            subject_id: sub-01
            image: images/case001.nii.gz
            mask: labels/case001.nii.gz
            labels: {1: liver, 2: {name: liver tumor, families: [detection, tl]}}
            landmarks: {file: landmarks/case001.fcsv}
            measurements:
              - {name: AC-PC distance, distance: [AC, PC]}
              - {name: callosal angle, angle: [[AC, PC], [genu, splenium]]}
    imports:                     # docs already in the public MedVision layout
      - docs: exported/detection.jsonl
        labels: {1: liver}

Keys a case may hold can also be given per dataset or under ``defaults``; the most specific
wins. Every error is a :class:`ManifestError` naming the manifest and the entry; a misspelt key
gets the allowed key it is closest to ("did you mean 'labels'?").
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from medvision_tasks.builder.public_plan import DATASETS_DIR
from medvision_tasks.builder.spec import (
    DEFAULT_LANDMARK_TOLERANCE_MM,
    DEFAULT_PLANES,
    DEFAULT_SEED,
    DEFAULT_TASK_ID,
    DEFAULT_TRAIN_FRACTION,
    IMPORT_SPLIT_BY_SUBJECT,
    PAPER_DOCS_PER_TASK,
    PAPER_MIN_AD_TARGET,
    PAPER_PLAN_VERSION,
    CaseSpec,
    ImportSpec,
    LabelSpec,
    LandmarkFileSpec,
    Manifest,
    MaskSpec,
    MeasurementSpec,
    PublicRequest,
)
from medvision_tasks.builder.upstream_tasks import PAPER_SET, TaskNameError, resolve_tasks
from medvision_tasks.families import DETECTION, MASK_FAMILIES
from medvision_tasks.ground_truth import DEFAULT_MIN_BOX_SIDE_PX, DEFAULT_MIN_LESION_PIXELS
from medvision_tasks.planes import SLICE_DIM_OF_PLANE

# Keys a case may carry, also allowed per dataset and under `defaults` (inherited).
INHERITED_KEYS = {
    "modality",
    "image_description",
    "planes",
    "labels",
    "families",
    "measurements",
    "landmark_names",
    "landmark_space",
    "landmark_coordinate_system",
    "landmark_name_column",
    "landmark_tolerance_mm",
    "slice_step",
    "max_slices_per_label_plane",
    "crop",
    "resample_mm",
    "image_dtype",
    "split",
    "min_box_side_px",
    "min_lesion_pixels",
}
CASE_ONLY_KEYS = {"id", "subject_id", "image", "mask", "masks", "landmarks"}
DATASET_ONLY_KEYS = {"name", "cases"}
TOP_LEVEL_KEYS = {"version", "base_dir", "seed", "train_fraction", "defaults", "datasets", "imports", "public"}
PUBLIC_KEYS = {
    "data_dir",
    "tasks",
    "plan_version",
    "cap",
    "tl_exclusions",
    "use_tl_exclusions",
    "min_ad_target",
    "check_volumes",
    "volumes",
}
IMPORT_KEYS = {
    "docs",
    "image_root",
    "volumes",
    "split",
    "dataset_name",
    "task_id",
    "labels",
    "measurements",
    "modality",
    "image_description",
    "subject_id_pattern",
    "plans",
    "plan_version",
}
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
ALLOWED_IMAGE_DTYPES = ("uint8", "int8", "uint16", "int16", "int32", "float32")


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file and the entry."""


class _Context:
    """Where in the manifest we are, for messages."""

    def __init__(self, path: Path, where: str) -> None:
        self.path, self.where = path, where

    def error(self, message: str) -> ManifestError:
        return ManifestError(f"{self.path}: {self.where}: {message}")

    def child(self, where: str) -> _Context:
        return _Context(self.path, f"{self.where}.{where}" if self.where else where)


def did_you_mean(name: str, allowed: set[str]) -> str | None:
    """The allowed name closest to a misspelt one (``lables`` -> ``labels``), or None when none is close."""
    close = difflib.get_close_matches(name, sorted(allowed), n=1, cutoff=0.6)
    return close[0] if close else None


def _check_keys(entry: Any, allowed: set[str], ctx: _Context) -> Mapping:
    if not isinstance(entry, Mapping):
        raise ctx.error(f"expected a mapping, got {type(entry).__name__}")
    unknown = sorted(set(map(str, entry)) - allowed)
    if unknown:
        guesses = [(name, did_you_mean(name, allowed)) for name in unknown]
        hints = ", ".join(f"{guess!r} for {name!r}" for name, guess in guesses if guess)
        hint = f" (did you mean {hints}?)" if hints else ""
        raise ctx.error(f"unknown key(s) {unknown}{hint}; allowed: {sorted(allowed)}")
    return entry


def _text(value: Any, ctx: _Context, what: str, *, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ctx.error(f"{what} is required")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ctx.error(f"{what} must be text, got {value!r}")
    return str(value).strip()


def _positive_int(value: Any, ctx: _Context, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ctx.error(f"{what} must be a positive integer, got {value!r}")
    return value


def _number(value: Any, ctx: _Context, what: str, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= minimum:
        raise ctx.error(f"{what} must be a number >= {minimum}, got {value!r}")
    return float(value)


def _split(value: Any, ctx: _Context) -> str | None:
    if value is None:
        return None
    if value not in ("train", "test"):
        raise ctx.error(f"split must be 'train' or 'test', got {value!r}")
    return str(value)


def _import_split(value: Any, ctx: _Context) -> str:
    if value == IMPORT_SPLIT_BY_SUBJECT:
        return value
    split = _split(value, ctx.child("split"))
    if split is None:
        raise ctx.error(f"split must be 'test', 'train' or '{IMPORT_SPLIT_BY_SUBJECT}', got {value!r}")
    return split


def _planes(value: Any, ctx: _Context) -> tuple[int, ...]:
    if value in ("all", None):
        return DEFAULT_PLANES
    items = [value] if isinstance(value, (str, int)) else value
    if not isinstance(items, list) or not items:
        raise ctx.error(f"planes must be a list of axial/coronal/sagittal, got {value!r}")
    dims = []
    for item in items:
        if isinstance(item, str) and item.lower() in SLICE_DIM_OF_PLANE:
            dims.append(SLICE_DIM_OF_PLANE[item.lower()])
        elif isinstance(item, int) and not isinstance(item, bool) and item in (0, 1, 2):
            dims.append(item)
        else:
            raise ctx.error(f"unknown plane {item!r}; expected axial, coronal or sagittal")
    return tuple(dict.fromkeys(dims))


def _families(value: Any, ctx: _Context) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or any(f not in MASK_FAMILIES for f in items):
        raise ctx.error(f"families must be a list of {list(MASK_FAMILIES)}, got {value!r}")
    return tuple(dict.fromkeys(items))


def _label_value(key: Any, ctx: _Context) -> int:
    try:
        value = int(str(key))
    except ValueError:
        raise ctx.error(f"label {key!r} is not an integer voxel value") from None
    if value == 0:
        raise ctx.error("label 0 is the background")
    return value


def _labels(value: Any, default_families: tuple[str, ...], ctx: _Context) -> tuple[LabelSpec, ...]:
    if not isinstance(value, Mapping) or not value:
        raise ctx.error(f"labels must map label values to names, got {value!r}")
    labels = []
    for key, spec in value.items():
        label = _label_value(key, ctx)
        label_ctx = ctx.child(str(key))
        if isinstance(spec, Mapping):
            _check_keys(spec, {"name", "families"}, label_ctx)
            name = _text(spec.get("name"), label_ctx, "name")
            families = _families(spec["families"], label_ctx) if "families" in spec else default_families
        else:
            name, families = _text(spec, label_ctx, "label name"), default_families
        labels.append(LabelSpec(value=label, name=name, families=families))
    return tuple(labels)


def _resolve(base_dir: Path, value: Any, ctx: _Context, what: str) -> str:
    text = _text(value, ctx, what)
    path = Path(text).expanduser()
    return str(path if path.is_absolute() else (base_dir / path).resolve())


def _masks(entry: Mapping, settings: Mapping, base_dir: Path, ctx: _Context) -> tuple[MaskSpec, ...]:
    default_families = _families(settings["families"], ctx) if "families" in settings else (DETECTION,)
    if "mask" in entry and "masks" in entry:
        raise ctx.error("give either mask (with labels) or masks, not both")
    if "mask" in entry:
        if "labels" not in settings:
            raise ctx.error("mask needs labels (label value -> name)")
        labels = _labels(settings["labels"], default_families, ctx.child("labels"))
        return (MaskSpec(_resolve(base_dir, entry["mask"], ctx, "mask"), labels, DEFAULT_TASK_ID),)
    masks = []
    items = entry.get("masks") or []
    if not isinstance(items, list):
        raise ctx.error("masks must be a list of {file, labels}")
    for index, item in enumerate(items):
        mask_ctx = ctx.child(f"masks[{index}]")
        _check_keys(item, {"file", "labels", "families", "task_id"}, mask_ctx)
        families = _families(item["families"], mask_ctx) if "families" in item else default_families
        labels = _labels(item.get("labels"), families, mask_ctx.child("labels"))
        task_id = _text(item.get("task_id"), mask_ctx, "task_id", required=False) or f"{index + 1:02d}"
        masks.append(MaskSpec(_resolve(base_dir, item.get("file"), mask_ctx, "file"), labels, task_id))
    return tuple(masks)


def _landmark_file(entry: Mapping, settings: Mapping, base_dir: Path, ctx: _Context) -> LandmarkFileSpec | None:
    value = entry.get("landmarks")
    if value is None:
        return None
    options = {
        "space": settings.get("landmark_space"),
        "coordinate_system": settings.get("landmark_coordinate_system"),
        "name_column": settings.get("landmark_name_column"),
    }
    if isinstance(value, Mapping):
        sub = ctx.child("landmarks")
        _check_keys(value, {"file", "space", "coordinate_system", "name_column"}, sub)
        options.update({k: value[k] for k in ("space", "coordinate_system", "name_column") if k in value})
        path = _resolve(base_dir, value.get("file"), sub, "file")
    else:
        path = _resolve(base_dir, value, ctx, "landmarks")
    if options["space"] not in (None, "mm", "voxel"):
        raise ctx.error(f"landmark space must be 'mm' or 'voxel', got {options['space']!r}")
    system = options["coordinate_system"]
    if system is not None and str(system).upper() not in ("RAS", "LPS"):
        raise ctx.error(f"landmark coordinate system must be RAS or LPS, got {system!r}")
    return LandmarkFileSpec(
        path=path,
        space=options["space"],
        coordinate_system=None if system is None else str(system).upper(),
        name_column=options["name_column"],
    )


def _measurements(value: Any, planes: tuple[int, ...], ctx: _Context) -> tuple[MeasurementSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ctx.error("measurements must be a list")
    measurements, keys = [], set()
    for index, item in enumerate(value):
        sub = ctx.child(f"measurements[{index}]")
        _check_keys(item, {"name", "key", "distance", "angle", "planes", "task_id"}, sub)
        name = _text(item.get("name"), sub, "name")
        if ("distance" in item) == ("angle" in item):
            raise sub.error("give exactly one of distance: [p1, p2] or angle: [[a, b], [c, d]]")
        if "distance" in item:
            kind, points = "distance", item["distance"]
            ok = isinstance(points, list) and len(points) == 2 and all(isinstance(p, str) for p in points)
            landmarks = tuple(points) if ok else ()
        else:
            kind, lines = "angle", item["angle"]
            ok = (
                isinstance(lines, list)
                and len(lines) == 2
                and all(isinstance(line, list) and len(line) == 2 for line in lines)
                and all(isinstance(p, str) for line in lines for p in line)
            )
            landmarks = tuple(p for line in lines for p in line) if ok else ()
        if not ok:
            shape = "[p1, p2]" if kind == "distance" else "[[l1p1, l1p2], [l2p1, l2p2]]"
            raise sub.error(f"{kind} must be {shape} (landmark names), got {item[kind]!r}")
        key = _text(item.get("key"), sub, "key", required=False) or name
        if key in keys:
            raise sub.error(f"duplicate measurement key {key!r}")
        keys.add(key)
        measurements.append(
            MeasurementSpec(
                name=name,
                key=key,
                kind=kind,
                landmarks=landmarks,
                planes=_planes(item["planes"], sub) if "planes" in item else planes,
                task_id=_text(item.get("task_id"), sub, "task_id", required=False) or DEFAULT_TASK_ID,
            )
        )
    return tuple(measurements)


def _crop(value: Any, ctx: _Context) -> tuple | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        _check_keys(value, {"margin_mm"}, ctx.child("crop"))
        margin = value.get("margin_mm")
        margins = margin if isinstance(margin, list) else [margin] * 3
        if len(margins) != 3:
            raise ctx.error(f"crop.margin_mm must be a number or three numbers, got {margin!r}")
        return ("margin_mm", tuple(_number(m, ctx, "crop.margin_mm") for m in margins))
    if not isinstance(value, list) or len(value) != 3:
        raise ctx.error(f"crop must be {{margin_mm: M}} or three [start, stop] voxel ranges, got {value!r}")
    ranges = []
    for axis_range in value:
        if axis_range is None:
            ranges.append((None, None))
            continue
        if not isinstance(axis_range, list) or len(axis_range) != 2:
            raise ctx.error(f"crop range must be [start, stop], got {axis_range!r}")
        start, stop = axis_range
        for bound in (start, stop):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int) or bound < 0):
                raise ctx.error(f"crop bounds must be voxel indices >= 0 or null, got {axis_range!r}")
        if start is not None and stop is not None and stop <= start:
            raise ctx.error(f"crop range {axis_range!r} is empty")
        ranges.append((start, stop))
    return ("box", tuple(ranges))


def _resample_mm(value: Any, ctx: _Context) -> tuple[float, float, float] | None:
    """``resample_mm``: one voxel size for all three axes, or three (x, y, z), in mm, all > 0."""
    if value is None:
        return None
    sizes = value if isinstance(value, list) else [value]
    valid = len(sizes) in (1, 3) and all(
        isinstance(size, (int, float)) and not isinstance(size, bool) and math.isfinite(size) and size > 0
        for size in sizes
    )
    if not valid:
        raise ctx.error(f"resample_mm must be a positive number or three positive numbers (mm), got {value!r}")
    return tuple(float(size) for size in sizes * (3 // len(sizes)))  # type: ignore[return-value]


def _landmark_names(value: Any, ctx: _Context) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ctx.error("landmark_names must map file names to display names")
    return tuple((str(k), _text(v, ctx, f"landmark_names.{k}")) for k, v in value.items())


def _case(entry: Any, dataset: Mapping, defaults: Mapping, base_dir: Path, ctx: _Context) -> CaseSpec:
    _check_keys(entry, INHERITED_KEYS | CASE_ONLY_KEYS, ctx)
    settings = {**defaults, **{k: v for k, v in dataset.items() if k in INHERITED_KEYS}, **entry}
    case_id = _text(entry.get("id"), ctx, "id")
    if not SAFE_NAME.match(case_id):
        raise ctx.error(f"id {case_id!r} must be letters, digits and ._+- (it names files)")
    ctx = _Context(ctx.path, f"{ctx.where} (id {case_id!r})")
    planes = _planes(settings.get("planes"), ctx)
    masks = _masks(entry, settings, base_dir, ctx)
    landmarks = _landmark_file(entry, settings, base_dir, ctx)
    measurements = _measurements(settings.get("measurements"), planes, ctx)
    if measurements and landmarks is None:
        raise ctx.error("measurements need a landmarks file")
    if not masks and not measurements:
        raise ctx.error("nothing to build: give a mask with labels and/or landmarks with measurements")
    image_dtype = settings.get("image_dtype")
    if image_dtype is not None and image_dtype not in ALLOWED_IMAGE_DTYPES:
        raise ctx.error(f"image_dtype must be one of {ALLOWED_IMAGE_DTYPES}, got {image_dtype!r}")
    max_slices = settings.get("max_slices_per_label_plane")
    return CaseSpec(
        dataset_name=str(dataset["name"]),
        case_id=case_id,
        subject_id=_text(entry.get("subject_id"), ctx, "subject_id", required=False) or case_id,
        image=_resolve(base_dir, entry.get("image"), ctx, "image"),
        masks=masks,
        landmarks=landmarks,
        landmark_names=_landmark_names(settings.get("landmark_names"), ctx),
        measurements=measurements,
        planes=planes,
        modality=_text(settings.get("modality"), ctx, "modality", required=False),
        image_description=_text(settings.get("image_description"), ctx, "image_description", required=False),
        split=_split(settings.get("split"), ctx),
        slice_step=_positive_int(settings.get("slice_step", 1), ctx, "slice_step"),
        max_slices_per_label_plane=None
        if max_slices is None
        else _positive_int(max_slices, ctx, "max_slices_per_label_plane"),
        crop=_crop(settings.get("crop"), ctx),
        resample_mm=_resample_mm(settings.get("resample_mm"), ctx),
        image_dtype=image_dtype,
        landmark_tolerance_mm=_number(
            settings.get("landmark_tolerance_mm", DEFAULT_LANDMARK_TOLERANCE_MM), ctx, "landmark_tolerance_mm"
        ),
        min_box_side_px=_positive_int(settings.get("min_box_side_px", DEFAULT_MIN_BOX_SIDE_PX), ctx, "min_box_side_px"),
        min_lesion_pixels=_positive_int(
            settings.get("min_lesion_pixels", DEFAULT_MIN_LESION_PIXELS), ctx, "min_lesion_pixels"
        ),
    )


def _import(entry: Any, base_dir: Path, ctx: _Context) -> ImportSpec:
    _check_keys(entry, IMPORT_KEYS, ctx)
    docs = entry.get("docs")
    docs = [docs] if isinstance(docs, str) else docs
    if not isinstance(docs, list) or not docs:
        raise ctx.error("docs must name one or more .jsonl/.json files")
    paths = tuple(_resolve(base_dir, d, ctx, "docs") for d in docs)
    image_root = (
        _resolve(base_dir, entry["image_root"], ctx, "image_root")
        if entry.get("image_root") is not None
        else str(Path(paths[0]).parent)
    )
    volumes = entry.get("volumes", "link")
    if volumes not in ("link", "copy", "keep"):
        raise ctx.error(f"volumes must be link, copy or keep, got {volumes!r}")
    labels = ()
    if entry.get("labels") is not None:
        labels = tuple((s.value, s.name) for s in _labels(entry["labels"], (DETECTION,), ctx.child("labels")))
    measurements = []
    for key, spec in (entry.get("measurements") or {}).items():
        sub = ctx.child(f"measurements.{key}")
        _check_keys(spec, {"name", "landmarks"}, sub)
        landmark_names = spec.get("landmarks")
        if not isinstance(landmark_names, list) or len(landmark_names) != 2:
            raise sub.error("landmarks must be [p1, p2] or [[l1p1, l1p2], [l2p1, l2p2]]")
        frozen = tuple(tuple(x) if isinstance(x, list) else x for x in landmark_names)
        if "name" not in spec:
            # Upstream asks unnamed measurements (every Ceph-Biometrics-400 one) in its unnamed form.
            raise sub.error('name is required ("" for a measurement without a name)')
        measurements.append((str(key), _text(spec.get("name"), sub, "name", required=False), frozen))
    pattern = entry.get("subject_id_pattern")
    if pattern is not None:
        try:
            if re.compile(pattern).groups != 1:
                raise ctx.error("subject_id_pattern needs exactly one (group)")
        except re.error as error:
            raise ctx.error(f"subject_id_pattern is not a regex: {error}") from None
    plans = None
    if entry.get("plans") is not None:
        plans = _resolve(base_dir, entry["plans"], ctx, "plans")
        if not (Path(plans) / DATASETS_DIR).is_dir():
            raise ctx.error(f"plans: {plans} has no {DATASETS_DIR}/ folder (the public data's root is expected)")
    return ImportSpec(
        plans=plans,
        plan_version=_text(entry.get("plan_version"), ctx, "plan_version", required=False) or PAPER_PLAN_VERSION,
        docs=paths,
        image_root=image_root,
        volumes=volumes,
        split=_import_split(entry.get("split", "test"), ctx),
        dataset_name=_text(entry.get("dataset_name"), ctx, "dataset_name", required=False) or None,
        task_id=_text(entry.get("task_id"), ctx, "task_id", required=False) or None,
        labels=labels,
        measurements=tuple(measurements),
        modality=_text(entry.get("modality"), ctx, "modality", required=False),
        image_description=_text(entry.get("image_description"), ctx, "image_description", required=False),
        subject_id_pattern=pattern,
    )


def public_request(entry: Any, base_dir: Path, source: Path, where: str) -> PublicRequest:
    """A ``public:`` entry (also what ``prepare --public`` builds from its options) as a request.

    Args:
        entry: the entry's mapping (keys: :data:`PUBLIC_KEYS`).
        base_dir: what relative paths in it are relative to.
        source, where: the manifest (or command line) and the entry, for messages.

    Raises:
        ManifestError: a missing or malformed value, or a task name that names no public config.
    """
    ctx = _Context(source, where)
    entry = _check_keys(entry, PUBLIC_KEYS, ctx)
    root = _resolve(base_dir, entry.get("data_dir"), ctx, "data_dir")
    names = entry.get("tasks") or list(PAPER_SET)
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, list):
        raise ctx.error("tasks must be a list of list names, task-list files or task names")
    try:
        tasks = resolve_tasks(
            _resolve(base_dir, n, ctx, "tasks") if str(n).endswith(".json") else str(n) for n in names
        )
    except TaskNameError as error:
        raise ctx.error(str(error)) from None
    if not tasks:
        raise ctx.error("tasks names no task")
    cap = entry.get("cap", PAPER_DOCS_PER_TASK)
    volumes = entry.get("volumes", "keep")
    if volumes not in ("keep", "link", "copy"):
        raise ctx.error(f"volumes must be keep, link or copy, got {volumes!r}")
    exclusions = entry.get("tl_exclusions") or []
    exclusions = [exclusions] if isinstance(exclusions, str) else exclusions
    minimum = entry.get("min_ad_target", PAPER_MIN_AD_TARGET)
    use_exclusions = entry.get("use_tl_exclusions", True)
    if not isinstance(use_exclusions, bool):
        raise ctx.error(f"use_tl_exclusions must be true or false, got {use_exclusions!r}")
    return PublicRequest(
        root=root,
        tasks=tasks,
        plan_version=_text(entry.get("plan_version", PAPER_PLAN_VERSION), ctx, "plan_version"),
        cap=None if cap is None else _positive_int(cap, ctx, "cap"),
        tl_exclusions=tuple(_resolve(base_dir, p, ctx, "tl_exclusions") for p in exclusions),
        use_tl_exclusions=use_exclusions,
        min_ad_target=None if minimum is None else _number(minimum, ctx, "min_ad_target"),
        check_volumes=0
        if not entry.get("check_volumes")
        else _positive_int(entry["check_volumes"], ctx, "check_volumes"),
        volumes=volumes,
    )


def load_manifest(path: str | Path) -> Manifest:
    """Parse and validate a manifest file.

    Args:
        path: the YAML manifest. Relative paths inside it resolve against its ``base_dir``
            (itself relative to the manifest's folder), by default the manifest's folder.

    Returns:
        The manifest with one :class:`CaseSpec` per case, in file order.

    Raises:
        ManifestError: unreadable YAML, unknown keys, missing or malformed values, duplicate
            dataset/case ids; the message names the manifest and the entry.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ManifestError(f"{path}: not valid YAML ({error})") from error
    root = _Context(path, "")
    _check_keys(content, TOP_LEVEL_KEYS, _Context(path, "top level"))
    base_dir = path.parent.resolve()
    if content.get("base_dir") is not None:
        base_dir = Path(_resolve(base_dir, content["base_dir"], root, "base_dir"))
    seed = content.get("seed", DEFAULT_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ManifestError(f"{path}: seed must be an integer, got {seed!r}")
    fraction = content.get("train_fraction", DEFAULT_TRAIN_FRACTION)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
        raise ManifestError(f"{path}: train_fraction must be in [0, 1], got {fraction!r}")
    defaults = _check_keys(content.get("defaults") or {}, INHERITED_KEYS, _Context(path, "defaults"))
    manifest = Manifest(path=path, base_dir=base_dir, seed=seed, train_fraction=float(fraction))
    datasets = content.get("datasets") or []
    if not isinstance(datasets, list):
        raise ManifestError(f"{path}: datasets must be a list")
    seen: set[tuple[str, str]] = set()
    prefixes: dict[str, str] = {}
    for d_index, dataset in enumerate(datasets):
        d_ctx = _Context(path, f"datasets[{d_index}]")
        _check_keys(dataset, INHERITED_KEYS | DATASET_ONLY_KEYS, d_ctx)
        name = _text(dataset.get("name"), d_ctx, "name")
        if not SAFE_NAME.match(name):
            raise d_ctx.error(f"name {name!r} must be letters, digits and ._+- (it names files)")
        cases = dataset.get("cases") or []
        if not isinstance(cases, list) or not cases:
            raise d_ctx.error("cases must be a non-empty list")
        for c_index, entry in enumerate(cases):
            case = _case(entry, dataset, defaults, base_dir, d_ctx.child(f"cases[{c_index}]"))
            if (case.dataset_name, case.case_id) in seen:
                raise d_ctx.error(f"duplicate case id {case.case_id!r}")
            seen.add((case.dataset_name, case.case_id))
            # Output files are named "<dataset>_<case>_...": two cases must not share that prefix.
            prefix = f"{case.dataset_name}_{case.case_id}"
            if prefix in prefixes:
                raise d_ctx.error(
                    f"case {case.name} and case {prefixes[prefix]} would write the same files ({prefix}_*)"
                )
            prefixes[prefix] = case.name
            manifest.cases.append(case)
    imports = content.get("imports") or []
    if not isinstance(imports, list):
        raise ManifestError(f"{path}: imports must be a list")
    for i_index, entry in enumerate(imports):
        manifest.imports.append(_import(entry, base_dir, _Context(path, f"imports[{i_index}]")))
    public = content.get("public") or []
    public = [public] if isinstance(public, Mapping) else public
    if not isinstance(public, list):
        raise ManifestError(f"{path}: public must be a list")
    for p_index, entry in enumerate(public):
        manifest.public.append(public_request(entry, base_dir, path, f"public[{p_index}]"))
    if not manifest.cases and not manifest.imports and not manifest.public:
        raise ManifestError(f"{path}: no datasets, imports or public: nothing to build")
    return manifest
