"""Prompts, byte for byte against upstream's templates filled by hand (docs/fidelity.md).

Every expected string below is written out literally: the upstream f-string of the form, with the
doc's values typed in. Sources: the first release's ``medvision_utils.py`` (``929f45a``..``c221615``)
for ``original``'s plain prompts; ``medvision_utils.py`` / ``sft_prompts.py`` / ``sft_utils.py`` at
``ae6e130`` and the benchmark's ``create_doc_to_text_BoxCoordinate_CoT`` (release v1.1.0) for the
rest. Repeated upstream constants are spelled out once here, as literals.
"""

from __future__ import annotations

import pathlib

import pytest

from medvision_tasks.prompts import (
    SYSTEM_PROMPT,
    SeenImage,
    biometrics_prompt,
    check_unit,
    coordinates_prompt,
    detection_prompt,
    doc_prompt,
    tumor_lesion_prompt,
)
from medvision_tasks.protocols import PROTOCOLS

ORIGINAL = PROTOCOLS["original"]
PUBLISHED = PROTOCOLS["published"]
SFT_DETECTION = PROTOCOLS["published_sft_detection"]
CARD_UNITS = PROTOCOLS["published_card_units"]

# The shared copy of the model card, where this checkout has one (not shipped with the package).
MODEL_CARD = pathlib.Path(__file__).resolve().parents[2] / "shared" / "seeds" / "model_card_MedVision-V0-7B.txt"

# --- upstream constants, typed out ------------------------------------------------------------
BOX = (
    "The answer should be four decimal numbers separated by commas without any units or additional text. "
    "The first two numbers are the coordinates of the lower-left corner and the last two numbers are the "
    "coordinates of the upper-right corner of the bounding box. Use relative coordinates in the image space, "
    "where the origin is at the lower-left corner of the image. Relative coordinates should be values between "
    "0 and 1, representing the relative positions in the image."
)
GENERAL = (
    "The reasoning process and the final answer must be enclosed within <think> </think> and <answer> </answer> "
    "tags, respectively. For example: <think> reasoning process here </think> <answer> answer here </answer>. "
)
REPORT = (
    "Report the reasoning process and final answer within <think> </think> and <answer> </answer> tags, "
    "respectively. Inside <think> </think>, include reasoning and step results using <step-k-reasoning> "
    "</step-k-reasoning> and <step-k-answer> </step-k-answer> tags. "
)
FOLLOW = "\nFollow the reasoning steps to get the final answer in the required format."
BOX_STEPS = (
    "Step 1: Identify the relative coordinates of the bounding box. The relative coordinates must be written as "
    "(x, y), where x is the relative position in width and y is the relative position in height. " + REPORT
)
TL_STEPS = (
    "Step 1: Identify the major axis (the longest diameter) of the ellipse enclosing the target region. Find its "
    "two endpoints and record their relative coordinates in the format (x, y) = (relative position in width "
    "direction, relative position in height direction). Denote the endpoints as (x1_major, y1_major) and "
    "(x2_major, y2_major). Step 2: Identify the minor axis (the shortest diameter) of the ellipse. Find its two "
    "endpoints and record their relative coordinates in the same (x, y) format. Denote them as (x1_minor, "
    "y1_minor) and (x2_minor, y2_minor). Step 3: Given the pixel dimensions (pixel_width, pixel_height) and "
    "image size (image_width, image_height), compute the physical length of the major axis using: "
    "major_axis_length = sqrt(((x2_major - x1_major) * image_width * pixel_width)^2 + ((y2_major - y1_major) * "
    "image_height * pixel_height)^2). Step 4: Similarly, compute the physical length of the minor axis using: "
    "minor_axis_length = sqrt(((x2_minor - x1_minor) * image_width * pixel_width)^2 + ((y2_minor - y1_minor) * "
    "image_height * pixel_height)^2). " + REPORT
)
DISTANCE_STEPS = (
    "Step 1: Identify the landmark 1 and record its relative coordinates in the format (x, y) = (relative "
    "position in width direction, relative position in height direction). Denote the coordinates as (x1, y1). "
    "Step 2: Identify the landmark 2 and record its relative coordinates in the same (x, y) format. Denote the "
    "coordinates as (x2, y2). Step 3: Given the pixel dimensions (pixel_width, pixel_height) and image size "
    "(image_width, image_height), compute the physical distance between the two landmarks using: distance = "
    "sqrt(((x2 - x1) * image_width * pixel_width)^2 + ((y2 - y1) * image_height * pixel_height)^2). " + REPORT
)
ANGLE_STEPS = (
    "Step 1: Identify line 1 and record the relative coordinates of its two endpoints in the format (x, y) = "
    "(relative position in width direction, relative position in height direction). Denote the endpoints as "
    "(x1_line1, y1_line1) and (x2_line1, y2_line1). Step 2: Identify line 2 and record the relative coordinates "
    "of its two endpoints in the same (x, y) format. Denote them as (x1_line2, y1_line2) and (x2_line2, "
    "y2_line2). Step 3: Given the pixel dimensions (pixel_width, pixel_height) and image size (image_width, "
    "image_height), compute the angle between the two lines using the formula: angle = arccos(|A \u00b7 B| / "
    "(||A|| ||B||), where A and B are the vectors of the two lines computed from the physical coordinates of "
    "their endpoints. A = ((x2_line1 - x1_line1) * image_width * pixel_width, (y2_line1 - y1_line1) * "
    "image_height * pixel_height) and B = ((x2_line2 - x1_line2) * image_width * pixel_width, (y2_line2 - "
    "y1_line2) * image_height * pixel_height). Denote A=(Ax, Ay) and B=(Bx, By). Then, angle = arccos(|Ax*Bx + "
    "Ay*By| / (sqrt(Ax^2 + Ay^2) * sqrt(Bx^2 + By^2))). " + REPORT
)

# (H, W) = (400, 504) pixels seen, (ph, pw) = (0.81234, 0.7) mm: width first, three decimals.
SEEN = SeenImage((400, 504), (0.81234, 0.7))
SIZE_LINE = "The image size is 504 pixels (width) x 400 pixels (height).\n"
PIXEL_MM = "The pixel size for this image is 0.700 mm (width) x 0.812 mm (height).\n"
PIXEL_MILLIMETERS = "The pixel size for this image is 0.700 millimeters (width) x 0.812 millimeters (height).\n"
PIXEL_DEGREES = "The pixel size for this image is 0.700 degrees (width) x 0.812 degrees (height).\n"
CT = "abdominal CT scan"
XRAY = "cephalogram (head and neck X-ray)"


def test_system_prompt_is_rft_prompts():
    expected = (
        "A conversation between a User and an Assistant. The User asks a question, and the Assistant solves it. The "
        "Assistant first thinks through the reasoning process internally, then provides the User with the answer. "
        "The reasoning process and the final answer must be enclosed within <think> </think> and <answer> </answer> "
        "tags, respectively. For example: <think> reasoning process here </think> <answer> answer here </answer>. "
        "Within the <think> </think> tags, report the reasoning process for each step inside <step-k-reasoning> "
        "</step-k-reasoning> tags, followed by the intermediate results in <step-k-answer> </step-k-answer> tags. "
        "For example: <think> <step-1-reasoning> reasoning for step 1 </step-1-reasoning> <step-1-answer> "
        "intermediate result from step 1 </step-1-answer> </think>."
    )
    assert SYSTEM_PROMPT == expected


# --- detection ---------------------------------------------------------------------------------


def test_original_plain_detection():
    expected = (
        "Task:\nGiven the input medical image: abdominal CT scan, return the coordinates of the lower-left and "
        "upper-right corner of the bounding box for the liver.\nFormat requirement:\n" + BOX
    )
    assert detection_prompt("liver", CT, cot=False, protocol=ORIGINAL) == expected


def test_original_plain_detection_empty_description():
    expected = (
        "Task:\nGiven the input medical image: , return the coordinates of the lower-left and upper-right corner "
        "of the bounding box for the liver.\nFormat requirement:\n" + BOX
    )
    assert detection_prompt("liver", "", cot=False, protocol=ORIGINAL) == expected
    assert detection_prompt("liver", None, cot=False, protocol=ORIGINAL) == expected


def test_published_plain_detection():
    expected = (
        "Task:\nGiven the input medical image: abdominal CT scan, return the coordinates of the lower-left and "
        "upper-right corners of the bounding box for the liver.\nFormat requirement:\n" + GENERAL + BOX
    )
    assert detection_prompt("liver", CT, cot=False, protocol=PUBLISHED) == expected


def test_published_plain_detection_empty_description():
    expected = (
        "Task:\nGiven the input medical image, return the coordinates of the lower-left and upper-right corners "
        "of the bounding box for the liver.\nFormat requirement:\n" + GENERAL + BOX
    )
    assert detection_prompt("liver", "", cot=False, protocol=PUBLISHED) == expected


def test_published_cot_detection_is_the_benchmark_eval_form():
    expected = (
        "Task:\nGiven the input medical image: abdominal CT scan, return the coordinates of the lower-left and "
        "upper-right corners of the bounding box for the liver.\nFormat requirement:\n"
        + GENERAL
        + BOX
        + "\nReasoning steps:\n"
        + BOX_STEPS
        + FOLLOW
    )
    assert detection_prompt("liver", CT, cot=True, protocol=PUBLISHED) == expected


def test_sft_cot_detection_is_the_training_form():
    # "corner", the answer-tag-only format, and no newline before "Reasoning steps:".
    expected = (
        "Task:\nGiven the input medical image, return the coordinates of the lower-left and upper-right corner "
        "of the bounding box for the liver.\nFormat requirement:\nThe final answer must be enclosed within "
        "<answer> </answer> tags. " + BOX + "Reasoning steps:\n" + BOX_STEPS + FOLLOW
    )
    assert detection_prompt("liver", None, cot=True, protocol=SFT_DETECTION) == expected


# --- tumor/lesion ------------------------------------------------------------------------------


def test_original_plain_tumor_lesion():
    expected = (
        "Task:\nGiven the input medical image: abdominal CT scan, estimate the major and minor axis lengths of "
        "the ellipse enclosing the kidney tumor, in mm.\nAdditional information:\n"
        + PIXEL_MM
        + "Format requirement:\nThe answer should be two decimal numbers separated by a comma without any units or "
        "additional text. The first is the major axis length, and the second is the minor axis length."
    )
    assert tumor_lesion_prompt("kidney tumor", CT, seen=SEEN, cot=False, protocol=ORIGINAL) == expected


def test_original_plain_tumor_lesion_empty_description():
    prompt = tumor_lesion_prompt("kidney tumor", "", seen=SEEN, cot=False, protocol=ORIGINAL)
    assert prompt.startswith(
        "Task:\nGiven the input medical image: , estimate the major and minor axis lengths of the ellipse "
        "enclosing the kidney tumor, in mm.\n"
    )


def test_published_plain_tumor_lesion():
    expected = (
        "Task:\nGiven the input medical image: abdominal CT scan, estimate the major and minor axis lengths of "
        "the ellipse enclosing the kidney tumor, in mm.\nAdditional information:\n"
        + SIZE_LINE
        + PIXEL_MM
        + "Format requirement:\n"
        + GENERAL
        + "The answer should be two decimal numbers separated by a comma. The first is the major axis length, "
        "and the second is the minor axis length."
    )
    assert tumor_lesion_prompt("kidney tumor", CT, seen=SEEN, cot=False, protocol=PUBLISHED) == expected


def test_published_cot_tumor_lesion_empty_description():
    expected = (
        "Task:\nGiven the input medical image, estimate the major and minor axis lengths of the ellipse enclosing "
        "the tumor, in mm.\nAdditional information:\n"
        + SIZE_LINE
        + PIXEL_MM
        + "Format requirement:\nThe final answer must be enclosed within <answer> </answer> tags. The answer "
        "should consist of two decimal numbers separated by a comma, without units or extra text. The first "
        "number is the major axis length, and the second is the minor axis length.\nReasoning steps:\n"
        + TL_STEPS
        + FOLLOW
    )
    assert tumor_lesion_prompt("tumor", None, seen=SEEN, cot=True, protocol=PUBLISHED) == expected
    # The first release had no CoT tasks: the original protocol asks with the published CoT prompt.
    assert tumor_lesion_prompt("tumor", None, seen=SEEN, cot=True, protocol=ORIGINAL) == expected


def test_the_trailing_space_before_follow_is_kept():
    prompt = tumor_lesion_prompt("tumor", None, seen=SEEN, cot=True, protocol=PUBLISHED)
    assert prompt.endswith(
        "<step-k-answer> </step-k-answer> tags. \nFollow the reasoning steps to get the final answer in the required format."
    )


def test_published_plain_tumor_lesion_empty_description():
    # image_prompt = "" for an empty description: no colon after "image".
    expected = (
        "Task:\nGiven the input medical image, estimate the major and minor axis lengths of the ellipse enclosing "
        "the tumor, in mm.\nAdditional information:\n"
        + SIZE_LINE
        + PIXEL_MM
        + "Format requirement:\n"
        + GENERAL
        + "The answer should be two decimal numbers separated by a comma. The first is the major axis length, and the "
        "second is the minor axis length."
    )
    assert tumor_lesion_prompt("tumor", "", seen=SEEN, cot=False, protocol=PUBLISHED) == expected
    assert tumor_lesion_prompt("tumor", None, seen=SEEN, cot=False, protocol=PUBLISHED) == expected


def test_card_units_tumor_lesion():
    expected = (
        "Task:\nGiven the input medical image: abdominal CT scan, estimate the major and minor axis lengths of "
        "the ellipse enclosing the kidney tumor, in millimeters.\nAdditional information:\n"
        + SIZE_LINE
        + PIXEL_MILLIMETERS
        + "Format requirement:\n"
        + GENERAL
        + "The answer should be two decimal numbers separated by a comma. The first is the major axis length, "
        "and the second is the minor axis length."
    )
    assert tumor_lesion_prompt("kidney tumor", CT, seen=SEEN, cot=False, protocol=CARD_UNITS) == expected


# --- angle/distance ------------------------------------------------------------------------------

SINGLE_V1 = "The answer should be a single decimal number without any units or additional text."
SINGLE_TAGGED = GENERAL + "The answer should be a single decimal number."
SINGLE_COT = (
    "The final answer must be enclosed within <answer> </answer> tags. The answer should be a single decimal "
    "number without units or extra text."
)


def test_original_unnamed_distance():
    expected = (
        "Task:\nGiven the input medical image: cephalogram (head and neck X-ray), estimate the distance between 2 "
        "landmark points in millimeters: (landmark 1) sella, (landmark 2) nasion.\nAdditional information:\n"
        + PIXEL_MM
        + "Format requirement:\n"
        + SINGLE_V1
    )
    got = biometrics_prompt("distance", "", ["sella", "nasion"], XRAY, seen=SEEN, cot=False, protocol=ORIGINAL)
    assert got == expected
    assert got == biometrics_prompt(
        "distance", None, ["sella", "nasion"], XRAY, seen=SEEN, cot=False, protocol=ORIGINAL
    )


def test_original_named_distance_empty_description_unstripped_landmark():
    # FeTA24: no image description, a landmark name with a trailing space, printed as is.
    expected = (
        "Task:\nGiven the input medical image: , estimate the distance of brain biparietal diameter in "
        "millimeters, which is the distance between 2 landmark points: (landmark 1) right parietal eminence , "
        "(landmark 2) left parietal eminence.\nAdditional information:\n"
        + PIXEL_MM
        + "Format requirement:\n"
        + SINGLE_V1
    )
    names = ["right parietal eminence ", "left parietal eminence"]
    got = biometrics_prompt("distance", "brain biparietal diameter", names, "", seen=SEEN, cot=False, protocol=ORIGINAL)
    assert got == expected


def test_original_unnamed_angle():
    expected = (
        "Task:\nGiven the input medical image: cephalogram (head and neck X-ray), estimate the angle between 2 "
        "lines in degree: (line 1) the line connecting nasion and subspinale, (line 2) the line connecting nasion "
        "and supramentale.\nAdditional information:\n" + PIXEL_MM + "Format requirement:\n" + SINGLE_V1
    )
    lines = LINES
    assert biometrics_prompt("angle", "", lines, XRAY, seen=SEEN, cot=False, protocol=ORIGINAL) == expected


def test_original_named_angle():
    expected = (
        "Task:\nGiven the input medical image: cephalogram (head and neck X-ray), estimate the angle of ANB in "
        "degree, which is the angle between 2 lines: (line 1) the line connecting nasion and subspinale, (line 2) "
        "the line connecting nasion and supramentale.\nAdditional information:\n"
        + PIXEL_MM
        + "Format requirement:\n"
        + SINGLE_V1
    )
    lines = LINES
    assert biometrics_prompt("angle", "ANB", lines, XRAY, seen=SEEN, cot=False, protocol=ORIGINAL) == expected


LINES = [["nasion", "subspinale"], ["nasion", "supramentale"]]
UNNAMED_ANGLE_DOC = {
    "family": "ad",
    "biometric_profile": {"metric_type": "angle", "metric_unit": "degree"},
    "measurement_name": "",
    "landmark_names": [name for line in LINES for name in line],
    "image_description": XRAY,
}
UNNAMED_DISTANCE = (
    ": cephalogram (head and neck X-ray), estimate the distance between 2 landmark points in millimeters: (landmark 1) "
    "sella, (landmark 2) nasion."
)
NAMED_ANGLE = (
    ": cephalogram (head and neck X-ray), estimate the angle of ANB in degree, which is the angle between 2 lines: "
    "(line 1) the line connecting nasion and subspinale, (line 2) the line connecting nasion and supramentale."
)
UNNAMED_ANGLE = (
    ": cephalogram (head and neck X-ray), estimate the angle between 2 lines in degree: (line 1) the line connecting "
    "nasion and subspinale, (line 2) the line connecting nasion and supramentale."
)
NAMED_DISTANCE = (
    ": fetal brain MRI, estimate the distance of brain biparietal diameter in millimeters, which is the distance "
    "between 2 landmark points: (landmark 1) right parietal eminence, (landmark 2) left parietal eminence."
)
NAMED_DISTANCE_NO_DESCRIPTION = (  # no ": <description>", and the landmark name's trailing space kept
    ", estimate the distance of brain biparietal diameter in millimeters, which is the distance between 2 landmark "
    "points: (landmark 1) right parietal eminence , (landmark 2) left parietal eminence."
)
# Each form's question as upstream's templates give it, typed out: (question, metric, name, landmarks,
# image description, CoT); the rest of the prompt is the published protocol's, the same for every form.
PUBLISHED_BIOMETRICS = {
    "plain named distance, empty description": (
        NAMED_DISTANCE_NO_DESCRIPTION,
        "distance", "brain biparietal diameter", ["right parietal eminence ", "left parietal eminence"], "", False,
    ),
    "plain unnamed angle": (UNNAMED_ANGLE, "angle", "", LINES, XRAY, False),
    "plain unnamed distance": (UNNAMED_DISTANCE, "distance", "", ["sella", "nasion"], XRAY, False),
    "plain named angle": (NAMED_ANGLE, "angle", "ANB", LINES, XRAY, False),
    "cot named distance": (
        NAMED_DISTANCE,
        "distance", "brain biparietal diameter", ["right parietal eminence", "left parietal eminence"],
        "fetal brain MRI", True,
    ),
    "cot unnamed angle": (UNNAMED_ANGLE, "angle", "", LINES, XRAY, True),
    "cot unnamed distance": (UNNAMED_DISTANCE, "distance", "", ["sella", "nasion"], XRAY, True),
    "cot named angle": (NAMED_ANGLE, "angle", "ANB", LINES, XRAY, True),
}  # fmt: skip


@pytest.mark.parametrize("form", PUBLISHED_BIOMETRICS)
def test_published_biometrics_prompt(form):
    question, metric, name, landmarks, description, cot = PUBLISHED_BIOMETRICS[form]
    steps = DISTANCE_STEPS if metric == "distance" else ANGLE_STEPS
    answer_format = SINGLE_COT + "\nReasoning steps:\n" + steps + FOLLOW if cot else SINGLE_TAGGED
    expected = (
        "Task:\nGiven the input medical image"
        + question
        + "\nAdditional information:\n"
        + SIZE_LINE
        + PIXEL_MM
        + "Format requirement:\n"
        + answer_format
    )
    got = biometrics_prompt(metric, name, landmarks, description, seen=SEEN, cot=cot, protocol=PUBLISHED)
    assert got == expected


def test_published_cot_angle_step_has_one_parenthesis():
    got = biometrics_prompt("angle", "ANB", LINES, XRAY, seen=SEEN, cot=True, protocol=PUBLISHED)
    assert "(||A|| ||B||), where" in got and "(||A|| ||B||)), where" not in got


def test_card_units_angle_prints_degrees_everywhere():
    expected = (
        "Task:\nGiven the input medical image: cephalogram (head and neck X-ray), estimate the angle between 2 "
        "lines in degrees: (line 1) the line connecting nasion and subspinale, (line 2) the line connecting nasion "
        "and supramentale.\nAdditional information:\n"
        + SIZE_LINE
        + PIXEL_DEGREES
        + "Format requirement:\n"
        + SINGLE_COT
        + "\nReasoning steps:\n"
        + ANGLE_STEPS
        + FOLLOW
    )
    lines = LINES
    assert biometrics_prompt("angle", "", lines, XRAY, seen=SEEN, cot=True, protocol=CARD_UNITS) == expected


# --- coordinate-only prompts (this package's variant): the CoT prompt's blocks, a points format ----

COORDINATE_TAIL = (
    "Each point is written as x, y, where x is the relative position in width and y is the relative position in "
    "height. Use relative coordinates in the image space, where the origin is at the lower-left corner of the "
    "image. Relative coordinates should be values between 0 and 1, representing the relative positions in the image."
)


def test_coordinates_tumor_lesion():
    doc = {
        "family": "tl",
        "biometric_profile": {"metric_unit": ["mm"]},
        "label_name": "liver tumor",
        "image_description": CT,
    }
    expected = (
        "Task:\n"
        f"Given the input medical image: {CT}, locate the endpoints of the major and minor axes of the ellipse "
        "enclosing the liver tumor.\n"
        "Additional information:\n" + SIZE_LINE + PIXEL_MM + "Format requirement:\n"
        "The final answer must be enclosed within <answer> </answer> tags. The answer should be eight decimal numbers "
        "separated by commas without any units or additional text: x1, y1, x2, y2, the two endpoints of the major "
        "axis (the longest diameter), then x3, y3, x4, y4, the two endpoints of the minor axis (the shortest "
        "diameter). " + COORDINATE_TAIL
    )
    assert coordinates_prompt(doc, seen=SEEN, protocol=PUBLISHED) == expected
    assert coordinates_prompt(doc, seen=SEEN, protocol=ORIGINAL) == expected  # no protocol has its own


def test_coordinates_named_distance_and_unnamed_angle():
    distance = {
        "family": "ad",
        "biometric_profile": {"metric_type": "distance", "metric_unit": "mm"},
        "measurement_name": "AC-PC",
        "landmark_names": ["anterior commissure (AC)", "posterior commissure (PC)"],
        "image_description": "",
    }
    expected = (
        "Task:\n"
        "Given the input medical image, locate the 2 landmark points of the distance of AC-PC: (landmark 1) anterior "
        "commissure (AC), (landmark 2) posterior commissure (PC).\n"
        "Additional information:\n" + SIZE_LINE + PIXEL_MM + "Format requirement:\n"
        "The final answer must be enclosed within <answer> </answer> tags. The answer should be four decimal numbers "
        "separated by commas without any units or additional text: x1, y1, the coordinates of landmark 1, then x2, "
        "y2, the coordinates of landmark 2. " + COORDINATE_TAIL
    )
    assert coordinates_prompt(distance, seen=SEEN, protocol=PUBLISHED) == expected
    angle = UNNAMED_ANGLE_DOC
    expected = (
        "Task:\n"
        f"Given the input medical image: {XRAY}, locate the endpoints of the 2 lines: (line 1) the line connecting "
        "nasion and subspinale, (line 2) the line connecting nasion and supramentale.\n"
        "Additional information:\n" + SIZE_LINE + PIXEL_MM + "Format requirement:\n"
        "The final answer must be enclosed within <answer> </answer> tags. The answer should be eight decimal numbers "
        "separated by commas without any units or additional text: x1, y1, x2, y2, the two endpoints of line 1, "
        "then x3, y3, x4, y4, the two endpoints of line 2. " + COORDINATE_TAIL
    )
    assert coordinates_prompt(angle, seen=SEEN, protocol=PUBLISHED) == expected
    with pytest.raises(ValueError, match="detection has no coordinate-only variant"):
        coordinates_prompt({"family": "detection", "label_name": "liver"}, seen=SEEN, protocol=PUBLISHED)


# --- docs and validation ---------------------------------------------------------------------------


def test_doc_prompt_reads_the_doc_fields():
    doc = UNNAMED_ANGLE_DOC
    lines = LINES
    for protocol in (ORIGINAL, PUBLISHED):
        for cot in (False, True):
            expected = biometrics_prompt("angle", "", lines, XRAY, seen=SEEN, cot=cot, protocol=protocol)
            assert doc_prompt(doc, seen=SEEN, cot=cot, protocol=protocol) == expected
    tl = {"family": "tl", "biometric_profile": {"metric_unit": ["mm"]}, "label_name": "tumor", "image_description": CT}
    assert (
        doc_prompt(tl, seen=SEEN, cot=False, protocol=ORIGINAL).split("\n")[1].endswith("enclosing the tumor, in mm.")
    )


@pytest.mark.parametrize(
    ("metric_type", "unit"),
    [("size", "mm"), ("size", ["mm"]), ("distance", "mm"), ("distance", " millimeters"), ("angle", "degree")],
)
def test_units_accepted(metric_type, unit):
    check_unit(metric_type, unit)


@pytest.mark.parametrize(
    ("metric_type", "unit"),
    [("size", "cm"), ("distance", "degree"), ("angle", "mm"), ("angle", None), ("size", ["mm", "mm"])],
)
def test_units_rejected(metric_type, unit):
    with pytest.raises(ValueError, match=f"a {metric_type} must be in"):
        check_unit(metric_type, unit)


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
        biometrics_prompt(metric_type, "M", names, None, seen=SEEN, cot=False, protocol=PUBLISHED)


def test_measurement_name_must_be_text():
    with pytest.raises(ValueError, match="measurement_name must be text"):
        biometrics_prompt("distance", 3, ["a", "b"], None, seen=SEEN, cot=False, protocol=PUBLISHED)


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
    for protocol in (ORIGINAL, PUBLISHED):
        with pytest.raises(ValueError, match=message):
            tumor_lesion_prompt("tumor", None, seen=SeenImage(size_hw, pixel_hw), cot=False, protocol=protocol)


def test_empty_label_name_rejected():
    with pytest.raises(ValueError, match="label_name"):
        detection_prompt("  ", None, cot=True, protocol=PUBLISHED)


# --- the model card: the same text but for the two differences of the constants -----------------


def _card_template(card: str, heading: str) -> str:
    """The CoT template printed under ``heading`` in the model card, Task: to its last line."""
    start = card.index("Task:\n", card.index(heading))
    end = card.index("in the required format.", start) + len("in the required format.")
    return card[start:end]


def _as_trained(card_text: str) -> str:
    """The card's text with the constants' two differences: a space before "\\nFollow", one parenthesis."""
    return card_text.replace("tags.\nFollow", "tags. \nFollow").replace("(||A|| ||B||)), where", "(||A|| ||B||), where")


@pytest.mark.skipif(not MODEL_CARD.is_file(), reason="shared model card copy not present")
def test_cot_prompts_are_the_model_cards_but_for_the_constants_differences():
    card = MODEL_CARD.read_text(encoding="utf-8")
    assert SYSTEM_PROMPT in card.splitlines()

    detection = _card_template(card, "Detection (doc_to_text_BoxCoordinate_CoT)")
    detection = detection.replace("<image_description>", "pelvic CT").replace("<label>", "bladder")
    assert detection_prompt("bladder", "pelvic CT", cot=True, protocol=PUBLISHED) == _as_trained(detection)

    tl = _card_template(card, "T/L size (doc_to_text_TumorLesionSize_CoT)")
    fills = {"<W>": "504", "<H>": "400", "<pw>": "0.700", "<ph>": "0.812", "<image_description>": "brain MRI"}
    for key, value in {**fills, "<label>": "lesion", "<unit>": "millimeters"}.items():
        tl = tl.replace(key, value)
    assert tumor_lesion_prompt("lesion", "brain MRI", seen=SEEN, cot=True, protocol=CARD_UNITS) == _as_trained(tl)
