"""The family table: every per-family fact, read by the hooks, the builder, the report and the YAMLs."""

import pytest

from medvision_tasks.families import (
    ALL_METRICS,
    FAMILIES,
    FAMILY_NAMES,
    MASK_FAMILIES,
    METRIC_UNITS,
    family_of_task_type,
    get_family,
)


def test_three_families_in_task_order():
    assert FAMILY_NAMES == ("detection", "tl", "ad")
    assert MASK_FAMILIES == ("detection", "tl")


@pytest.mark.parametrize(
    "name, stem, answers, per_plane, title",
    [
        ("detection", "detect", 4, True, "Detection"),
        ("tl", "tl", 2, True, "Tumor/lesion size"),
        ("ad", "ad", 1, False, "Angle/distance"),
    ],
)
def test_each_family_as_the_benchmark_defines_it(name, stem, answers, per_plane, title):
    family = get_family(name)
    assert (family.task_stem, family.answer.count) == (stem, answers)
    assert (family.asks.per_plane_tasks, family.title) == (per_plane, title)


def test_metrics_per_family_and_their_union():
    assert get_family("detection").metrics == ("recall", "precision", "f1", "iou", "sr", "iou>0.5")
    assert get_family("tl").metrics == get_family("ad").metrics == ("mae", "mre", "sr", "mre<0.1")
    assert ALL_METRICS == ("recall", "precision", "f1", "iou", "sr", "iou>0.5", "mae", "mre", "mre<0.1")


@pytest.mark.parametrize(
    "task_type, name",
    [
        ("BoxCoordinate", "detection"),
        ("Box-Size", "detection"),
        ("BoxSize", "detection"),
        ("TumorLesionSize", "tl"),
        ("Tumor-Lesion-Size", "tl"),
        ("BiometricsFromLandmarks", "ad"),
        ("Biometrics-From-Landmarks", "ad"),
        ("Biometrics-From-Landmarks-Distance", "ad"),
        ("Biometrics-From-Landmarks-Angle", "ad"),
    ],
)
def test_public_and_builder_task_types_map_to_their_family(task_type, name):
    assert family_of_task_type(task_type).name == name


@pytest.mark.parametrize("task_type", ["box-size", "Segmentation", "", None])
def test_other_task_types_belong_to_no_family(task_type):
    assert family_of_task_type(task_type) is None


def test_the_builder_writes_the_first_task_type_and_tasks_exist_per_plane():
    assert [family.task_type for family in FAMILIES.values()] == [
        "BoxCoordinate",
        "TumorLesionSize",
        "BiometricsFromLandmarks",
    ]
    assert get_family("tl").task_planes == ("axial", "coronal", "sagittal")
    assert get_family("ad").task_planes == (None,)


def test_metric_types_and_their_units():
    assert get_family("detection").metric_type_of(None) == "box"
    assert get_family("tl").metric_type_of({"metric_type": "distance"}) == "size"  # fixed by the family
    assert get_family("ad").metric_type_of({"metric_type": "angle"}) == "angle"
    assert dict(METRIC_UNITS) == {"box": None, "size": "mm", "distance": "mm", "angle": "degree"}


def test_an_unknown_family_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown family 'seg'; expected one of \('detection', 'tl', 'ad'\)"):
        get_family("seg")
