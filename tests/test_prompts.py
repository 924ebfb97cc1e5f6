"""Prompts: CoT texts as in the MedVision-V0-7B model card, plain texts as the benchmark wrote them (docs/fidelity.md)."""

from __future__ import annotations

import pathlib
import re

import pytest

from medvision_tasks.prompts import (
    SYSTEM_PROMPT,
    SeenImage,
    biometrics_prompt,
    detection_prompt,
    tumor_lesion_prompt,
    unit_word,
)

# The shared copy of the model card, where this checkout has one (not shipped with the package).
# It lies in the shared/ folder beside the repository (CI clones the repository next to it).
MODEL_CARD = pathlib.Path(__file__).resolve().parents[2] / "shared" / "seeds" / "model_card_MedVision-V0-7B.txt"

HEADERS = ("Task:", "Additional information:", "Format requirement:", "Reasoning steps:")


def _headers(prompt: str) -> list[str]:
    """The block headers of a prompt, in order."""
    return [line for line in prompt.split("\n") if line in HEADERS]


def test_system_prompt_is_the_model_cards():
    expected = (
        "A conversation between a User and an Assistant. The User asks a question, and the "
        "Assistant solves it. The Assistant first thinks through the reasoning process "
        "internally, then provides the User with the answer. The reasoning process and the final "
        "answer must be enclosed within <think> </think> and <answer> </answer> tags, "
        "respectively. For example: <think> reasoning process here </think> <answer> answer here "
        "</answer>. Within the <think> </think> tags, report the reasoning process for each step "
        "inside <step-k-reasoning> </step-k-reasoning> tags, followed by the intermediate results "
        "in <step-k-answer> </step-k-answer> tags. For example: <think> <step-1-reasoning> "
        "reasoning for step 1 </step-1-reasoning> <step-1-answer> intermediate result from step "
        "1 </step-1-answer> </think>."
    )
    assert SYSTEM_PROMPT == expected


@pytest.mark.parametrize(
    ("unit", "word"),
    [
        ("mm", "millimeters"),
        ("degree", "degrees"),
        (" mm ", "millimeters"),
        ("millimeters", "millimeters"),
        ("degrees", "degrees"),
    ],
)
def test_unit_word(unit, word):
    assert unit_word(unit) == word


@pytest.mark.parametrize("unit", ["cm", "deg", "", None, "mm^2"])
def test_unit_word_rejects_unknown_units(unit):
    with pytest.raises(ValueError, match="unknown unit"):
        unit_word(unit)


def test_cot_tumor_lesion_prompt_matches_model_card_example():
    # Model card 4.3, quick start: 504x504 image, 0.700 mm pixels, "tumor", no description.
    expected = (
        "Task:\n"
        "Given the input medical image, estimate the major and minor axis lengths of the "
        "ellipse enclosing the tumor, in millimeters.\n"
        "Additional information:\n"
        "The image size is 504 pixels (width) x 504 pixels (height).\n"
        "The pixel size for this image is 0.700 millimeters (width) x 0.700 millimeters "
        "(height).\n"
        "Format requirement:\n"
        "The final answer must be enclosed within <answer> </answer> tags. "
        "The answer should consist of two decimal numbers separated by a comma, without units "
        "or extra text. "
        "The first number is the major axis length, and the second is the minor axis length.\n"
        "Reasoning steps:\n"
        "Step 1: Identify the major axis (the longest diameter) of the ellipse enclosing the "
        "target region. "
        "Find its two endpoints and record their relative coordinates in the format (x, y) = "
        "(relative position in width direction, relative position in height direction). "
        "Denote the endpoints as (x1_major, y1_major) and (x2_major, y2_major). "
        "Step 2: Identify the minor axis (the shortest diameter) of the ellipse. "
        "Find its two endpoints and record their relative coordinates in the same (x, y) format. "
        "Denote them as (x1_minor, y1_minor) and (x2_minor, y2_minor). "
        "Step 3: Given the pixel dimensions (pixel_width, pixel_height) "
        "and image size (image_width, image_height), "
        "compute the physical length of the major axis using: "
        "major_axis_length = sqrt(((x2_major - x1_major) * image_width * pixel_width)^2 "
        "+ ((y2_major - y1_major) * image_height * pixel_height)^2). "
        "Step 4: Similarly, compute the physical length of the minor axis using: "
        "minor_axis_length = sqrt(((x2_minor - x1_minor) * image_width * pixel_width)^2 "
        "+ ((y2_minor - y1_minor) * image_height * pixel_height)^2). "
        "Report the reasoning process and final answer within <think> </think> and <answer> "
        "</answer> tags, respectively. "
        "Inside <think> </think>, include reasoning and step results using "
        "<step-k-reasoning> </step-k-reasoning> and <step-k-answer> </step-k-answer> tags.\n"
        "Follow the reasoning steps to get the final answer in the required format."
    )
    got = tumor_lesion_prompt("tumor", None, unit="mm", seen=SeenImage((504, 504), (0.7, 0.7)), cot=True)
    assert got == expected
    # An empty description reads the same as none.
    assert got == tumor_lesion_prompt("tumor", "", unit="mm", seen=SeenImage((504, 504), (0.7, 0.7)), cot=True)


def test_plain_tumor_lesion_prompt_block_order_and_text():
    got = tumor_lesion_prompt(
        "kidney tumor",
        "abdominal CT scan",
        unit="mm",
        seen=SeenImage((400, 504), (0.81234, 0.7)),  # (H, W) pixels, (ph, pw) mm
        cot=False,
    )
    expected = (
        "Task:\n"
        "Given the input medical image: abdominal CT scan, estimate the major and minor axis "
        "lengths of the ellipse enclosing the kidney tumor, in millimeters.\n"
        "Additional information:\n"
        "The image size is 504 pixels (width) x 400 pixels (height).\n"
        "The pixel size for this image is 0.700 millimeters (width) x 0.812 millimeters "
        "(height).\n"
        "Format requirement:\n"
        "The answer should be two decimal numbers separated by a comma without any units or "
        "additional text. The first is the major axis length, and the second is the minor axis "
        "length."
    )
    assert got == expected
    assert _headers(got) == ["Task:", "Additional information:", "Format requirement:"]


def test_plain_detection_prompt_has_no_sizes_and_no_steps():
    got = detection_prompt("liver", "abdominal CT scan", cot=False)
    expected = (
        "Task:\n"
        "Given the input medical image: abdominal CT scan, return the coordinates of the "
        "lower-left and upper-right corner of the bounding box for the liver.\n"
        "Format requirement:\n"
        "The answer should be four decimal numbers separated by commas without any units or "
        "additional text. The first two numbers are the coordinates of the lower-left corner "
        "and the last two numbers are the coordinates of the upper-right corner of the bounding "
        "box. Use relative coordinates in the image space, where the origin is at the lower-left "
        "corner of the image. Relative coordinates should be values between 0 and 1, "
        "representing the relative positions in the image."
    )
    assert got == expected
    assert _headers(got) == ["Task:", "Format requirement:"]
    assert "<answer>" not in got


def test_cot_detection_prompt_block_order():
    got = detection_prompt("liver", None, cot=True)
    assert _headers(got) == ["Task:", "Format requirement:", "Reasoning steps:"]
    assert got.startswith(
        "Task:\nGiven the input medical image, return the coordinates of the lower-left and "
        "upper-right corners of the bounding box for the liver.\nFormat requirement:\n"
        "The reasoning process and the final answer must be enclosed within <think> </think> "
        "and <answer> </answer> tags, respectively."
    )
    assert got.endswith("\nFollow the reasoning steps to get the final answer in the required format.")


def test_plain_distance_prompt():
    got = biometrics_prompt(
        "distance",
        "biparietal diameter",
        ["left parietal point", "right parietal point"],
        "fetal brain MRI",
        unit="mm",
        seen=SeenImage((504, 448), (0.5, 0.625)),
        cot=False,
    )
    expected = (
        "Task:\n"
        "Given the input medical image: fetal brain MRI, estimate the distance of biparietal "
        "diameter in millimeters, which is the distance between 2 landmark points: "
        "(landmark 1) left parietal point, (landmark 2) right parietal point.\n"
        "Additional information:\n"
        "The image size is 448 pixels (width) x 504 pixels (height).\n"
        "The pixel size for this image is 0.625 millimeters (width) x 0.500 millimeters "
        "(height).\n"
        "Format requirement:\n"
        "The answer should be a single decimal number without any units or additional text."
    )
    assert got == expected
    assert _headers(got) == ["Task:", "Additional information:", "Format requirement:"]


def _ad(metric_type, names, *, cot, unit, measurement_name="ANB"):
    return biometrics_prompt(
        metric_type,
        measurement_name,
        names,
        None,
        unit=unit,
        seen=SeenImage((504, 504), (0.2, 0.2)),
        cot=cot,
    )


def test_angle_and_distance_task_lines():
    angle = _ad("angle", [["A point", "nasion"], ["B point", "nasion"]], cot=False, unit="degree")
    distance = _ad("distance", ["sella", "nasion"], cot=False, unit="mm", measurement_name="S-N")
    assert angle.split("\n")[1] == (
        "Given the input medical image, estimate the angle of ANB in degrees, which is the angle "
        "between 2 lines: (line 1) the line connecting A point and nasion, (line 2) the line "
        "connecting B point and nasion."
    )
    assert distance.split("\n")[1] == (
        "Given the input medical image, estimate the distance of S-N in millimeters, which is "
        "the distance between 2 landmark points: (landmark 1) sella, (landmark 2) nasion."
    )
    # Pixel sizes are lengths even when the answer is an angle.
    assert "The pixel size for this image is 0.200 millimeters (width) x 0.200 millimeters" in angle


def test_unnamed_measurement_task_lines():
    angle = _ad("angle", [["a", "b"], ["c", "d"]], cot=False, unit="degree", measurement_name="")
    distance = _ad("distance", ["p", "q"], cot=False, unit="mm", measurement_name="")
    assert angle.split("\n")[1] == (
        "Given the input medical image, estimate the angle between 2 lines in degrees: "
        "(line 1) the line connecting a and b, (line 2) the line connecting c and d."
    )
    assert distance.split("\n")[1] == (
        "Given the input medical image, estimate the distance between 2 landmark points in "
        "millimeters: (landmark 1) p, (landmark 2) q."
    )


def test_cot_angle_and_distance_reasoning_steps_differ():
    angle = _ad("angle", [["a", "b"], ["c", "d"]], cot=True, unit="degree")
    distance = _ad("distance", ["p", "q"], cot=True, unit="mm")
    for prompt in (angle, distance):
        assert _headers(prompt) == list(HEADERS)
        assert "\nFormat requirement:\nThe final answer must be enclosed within <answer> " in prompt
        assert "The answer should be a single decimal number without units or extra text.\n" in (prompt)
    assert "Step 1: Identify line 1 and record" in angle
    assert "angle = arccos(|Ax*Bx + Ay*By| / (sqrt(Ax^2 + Ay^2) * sqrt(Bx^2 + By^2)))." in angle
    assert "Step 1: Identify the landmark 1 and record" in distance
    assert "distance = sqrt(((x2 - x1) * image_width * pixel_width)^2" in distance
    assert "landmark 1" not in angle and "line 1" not in distance


@pytest.mark.parametrize(
    ("metric_type", "names", "message"),
    [
        ("area", ["a", "b"], "metric_type must be 'distance' or 'angle', got 'area'"),
        ("distance", ["a", "b", "c"], r"distance needs landmark_names \[p1, p2\]"),
        ("distance", "ab", r"distance needs landmark_names \[p1, p2\]"),
        ("distance", ["a", ""], "landmark_names p2"),
        ("angle", ["a", "b", "c", "d"], r"angle needs landmark_names \[\[l1p1, l1p2\]"),
        ("angle", [["a", "b"], ["c"]], r"angle needs landmark_names"),
        ("angle", [["a", "b"], ["c", None]], "line 2 point 2"),
    ],
)
def test_biometrics_prompt_rejects_bad_input(metric_type, names, message):
    with pytest.raises(ValueError, match=message):
        _ad(metric_type, names, cot=False, unit="mm")


@pytest.mark.parametrize(
    ("size_hw", "pixel_hw", "message"),
    [
        ((504,), (0.7, 0.7), "2 values"),
        ((0, 504), (0.7, 0.7), "size_hw must be positive whole pixels"),
        ((504.5, 504), (0.7, 0.7), "size_hw must be positive whole pixels"),
        ((504, 504), (0.0, 0.7), "pixel_size_hw must be positive finite mm"),
        ((504, 504), (float("nan"), 0.7), "pixel_size_hw must be positive finite mm"),
    ],
)
def test_sizes_are_validated(size_hw, pixel_hw, message):
    with pytest.raises(ValueError, match=message):
        tumor_lesion_prompt("tumor", None, unit="mm", seen=SeenImage(size_hw, pixel_hw), cot=False)


def test_empty_label_name_rejected():
    with pytest.raises(ValueError, match="label_name"):
        detection_prompt("  ", None, cot=True)


def _card_template(card: str, heading: str) -> str:
    """The CoT template printed under ``heading`` in the model card, Task: to its last line."""
    start = card.index("Task:\n", card.index(heading))
    end = card.index("in the required format.", start) + len("in the required format.")
    return card[start:end]


def _card_bullet(card: str, kind: str, field: str) -> str:
    section = card[card.index(f"  • {kind}", card.index("A/D measurement (doc_to_text")) :]
    return re.search(re.escape(f"<{field}>: ") + r"(.*)\n", section).group(1)


@pytest.mark.skipif(not MODEL_CARD.is_file(), reason="shared model card copy not present")
def test_cot_prompts_match_model_card_templates():
    card = MODEL_CARD.read_text(encoding="utf-8")
    assert SYSTEM_PROMPT in card.splitlines()

    detection = _card_template(card, "Detection (doc_to_text_BoxCoordinate_CoT)")
    detection = detection.replace("<image_description>", "pelvic CT").replace("<label>", "bladder")
    assert detection_prompt("bladder", "pelvic CT", cot=True) == detection

    sizes = {"<W>": "448", "<H>": "504", "<pw>": "0.625", "<ph>": "0.500"}
    tl = _card_template(card, "T/L size (doc_to_text_TumorLesionSize_CoT)")
    for key, value in {
        **sizes,
        "<image_description>": "brain MRI",
        "<label>": "lesion",
        "<unit>": "millimeters",
    }.items():
        tl = tl.replace(key, value)
    assert tl == tumor_lesion_prompt(
        "lesion",
        "brain MRI",
        unit="mm",
        seen=SeenImage((504, 448), (0.5, 0.625)),
        cot=True,
    )

    ad = _card_template(card, "A/D measurement (doc_to_text_BiometricsFromLandmarks_CoT)")
    for kind, names, unit, word in [
        ("Distance", ["sella", "nasion"], "mm", "millimeters"),
        ("Angle", [["A", "N"], ["B", "N"]], "degree", "degrees"),
    ]:
        text = ad.replace("<task line>", _card_bullet(card, kind, "task line"))
        text = text.replace("<reasoning steps>", _card_bullet(card, kind, "reasoning steps"))
        # The card prints <unit> after the pixel sizes too; pixel sizes are stated in mm.
        text = text.replace("<pw> <unit>", "<pw> millimeters").replace("<ph> <unit>", "<ph> millimeters")
        fills = {
            **sizes,
            "<image_description>": "X-ray",
            "<name>": "M",
            "<unit>": word,
            "<p1>": "sella",
            "<p2>": "nasion",
            "<l1p1>": "A",
            "<l1p2>": "N",
            "<l2p1>": "B",
            "<l2p2>": "N",
        }
        for key, value in fills.items():
            text = text.replace(key, value)
        got = biometrics_prompt(
            kind.lower(),
            "M",
            names,
            "X-ray",
            unit=unit,
            seen=SeenImage((504, 448), (0.5, 0.625)),
            cot=True,
        )
        assert got == text, kind
