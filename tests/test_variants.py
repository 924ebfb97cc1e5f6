"""The variant table: task names, which families and planes each variant has, reading a variant back from a name."""

import pytest

from medvision_tasks.families import get_family
from medvision_tasks.variants import (
    COORDINATES,
    COT,
    COT_NO_VISUAL,
    NO_VISUAL,
    PLAIN,
    VARIANT_NAMES,
    get_variant,
    task_name,
    tasks,
    variant_of_task,
)


@pytest.mark.parametrize(
    ("name", "variant", "plane", "task"),
    [
        ("detection", PLAIN, "axial", "medvision_detect"),
        ("detection", COT, "coronal", "medvision_detect_cot_coronal"),
        ("tl", PLAIN, "sagittal", "medvision_tl_sagittal"),
        ("ad", COT, None, "medvision_ad_cot"),
        ("tl", COORDINATES, "coronal", "medvision_tl_coords_coronal"),
        ("ad", COORDINATES, None, "medvision_ad_coords"),
        ("detection", NO_VISUAL, "axial", "medvision_detect_no_visual"),
        ("tl", COT_NO_VISUAL, "axial", "medvision_tl_cot_no_visual"),
    ],
)
def test_task_names_and_their_variants(name, variant, plane, task):
    assert task_name(get_family(name), variant, plane) == task
    assert variant_of_task(task) is variant


def test_cot_is_a_part_of_the_name_not_a_substring():
    assert variant_of_task("medvision_cotton") is PLAIN
    assert variant_of_task("my_cot_task") is COT
    assert variant_of_task("medvision_tl_cot_no_visual").cot and not variant_of_task("medvision_tl_no_visual").cot


def test_every_task_of_the_table():
    names = [task_name(family, variant, plane) for family, variant, plane in tasks()]
    assert len(names) == len(set(names)) == 24
    # The full tasks as before: 6 per-plane tasks for detection and T/L, 2 for A/D.
    full = [n for (f, v, p), n in zip(tasks(), names) if v.is_full_task]
    assert len(full) == 14
    # Coordinates only: T/L on its three planes and A/D; no detection (its answer is points already).
    assert sorted(n for (f, v, p), n in zip(tasks(), names) if v is COORDINATES) == [
        "medvision_ad_coords",
        "medvision_tl_coords",
        "medvision_tl_coords_coronal",
        "medvision_tl_coords_sagittal",
    ]
    # No image: the in-distribution plane's tasks only, plain and CoT, every family.
    assert sorted(n for (f, v, p), n in zip(tasks(), names) if not v.shows_image) == [
        "medvision_ad_cot_no_visual",
        "medvision_ad_no_visual",
        "medvision_detect_cot_no_visual",
        "medvision_detect_no_visual",
        "medvision_tl_cot_no_visual",
        "medvision_tl_no_visual",
    ]


def test_an_unknown_variant_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown task variant 'blind'; expected one of"):
        get_variant("blind")
    assert VARIANT_NAMES == ("plain", "cot", "coords", "no_visual", "cot_no_visual")
