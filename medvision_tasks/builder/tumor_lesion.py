"""Tumor/lesion size docs of one label: the major and minor axis of an ellipse fitted in mm.

The rule (the public benchmark's, read as :mod:`medvision_tasks.ground_truth` states it): the
label's pixels in the slice form exactly one 4-connected component of at least
``min_lesion_pixels`` pixels; an ellipse is fitted to its outline in mm; all four axis endpoints
lie in the band between the component's 0.9x and 1.1x box. The endpoints of each doc go to the
case's ellipse file (:func:`ellipses_file_content`), keyed ``<taskID>/<label>/<slice_dim>:<slice_idx>``,
and to the doc's ``landmark_points`` (``[row, col]`` pixels: P1, P2 the major axis, P3, P4 the minor).
"""

from __future__ import annotations

import numpy as np

from medvision_tasks.builder import layout
from medvision_tasks.builder.label_slices import named_fields, scan_label_plane, slice_fields
from medvision_tasks.builder.results import SKIP_BAND, SKIP_NO_FIT, SKIP_SMALL_LESION, FamilyDocs
from medvision_tasks.builder.spec import LabelSpec
from medvision_tasks.builder.volume_step import PreparedMask, PreparedVolume
from medvision_tasks.families import METRIC_UNITS, TUMOR_LESION
from medvision_tasks.ground_truth import BoxRC, EllipseAxes, endpoints_in_box_band, fit_lesion_ellipse

MAJOR_AXIS_KEY = "L-1-2"
MINOR_AXIS_KEY = "L-3-4"


def tumor_lesion_docs(volume: PreparedVolume, mask: PreparedMask, label: LabelSpec, binary: np.ndarray) -> FamilyDocs:
    """The T/L docs of one label on every plane of the case; arguments as :func:`.detection.detection_docs` takes them.

    Returns:
        The docs (plane by plane, slices ascending), the skipped slices by reason, and each doc's
        axis endpoints (``L1``..``L4``, (row, col) pixels) for the ellipse file.
    """
    case = volume.case
    min_pixels = case.min_lesion_pixels
    too_small = SKIP_SMALL_LESION.format(min_pixels=min_pixels)
    docs, skips, endpoints = [], {}, {}
    for dim in case.planes:
        _, pixel_hw = volume.slice_geometry(dim)

        def accept(pixels: np.ndarray, box: BoxRC, pixel_hw: list[float] = pixel_hw) -> EllipseAxes | str:
            if int(pixels.sum()) < min_pixels:
                return too_small
            fit = fit_lesion_ellipse(pixels, pixel_hw, min_pixels=min_pixels, box_band=None)
            if fit is None:
                return SKIP_NO_FIT
            if not endpoints_in_box_band((*fit.major_endpoints, *fit.minor_endpoints), box):
                return SKIP_BAND
            return fit

        kept, plane_skips = scan_label_plane(case, TUMOR_LESION, label.name, binary, dim, accept)
        skips.update(plane_skips)
        for index, fit in kept:
            doc = slice_fields(volume, TUMOR_LESION, mask.spec.task_id, dim, index)
            doc["mask_file"] = mask.mask_file
            doc["label"] = int(label.value)
            doc["landmark_file"] = layout.ellipses_file(case)
            doc["biometric_profile"] = {
                "metric_type": "distance",
                "metric_key_major_axis": MAJOR_AXIS_KEY,
                "metric_value_major_axis": float(fit.major_mm),
                "metric_key_minor_axis": MINOR_AXIS_KEY,
                "metric_value_minor_axis": float(fit.minor_mm),
                "metric_unit": METRIC_UNITS["size"],
            }
            (p1, p2), (p3, p4) = fit.major_endpoints, fit.minor_endpoints
            # The ground-truth points, as the public builder stores them: (row, col) pixels, major then minor.
            doc["landmark_points"] = [[float(v) for v in p] for p in (p1, p2, p3, p4)]
            endpoints[f"{mask.spec.task_id}/{label.value}/{dim}:{index}"] = {
                "L1": list(p1),
                "L2": list(p2),
                "L3": list(p3),
                "L4": list(p4),
            }
            doc.update(named_fields(case, dim, label.name))
            docs.append(doc)
    return FamilyDocs(docs=tuple(docs), skips=skips, landmarks=endpoints)


def ellipses_file_content(image_file: str, endpoints: dict[str, dict]) -> dict:
    """The case's T/L ellipse file: every doc's axis endpoints on its slice."""
    return {
        "description": "T/L ellipse axis endpoints per doc, (row, col) pixels of the slice; "
        "L-1-2 = major axis (landmarks 1, 2), L-3-4 = minor axis (landmarks 3, 4)",
        "image_file": image_file,
        "ellipses": endpoints,
    }
