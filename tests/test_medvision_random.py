"""The chance-level ``medvision_random`` model and the draws it shares with the report."""

from __future__ import annotations

import importlib
from collections import Counter
from types import SimpleNamespace

import pytest

from medvision_tasks.chance import (
    doc_random_boxes,
    doc_rng,
    random_answer,
    random_box,
    random_boxes,
    random_measurement,
    random_tumor_axes,
)
from medvision_tasks.families import get_family
from medvision_tasks.parsing import parse_answer

medvision_random = pytest.importorskip("medvision_tasks.models.medvision_random")
MedVisionRandom = medvision_random.MedVisionRandom


def detection_doc(key="D/v.nii.gz#2:5/1", size=(40, 30)):
    return {"doc_key": key, "family": "detection", "image_size_2d": list(size)}


def tl_doc(key="T/v.nii.gz#2:5/1"):
    return {"doc_key": key, "family": "tl", "biometric_profile": {"metric_type": "distance"}}


def ad_doc(key, metric_type):
    return {"doc_key": key, "family": "ad", "biometric_profile": {"metric_type": metric_type}}


def test_one_pixel_image_has_exactly_one_box():
    assert random_box(doc_rng(0, "k"), (1, 1)) == [0.0, 0.0, 1.0, 1.0]


def test_boxes_have_whole_pixel_edges_inside_the_image_and_positive_area():
    height, width = 40, 30
    for i in range(300):
        x0, y0, x1, y1 = random_box(doc_rng(0, f"doc{i}"), (height, width))
        assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0
        for value, n in ((x0, width), (x1, width), (y0, height), (y1, height)):
            assert value * n == pytest.approx(round(value * n), abs=1e-9)


def test_box_law_is_the_benchmarks_width_then_position():
    # W = 2, H = 1: width 1 (prob 1/2) at x0 0 or 1 (1/4 each), or width 2 (1/2) at x0 0.
    # So [0, .5], [.5, 1] have probability 1/4 each and [0, 1] 1/2; the height is always 1.
    boxes = [random_box(doc_rng(1, f"d{i}"), (1, 2)) for i in range(4000)]
    counts = Counter((x0, x1) for x0, _, x1, _ in boxes)
    assert set(counts) == {(0.0, 0.5), (0.5, 1.0), (0.0, 1.0)}
    assert abs(counts[(0.0, 0.5)] / 4000 - 0.25) < 0.03
    assert abs(counts[(0.5, 1.0)] / 4000 - 0.25) < 0.03
    assert abs(counts[(0.0, 1.0)] / 4000 - 0.5) < 0.03
    assert {(y0, y1) for _, y0, _, y1 in boxes} == {(0.0, 1.0)}


def test_mean_side_is_about_half_the_image():
    # E[w] = (W + 1) / 2 for w uniform on 1..W: 15.5 of 30 columns, 20.5 of 40 rows.
    boxes = random_boxes(doc_rng(0, "k"), (40, 30), 200_000)
    assert ((boxes[:, 2] - boxes[:, 0]) * 30).mean() == pytest.approx(15.5, abs=0.05)
    assert ((boxes[:, 3] - boxes[:, 1]) * 40).mean() == pytest.approx(20.5, abs=0.07)


def test_the_reports_draws_start_with_the_models_answer():
    size = (37, 53)
    boxes = doc_random_boxes(4, "D/x#2:1/1", size, 100)
    assert boxes.shape == (100, 4)
    assert list(boxes[0]) == random_answer(4, "D/x#2:1/1", "detection", image_size_hw=size)
    assert len({tuple(b) for b in boxes}) > 50  # the other 99 are fresh draws
    with pytest.raises(ValueError, match="count"):
        doc_random_boxes(4, "k", size, 0)


def test_sizes_distances_and_angles_stay_in_their_documented_ranges():
    for i in range(500):
        major, minor = random_tumor_axes(doc_rng(0, f"t{i}"))
        assert 5.0 <= major <= 80.0 and 0.3 * major <= minor <= major
        assert 5.0 <= random_measurement(doc_rng(0, f"d{i}"), "distance") <= 100.0
        assert 0.0 <= random_measurement(doc_rng(0, f"a{i}"), "angle") <= 90.0
    with pytest.raises(ValueError, match="metric_type"):
        random_measurement(doc_rng(0, "x"), "volume")


def test_a_doc_draw_depends_only_on_seed_and_doc_key():
    assert random_answer(3, "k", "tl") == random_answer(3, "k", "tl")
    assert random_answer(3, "k", "tl") != random_answer(4, "k", "tl")
    assert random_answer(3, "k", "tl") != random_answer(3, "k2", "tl")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": -1, "doc_key": "k", "family": "tl"}, "seed"),
        ({"seed": 0, "doc_key": "", "family": "tl"}, "doc_key"),
        ({"seed": 0, "doc_key": "k", "family": "vqa"}, "unknown family"),
        ({"seed": 0, "doc_key": "k", "family": "detection"}, "image size"),
    ],
)
def test_bad_draw_requests(kwargs, message):
    with pytest.raises(ValueError, match=message):
        random_answer(**kwargs)


@pytest.mark.parametrize("cot", [False, True])
@pytest.mark.parametrize(
    "doc",
    [detection_doc(), tl_doc(), ad_doc("A/x#2:1/d", "distance"), ad_doc("A/x#2:1/a", "angle")],
    ids=["detection", "tl", "distance", "angle"],
)
def test_answers_parse_for_plain_and_cot_prompts(doc, cot):
    text = medvision_random.answer_for_doc(doc, seed=0)
    assert text.startswith("<answer>") and text.endswith("</answer>")
    family = get_family(doc["family"])
    answer = family.answer
    values = parse_answer(text, answer.count, require_answer_tag=cot, allow_negative=False)
    assert values is not None and len(values) == answer.count
    metric_type = (doc.get("biometric_profile") or {}).get("metric_type")
    expected = random_answer(
        0, doc["doc_key"], doc["family"], image_size_hw=doc.get("image_size_2d"), metric_type=metric_type
    )
    assert values == pytest.approx(expected, abs=1e-2 if doc["family"] != "detection" else 1e-6)


def _requests(docs):
    def never_called(doc):
        raise AssertionError("medvision_random must not load the image")

    return [
        SimpleNamespace(args=("prompt", {}, never_called, doc_id, "medvision_x", "train"))
        for doc_id in range(len(docs))
    ]


def _model(docs, seed=0):
    model = MedVisionRandom(seed=seed)
    model.task_dict = {"medvision_x": {"train": docs}}
    return model


def test_model_answers_every_request_without_the_image_and_independent_of_order():
    docs = [detection_doc("a"), tl_doc("b"), ad_doc("c", "angle"), detection_doc("d", (512, 512))]
    requests = _requests(docs)
    forward = _model(docs).generate_until(requests)
    backward = _model(docs).generate_until(list(reversed(requests)))
    assert forward == list(reversed(backward))
    assert forward[0] == medvision_random.answer_for_doc(docs[0], seed=0)
    assert _model(docs, seed=1).generate_until(requests) != forward
    assert _model(docs).generate_until_multi_round(requests) == forward


def test_model_errors_name_the_request():
    model = _model([{"family": "tl"}])
    with pytest.raises(ValueError, match=r"task 'medvision_x' split 'train' doc 0 has no field 'doc_key'"):
        model.generate_until(_requests([{}]))
    with pytest.raises(ValueError, match="doc 1 not found"):
        model.generate_until([SimpleNamespace(args=("p", {}, None, 1, "medvision_x", "train"))])
    with pytest.raises(NotImplementedError):
        model.loglikelihood([])
    with pytest.raises(ValueError, match="seed"):
        MedVisionRandom(seed="-2")


def test_model_is_registered_with_lmms_eval_as_medvision_random():
    from medvision_tasks.models import manifests

    manifest = next(m for m in manifests() if m.model_id == "medvision_random")
    module, _, name = manifest.simple_class_path.rpartition(".")
    assert getattr(importlib.import_module(module), name) is MedVisionRandom
    # lmms-eval builds simple models from "--model_args seed=3" plus its own extra config.
    model = MedVisionRandom.create_from_arg_string("seed=3", {"batch_size": 1, "device": "cpu"})
    assert model.seed == 3


def test_coordinate_questions_get_random_points_the_coordinate_parser_reads():
    from medvision_tasks.steps import read_coordinates

    docs = [tl_doc("b"), ad_doc("c", "angle"), ad_doc("e", "distance")]
    model = MedVisionRandom(seed=0)
    model.task_dict = {"medvision_tl_coords": {"train": docs}}
    answers = model.generate_until(
        [SimpleNamespace(args=("p", {}, None, i, "medvision_tl_coords", "train")) for i in range(len(docs))]
    )
    points = [read_coordinates(answer, metric) for answer, metric in zip(answers, ("size", "angle", "distance"))]
    assert [len(p) for p in points] == [4, 4, 2]  # T/L and angle: 4 points; distance: 2
    assert all(0.0 <= v <= 1.0 for p in points for point in p for v in point)
    # The same draw as the chance module's, and not the measurement answer of the full task.
    assert answers[0] != medvision_random.answer_for_doc(docs[0], seed=0)
    assert answers[0] == medvision_random.answer_for_doc(docs[0], seed=0, coordinates=True)
