"""A case's result: JSON for the cache and back, skips in first-seen order, one shape for a failure."""

from medvision_tasks.builder.results import CaseResult, Skip, skip_rows
from medvision_tasks.builder.spec import CaseSpec

CASE = CaseSpec(dataset_name="D", case_id="c1", subject_id="s1", image="/in/i.nii.gz")


def test_round_trip_through_json():
    result = CaseResult(
        case="D/c1",
        dataset_name="D",
        subject_id="s1",
        docs={"detection": ({"slice_idx": 3},), "tl": (), "ad": ()},
        skips={Skip("detection", "liver", "axial", "box side under 10 px"): 2},
        errors=("case D/c1: label 2 ('x') does not occur in mask /m",),
        fatal=False,
        files=("volumes/D_c1_image.nii.gz",),
    )
    data = result.to_json()
    assert data["skips"] == [
        {"family": "detection", "item": "liver", "plane": "axial", "reason": "box side under 10 px", "count": 2}
    ]
    assert CaseResult.from_json(data) == result


def test_a_failed_case_keeps_earlier_messages_and_has_nothing_else():
    failed = CaseResult.failed(CASE, ("case D/c1: first",), "file not found")
    assert failed.fatal and failed.files == () and failed.skips == {}
    assert failed.docs == {"detection": (), "tl": (), "ad": ()}
    assert failed.errors == ("case D/c1: first", "case D/c1: file not found")


def test_skip_rows_keep_first_seen_order():
    skips = {Skip("tl", "b", "coronal", "r2"): 1, Skip("detection", "a", "axial", "r1"): 3}
    assert [(row["item"], row["count"]) for row in skip_rows(skips)] == [("b", 1), ("a", 3)]
