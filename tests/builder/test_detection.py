"""Detection docs built directly from a hand-made label volume: boxes and skips counted by hand."""

from __future__ import annotations

import numpy as np

from medvision_tasks.builder.detection import box_entry, detection_docs
from medvision_tasks.builder.spec import LabelSpec, MaskSpec
from tests.helpers.volumes import prepared_mask, prepared_volume

LABEL = LabelSpec(value=3, name="liver", families=("detection",))


def _labels() -> np.ndarray:
    """A 20 x 16 x 6 label volume; every slice's content is listed for the axial plane (k)."""
    labels = np.zeros((20, 16, 6), dtype=np.uint8)
    labels[3:15, 2:14, 1:4] = 3  # k = 1, 2, 3: rows 3..14, columns 2..13 (12 x 12 px)
    labels[3:15, 2:14, 4] = 3  # k = 4: the same block ...
    labels[18, 15, 4] = 3  # ... and an island apart from it: two components
    labels[3:6, 2:14, 0] = 3  # k = 0: 3 x 12 px, a side under 10
    return labels


def test_one_box_per_axial_slice_where_the_label_is_one_large_component():
    volume = prepared_volume(
        (20, 16, 6), (0.5, 0.8, 2.0), planes=(2,), masks=(MaskSpec("/in/m.nii.gz", (LABEL,), "01"),), modality="CT"
    )
    labels = _labels()
    made = detection_docs(volume, prepared_mask(volume, labels), LABEL, labels == 3)
    assert [doc["slice_idx"] for doc in made.docs] == [1, 2, 3]
    doc = made.docs[0]
    assert doc["bounding_boxes"] == [
        {
            "min_coords": [3, 2],
            "max_coords": [14, 13],
            "center_coords": [8.5, 7.5],
            "dimensions": [12, 12],
            "sizes": [12 * 0.5, 12 * 0.8],  # rows x (0.5 mm), columns y (0.8 mm)
        }
    ]
    assert {k: doc[k] for k in ("dataset_name", "taskID", "taskType", "slice_dim", "label", "label_name")} == {
        "dataset_name": "D",
        "taskID": "01",
        "taskType": "BoxCoordinate",
        "slice_dim": 2,
        "label": 3,
        "label_name": "liver",
    }
    assert (doc["image_size_2d"], doc["pixel_size"], doc["image_size_3d"]) == ([20, 16], [0.5, 0.8], [20, 16, 6])
    assert (doc["image_file"], doc["mask_file"]) == ("volumes/D_c_image.nii.gz", "volumes/D_c_mask.nii.gz")
    assert dict(made.skips) == {
        ("detection", "liver", "axial", "box side under 10 px"): 1,  # k = 0
        ("detection", "liver", "axial", "label is not one 4-connected component in the slice"): 1,  # k = 4
    }
    assert made.errors == () and dict(made.landmarks) == {}


def test_a_larger_minimum_side_and_the_sagittal_plane():
    volume = prepared_volume(
        (20, 16, 6),
        (0.5, 0.8, 2.0),
        planes=(0,),
        masks=(MaskSpec("/in/m.nii.gz", (LABEL,), "01"),),
        min_box_side_px=4,
    )
    labels = np.zeros((20, 16, 6), dtype=np.uint8)
    labels[5, 2:14, 1:5] = 3  # sagittal slice i = 5: rows y 2..13 (12 px), columns z 1..4 (4 px)
    labels[6, 2:14, 1:4] = 3  # i = 6: 3 columns: under 4
    made = detection_docs(volume, prepared_mask(volume, labels), LABEL, labels == 3)
    (doc,) = made.docs
    assert (doc["slice_idx"], doc["image_size_2d"], doc["pixel_size"]) == (5, [16, 6], [0.8, 2.0])
    assert doc["bounding_boxes"][0]["dimensions"] == [12, 4]
    assert dict(made.skips) == {("detection", "liver", "sagittal", "box side under 4 px"): 1}


def test_box_entry_of_a_one_pixel_box():
    assert box_entry((7, 9, 7, 9), [0.5, 2.0]) == {
        "min_coords": [7, 9],
        "max_coords": [7, 9],
        "center_coords": [7.0, 9.0],
        "dimensions": [1, 1],
        "sizes": [0.5, 2.0],
    }
