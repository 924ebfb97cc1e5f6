"""Detection docs of one label: one box per slice where the label is one component of at least 10 x 10 pixels.

The rule (the public benchmark's): the label's pixels in the slice form exactly one 4-connected
component, and its inclusive box spans at least ``min_box_side_px`` pixels along both sides
(``r1 - r0 + 1 >= 10`` and ``c1 - c0 + 1 >= 10``).
"""

from __future__ import annotations

import numpy as np

from medvision_tasks.builder.label_slices import named_fields, scan_label_plane, slice_fields
from medvision_tasks.builder.results import SKIP_SMALL_BOX, FamilyDocs
from medvision_tasks.builder.spec import LabelSpec
from medvision_tasks.builder.volume_step import PreparedMask, PreparedVolume
from medvision_tasks.families import DETECTION
from medvision_tasks.ground_truth import BoxRC


def box_entry(box: BoxRC, pixel_hw: list[float]) -> dict:
    """A public ``bounding_boxes`` entry of an inclusive pixel box ``(r0, c0, r1, c1)``.

    ``dimensions`` are rows and columns covered (pixels), ``sizes`` the same in mm.
    """
    r0, c0, r1, c1 = (int(v) for v in box)
    height, width = r1 - r0 + 1, c1 - c0 + 1
    return {
        "min_coords": [r0, c0],
        "max_coords": [r1, c1],
        "center_coords": [(r0 + r1) / 2.0, (c0 + c1) / 2.0],
        "dimensions": [height, width],
        "sizes": [height * pixel_hw[0], width * pixel_hw[1]],
    }


def detection_docs(volume: PreparedVolume, mask: PreparedMask, label: LabelSpec, binary: np.ndarray) -> FamilyDocs:
    """The detection docs of one label on every plane of the case.

    Args:
        volume: the case's prepared image (grid, voxel sizes, written file).
        mask: the label's mask on that grid.
        label: the label.
        binary: ``mask.labels == label.value``.

    Returns:
        The docs (plane by plane, slices ascending) and the skipped slices by reason.
    """
    case = volume.case
    min_side = case.min_box_side_px
    too_small = SKIP_SMALL_BOX.format(min_side=min_side)

    def accept(_pixels: np.ndarray, box: BoxRC) -> BoxRC | str:
        r0, c0, r1, c1 = box
        return box if min(r1 - r0 + 1, c1 - c0 + 1) >= min_side else too_small

    docs, skips = [], {}
    for dim in case.planes:
        kept, plane_skips = scan_label_plane(case, DETECTION, label.name, binary, dim, accept)
        skips.update(plane_skips)
        _, pixel_hw = volume.slice_geometry(dim)
        for index, box in kept:
            doc = slice_fields(volume, DETECTION, mask.spec.task_id, dim, index)
            doc["mask_file"] = mask.mask_file
            doc["label"] = int(label.value)
            doc["bounding_boxes"] = [box_entry(box, pixel_hw)]
            doc.update(named_fields(case, dim, label.name))
            docs.append(doc)
    return FamilyDocs(docs=tuple(docs), skips=skips)
