"""The docs the public MedVision builder yields for one test case of a plan, with its filters.

The public loader (its ``_generate_examples`` and the planners' ``flatten_slice_profiles_2d``)
turns the plan's test cases into docs without reading any volume. For a config's plane
(``slice_dim``) and a case, in order:

- every entry of the case's ``slice_profiles_{x,y,z}`` (x: sagittal, y: coronal, z: axial) in
  list order (ascending slices for detection and T/L; the task's ``biometrics_map`` order for A/D);
- detection: every label of the entry, in list order (ascending), one doc per (slice, label)
  holding all the label's boxes; **dropped when it has more than one box, or a box side under
  10 pixels** (``dimensions`` along either axis);
- T/L: one doc per entry, one ellipse per valid cluster; **dropped when it has more than one
  ellipse** (1.0.0 plans), or when ``n_total_clusters > 1`` (1.1.x plans, which carry it);
- A/D: one doc per measurement; a ``_Distance`` / ``_Angle`` config keeps only that type.

Fields are those of the public rows (docs/data.md): sizes from ``image_file_info`` (``array_size``
and the 3-decimal ``voxel_size``), the 2D size and pixel size of the plane (rows, columns), every
float stored as float16 and every sequence of records column-wise, exactly as a row read from the
public dataset (:mod:`medvision_tasks.export_shape`). Paths stay relative to ``Datasets/<dataset>/``
here; the plan step makes them absolute. Names the prompts need come from the task's fields.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from medvision_tasks.builder.spec import UpstreamTask
from medvision_tasks.export_shape import box_columns, ellipse_columns, float16
from medvision_tasks.families import ANGLE_DISTANCE, DETECTION, TUMOR_LESION
from medvision_tasks.ground_truth import DEFAULT_MIN_BOX_SIDE_PX
from medvision_tasks.planes import in_plane_axes

PROFILE_KEYS = ("slice_profiles_x", "slice_profiles_y", "slice_profiles_z")
"""A case's slice entries along ``slice_dim`` 0, 1, 2."""
MAJOR_AXIS, MINOR_AXIS = "L-1-2", "L-3-4"
SKIP_SEVERAL_BOXES = "more than one box of the label in the slice"
SKIP_SMALL_BOX = f"box side under {DEFAULT_MIN_BOX_SIDE_PX} px"
SKIP_SEVERAL_ELLIPSES = "more than one ellipse in the slice"
SKIP_SEVERAL_CLUSTERS = "n_total_clusters > 1"
SKIP_OTHER_METRIC = "other measurement type than the config's"

Yielded = tuple[dict | None, str | None]
"""A doc the builder yields and None, or None and why the builder drops the entry."""


class PlanContentError(ValueError):
    """A task or case of a plan that lacks what its docs need; the message names the field."""


def _geometry(case: Mapping[str, Any], slice_dim: int) -> dict[str, list]:
    """``image_size_3d``, ``voxel_size`` (float16) and the plane's ``image_size_2d``, ``pixel_size``."""
    info = case.get("image_file_info") or {}
    try:
        size_3d = [int(n) for n in info["array_size"]]
        voxel = [float16(v) for v in info["voxel_size"]]
    except (KeyError, TypeError, ValueError) as error:
        raise PlanContentError(f"case {case.get('case_ID')!r}: no usable image_file_info ({error})") from None
    rows, cols = in_plane_axes(slice_dim)
    return {
        "image_size_2d": [size_3d[rows], size_3d[cols]],
        "pixel_size": [voxel[rows], voxel[cols]],
        "image_size_3d": size_3d,
        "voxel_size": voxel,
    }


def _head(task: UpstreamTask, case: Mapping[str, Any]) -> dict:
    """The fields every doc starts with, in the public rows' order."""
    return {
        "dataset_name": task.dataset,
        "taskID": task.task_id,
        "taskType": task.task_type,
        "image_file": case["image_file"],
    }


def _names(header: Mapping[str, Any]) -> dict[str, str]:
    return {"image_description": header.get("image_description") or "", "modality": header.get("image_modality") or ""}


def _label_name(header: Mapping[str, Any], label: int) -> str:
    name = (header.get("labels_map") or {}).get(str(label))
    if not name:
        raise PlanContentError(f"label {label} has no name in the task's labels_map")
    return str(name)


def _tail(task: UpstreamTask, case: Mapping[str, Any]) -> dict:
    return {"upstream_task": task.config, "subject_id": str(case.get("case_ID") or case["image_file"])}


def _detection(task: UpstreamTask, header: Mapping, case: Mapping, entry: Mapping, geometry: dict) -> Iterator[Yielded]:
    for item in entry.get("slice_profile") or []:
        boxes = item.get("bboxes") or []
        if len(boxes) > 1:
            yield None, SKIP_SEVERAL_BOXES
            continue
        if not boxes:
            raise PlanContentError(
                f"case {case.get('case_ID')!r} slice {entry.get('slice_idx')}: a label without boxes"
            )
        box = boxes[0]
        if min(int(box["dimensions"][0]), int(box["dimensions"][1])) < DEFAULT_MIN_BOX_SIDE_PX:
            yield None, SKIP_SMALL_BOX
            continue
        label = int(item["label"])
        kept = {
            "min_coords": [int(v) for v in box["min_coords"]],
            "max_coords": [int(v) for v in box["max_coords"]],
            "center_coords": [int(v) for v in box["center_coords"]],
            "dimensions": [int(v) for v in box["dimensions"]],
            "sizes": [float16(v) for v in box["sizes"]],
        }
        yield (
            {
                **_head(task, case),
                "mask_file": case["mask_file"],
                "slice_dim": task.slice_dim,
                "slice_idx": int(entry["slice_idx"]),
                "label": label,
                **geometry,
                "bounding_boxes": box_columns([kept]),
                "label_name": _label_name(header, label),
                **_names(header),
                **_tail(task, case),
            },
            None,
        )


def _ellipse(cluster: list, where: str) -> dict:
    """One cluster's two axis measurements as the public T/L flattener combines them."""
    values: dict[str, float] = {}
    last: Mapping = {}
    for axis in cluster:
        if axis.get("metric_key") not in (MAJOR_AXIS, MINOR_AXIS):
            raise PlanContentError(
                f"{where}: metric_key {axis.get('metric_key')!r} is neither {MAJOR_AXIS} nor {MINOR_AXIS}"
            )
        values[axis["metric_key"]] = float(axis["metric_value"])
        last = axis
    if len(values) != 2:
        raise PlanContentError(f"{where}: an ellipse without both {MAJOR_AXIS} and {MINOR_AXIS}")
    return {
        "metric_type": last.get("metric_type"),
        "metric_map_name": last.get("metric_map_name"),
        "metric_key_major_axis": MAJOR_AXIS,
        "metric_value_major_axis": float16(values[MAJOR_AXIS]),
        "metric_key_minor_axis": MINOR_AXIS,
        "metric_value_minor_axis": float16(values[MINOR_AXIS]),
        "metric_unit": last.get("metric_unit"),
    }


def _tumor_lesion(
    task: UpstreamTask, header: Mapping, case: Mapping, entry: Mapping, geometry: dict
) -> Iterator[Yielded]:
    where = f"case {case.get('case_ID')!r} slice {entry.get('slice_idx')}"
    clusters = entry.get("slice_profile") or []
    total = entry.get("n_total_clusters")
    if total is not None and int(total) > 1:
        yield None, SKIP_SEVERAL_CLUSTERS
        return
    if len(clusters) > 1:
        yield None, SKIP_SEVERAL_ELLIPSES
        return
    if not clusters:
        raise PlanContentError(f"{where}: a slice entry without an ellipse")
    if "target_label" not in header:
        raise PlanContentError("the task has no target_label: it is not a tumor/lesion size task")
    label = int(header["target_label"])
    doc = {
        **_head(task, case),
        "landmark_file": case["landmark_file"],
        "mask_file": case["mask_file"],
        "slice_dim": task.slice_dim,
        "slice_idx": int(entry["slice_idx"]),
        "label": label,
        **geometry,
        "biometric_profile": ellipse_columns([_ellipse(clusters[0], where)]),
    }
    if total is not None:
        doc["n_total_clusters"] = int(total)
    yield {**doc, "label_name": _label_name(header, label), **_names(header), **_tail(task, case)}, None


def measurement_names(header: Mapping[str, Any], profile: Mapping[str, Any]) -> tuple[str, list[str], list[str]]:
    """An A/D measurement's name, its landmarks' names and their keys, from the task's maps.

    A distance names its two points; an angle its two lines' points, line 1 then line 2
    (``[l1p1, l1p2, l2p1, l2p2]``), as the upstream prompt lists them.

    Raises:
        PlanContentError: a key the maps do not hold.
    """
    try:
        entry = header[profile["metric_map_name"]][profile["metric_key"]]
        if profile["metric_type"] == "angle":
            lines = header[entry["element_map_name"]]
            points = [
                (lines[key]["element_map_name"], point)
                for key in entry["element_keys"]
                for point in lines[key]["element_keys"]
            ]
        else:
            points = [(entry["element_map_name"], point) for point in entry["element_keys"]]
        names = [str(header[map_name][point]) for map_name, point in points]
    except (KeyError, TypeError) as error:
        raise PlanContentError(f"measurement {profile.get('metric_key')!r}: the task's maps lack {error}") from None
    return str(entry.get("name") or ""), names, [point for _, point in points]


def _angle_distance(
    task: UpstreamTask, header: Mapping, case: Mapping, entry: Mapping, geometry: dict
) -> Iterator[Yielded]:
    for profile in entry.get("slice_profile") or []:
        if task.metric_type is not None and profile.get("metric_type") != task.metric_type:
            yield None, SKIP_OTHER_METRIC
            continue
        name, landmark_names, _ = measurement_names(header, profile)
        kept = {
            "metric_type": profile["metric_type"],
            "metric_map_name": profile["metric_map_name"],
            "metric_key": profile["metric_key"],
            "metric_value": float16(profile["metric_value"]),
            "metric_unit": profile["metric_unit"],
            "slice_dim": int(profile.get("slice_dim", task.slice_dim)),
        }
        yield (
            {
                **_head(task, case),
                "landmark_file": case["landmark_file"],
                "slice_dim": task.slice_dim,
                "slice_idx": int(entry["slice_idx"]),
                **geometry,
                "biometric_profile": kept,
                "measurement_name": name,
                "landmark_names": landmark_names,
                # The report groups by label_name: an unnamed measurement (Ceph) is named by its key, as upstream summaries do.
                "label_name": name or profile["metric_key"],
                **_names(header),
                **_tail(task, case),
            },
            None,
        )


_FAMILY_DOCS = {DETECTION: _detection, TUMOR_LESION: _tumor_lesion, ANGLE_DISTANCE: _angle_distance}


def case_docs(task: UpstreamTask, header: Mapping[str, Any], case: Mapping[str, Any]) -> Iterator[Yielded]:
    """What the public builder makes of one test case for one config, in its order.

    Yields:
        ``(doc, None)`` for each doc it yields, ``(None, reason)`` for each entry its filters drop.

    Raises:
        PlanContentError: a case or task lacking a field the docs need (names the case).
    """
    entries = case.get(PROFILE_KEYS[task.slice_dim]) or []
    if not entries:
        return
    geometry = _geometry(case, task.slice_dim)
    build = _FAMILY_DOCS[task.family]
    try:
        for entry in entries:
            yield from build(task, header, case, entry, geometry)
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, PlanContentError):
            raise
        raise PlanContentError(
            f"case {case.get('case_ID')!r}: malformed slice entry ({type(error).__name__}: {error})"
        ) from None
