"""Which slices of one label a mask family keeps, and the fields every doc of a case shares.

Detection and T/L docs come from the same scan (:func:`scan_label_plane`): the slices across one
plane that hold the label, on the ``slice_step`` grid, whose label pixels form exactly one
4-connected component; each family then applies its own filter to that component, and at most
``max_slices_per_label_plane`` passing slices are kept, evenly spaced.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from medvision_tasks.builder.results import SKIP_MAX, SKIP_SPLIT, SKIP_STEP, Skip
from medvision_tasks.builder.spec import CaseSpec
from medvision_tasks.builder.volume_step import PreparedVolume
from medvision_tasks.families import get_family
from medvision_tasks.ground_truth import BoxRC, single_component_box
from medvision_tasks.planes import PLANE_OF_SLICE_DIM, extract_slice

T = TypeVar("T")
SliceFilter = Callable[[np.ndarray, BoxRC], "T | str"]
"""A family's test of one slice: ``(label pixels (H, W) bool, inclusive box) -> result``, or a skip reason."""


def evenly_spaced(items: list, count: int | None) -> list:
    """At most ``count`` items, evenly spaced (the centre item of each of ``count`` equal bins)."""
    if count is None or len(items) <= count:
        return list(items)
    n = len(items)
    return [items[int((k + 0.5) * n / count)] for k in range(count)]


def scan_label_plane(
    case: CaseSpec, family: str, item: str, binary: np.ndarray, slice_dim: int, accept: SliceFilter
) -> tuple[list[tuple[int, T]], Counter[Skip]]:
    """The slices across ``slice_dim`` whose label passes the family's filter.

    Args:
        case: the case (``slice_step``, ``max_slices_per_label_plane``).
        family: the family asking, for the skip counts.
        item: the label's name, for the skip counts.
        binary: the label's voxels on the case's grid, bool (X, Y, Z).
        slice_dim: 0, 1 or 2.
        accept: the family's filter, given a slice whose label is one 4-connected component.

    Returns:
        ``[(slice index, filter result), ...]`` in slice order, and the skips by reason.
    """
    skips: Counter[Skip] = Counter()
    plane = PLANE_OF_SLICE_DIM[slice_dim]

    def skip(reason: str, count: int = 1) -> None:
        if count:
            skips[Skip(family, item, plane, reason)] += count

    other = tuple(axis for axis in range(3) if axis != slice_dim)
    present = np.nonzero(binary.any(axis=other))[0].tolist()
    candidates = [i for i in present if i % case.slice_step == 0]
    skip(SKIP_STEP, len(present) - len(candidates))
    passing: list[tuple[int, T]] = []
    for index in candidates:
        pixels = extract_slice(binary, slice_dim, index)
        box = single_component_box(pixels)
        if box is None:
            skip(SKIP_SPLIT)
            continue
        outcome = accept(pixels, box)
        if isinstance(outcome, str):
            skip(outcome)
            continue
        passing.append((index, outcome))
    kept = evenly_spaced(passing, case.max_slices_per_label_plane)
    skip(SKIP_MAX, len(passing) - len(kept))
    return kept, skips


def slice_fields(volume: PreparedVolume, family: str, task_id: str, slice_dim: int, slice_idx: int) -> dict:
    """The public fields locating a doc's slice (``dataset_name`` ... ``voxel_size``)."""
    size_hw, pixel_hw = volume.slice_geometry(slice_dim)
    return {
        "dataset_name": volume.case.dataset_name,
        "taskID": task_id,
        "taskType": get_family(family).task_type,
        "image_file": volume.image_file,
        "slice_dim": int(slice_dim),
        "slice_idx": int(slice_idx),
        "image_size_2d": size_hw,
        "pixel_size": pixel_hw,
        "image_size_3d": list(volume.shape),
        "voxel_size": list(volume.zooms),
    }


def named_fields(case: CaseSpec, slice_dim: int, label_name: str) -> dict:
    """The names the prompts need (``label_name``, ``image_description``, ``modality``) and ``subject_id``.

    ``{plane}`` and ``{modality}`` in the case's image description are filled in.
    """
    description = case.image_description.replace("{plane}", PLANE_OF_SLICE_DIM[slice_dim]).replace(
        "{modality}", case.modality
    )
    return {
        "label_name": label_name,
        "image_description": description,
        "modality": case.modality,
        "subject_id": case.subject_id,
    }
