"""Prompts of the MedVision benchmark: plain and chain-of-thought (CoT) (docs/fidelity.md).

Every prompt is built from up to four blocks, each a header line and its text:
``Task:`` / ``Additional information:`` / ``Format requirement:`` / ``Reasoning steps:``.
Detection has no ``Additional information:`` block (relative coordinates need no sizes); plain
prompts have no ``Reasoning steps:`` block. The CoT texts and :data:`SYSTEM_PROMPT` are verbatim
from the MedVision-V0-7B model card (sections 4.1 and 4.2), which MedVision-V0 was trained on.

Conventions (docs/ARCHITECTURE.md): a :class:`SeenImage` holds ``size_hw``, ``(H, W)`` in pixels,
and ``pixel_size_hw``, ``(ph, pw)`` in mm, row then column; the sentences themselves state width
first. Both must describe the image *as the model sees it* (docs/models.md); callers get them
from :mod:`medvision_tasks.spacing`.

Pixel sizes are always stated in millimeters: they are lengths whatever the answer's unit. For
T/L and distances this is exactly the model card's ``<unit>``; for angles the card's template
would print "degrees" per pixel, which has no meaning, and the benchmark code printed mm there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from medvision_tasks.families import DETECTION, TUMOR_LESION

SYSTEM_PROMPT = (
    "A conversation between a User and an Assistant. The User asks a question, and the Assistant "
    "solves it. The Assistant first thinks through the reasoning process internally, then "
    "provides the User with the answer. The reasoning process and the final answer must be "
    "enclosed within <think> </think> and <answer> </answer> tags, respectively. For example: "
    "<think> reasoning process here </think> <answer> answer here </answer>. Within the <think> "
    "</think> tags, report the reasoning process for each step inside <step-k-reasoning> "
    "</step-k-reasoning> tags, followed by the intermediate results in <step-k-answer> "
    "</step-k-answer> tags. For example: <think> <step-1-reasoning> reasoning for step 1 "
    "</step-1-reasoning> <step-1-answer> intermediate result from step 1 </step-1-answer> "
    "</think>."
)

_UNIT_WORDS = {"mm": "millimeters", "degree": "degrees"}
_PIXEL_SIZE_UNIT = "mm"

# Closing sentence of every CoT "Reasoning steps:" text (model card 4.2).
_COT_REPORT = (
    "Report the reasoning process and final answer within <think> </think> and <answer> "
    "</answer> tags, respectively. Inside <think> </think>, include reasoning and step results "
    "using <step-k-reasoning> </step-k-reasoning> and <step-k-answer> </step-k-answer> tags."
)
_COT_FOLLOW = "Follow the reasoning steps to get the final answer in the required format."

# --- Detection -----------------------------------------------------------------------------
_BOX_FORMAT = (
    "The answer should be four decimal numbers separated by commas without any units or "
    "additional text. The first two numbers are the coordinates of the lower-left corner and "
    "the last two numbers are the coordinates of the upper-right corner of the bounding box. "
    "Use relative coordinates in the image space, where the origin is at the lower-left corner "
    "of the image. Relative coordinates should be values between 0 and 1, representing the "
    "relative positions in the image."
)
# The CoT format text is the plain one with the tag contract in front (model card 4.2).
_BOX_FORMAT_COT = (
    "The reasoning process and the final answer must be enclosed within <think> </think> and "
    "<answer> </answer> tags, respectively. For example: <think> reasoning process here "
    "</think> <answer> answer here </answer>. " + _BOX_FORMAT
)
_BOX_STEPS_COT = (
    "Step 1: Identify the relative coordinates of the bounding box. The relative coordinates "
    "must be written as (x, y), where x is the relative position in width and y is the relative "
    "position in height. " + _COT_REPORT
)

# --- Tumor/lesion size ---------------------------------------------------------------------
_TL_FORMAT = (
    "The answer should be two decimal numbers separated by a comma without any units or "
    "additional text. The first is the major axis length, and the second is the minor axis "
    "length."
)
_TL_FORMAT_COT = (
    "The final answer must be enclosed within <answer> </answer> tags. The answer should "
    "consist of two decimal numbers separated by a comma, without units or extra text. The "
    "first number is the major axis length, and the second is the minor axis length."
)
_TL_STEPS_COT = (
    "Step 1: Identify the major axis (the longest diameter) of the ellipse enclosing the target "
    "region. Find its two endpoints and record their relative coordinates in the format (x, y) "
    "= (relative position in width direction, relative position in height direction). Denote "
    "the endpoints as (x1_major, y1_major) and (x2_major, y2_major). "
    "Step 2: Identify the minor axis (the shortest diameter) of the ellipse. Find its two "
    "endpoints and record their relative coordinates in the same (x, y) format. Denote them as "
    "(x1_minor, y1_minor) and (x2_minor, y2_minor). "
    "Step 3: Given the pixel dimensions (pixel_width, pixel_height) and image size "
    "(image_width, image_height), compute the physical length of the major axis using: "
    "major_axis_length = sqrt(((x2_major - x1_major) * image_width * pixel_width)^2 + "
    "((y2_major - y1_major) * image_height * pixel_height)^2). "
    "Step 4: Similarly, compute the physical length of the minor axis using: "
    "minor_axis_length = sqrt(((x2_minor - x1_minor) * image_width * pixel_width)^2 + "
    "((y2_minor - y1_minor) * image_height * pixel_height)^2). " + _COT_REPORT
)

# --- Angle/distance ------------------------------------------------------------------------
_AD_FORMAT = "The answer should be a single decimal number without any units or additional text."
_AD_FORMAT_COT = (
    "The final answer must be enclosed within <answer> </answer> tags. The answer should be a "
    "single decimal number without units or extra text."
)
_DISTANCE_STEPS_COT = (
    "Step 1: Identify the landmark 1 and record its relative coordinates in the format (x, y) = "
    "(relative position in width direction, relative position in height direction). Denote the "
    "coordinates as (x1, y1). "
    "Step 2: Identify the landmark 2 and record its relative coordinates in the same (x, y) "
    "format. Denote the coordinates as (x2, y2). "
    "Step 3: Given the pixel dimensions (pixel_width, pixel_height) and image size "
    "(image_width, image_height), compute the physical distance between the two landmarks "
    "using: distance = sqrt(((x2 - x1) * image_width * pixel_width)^2 + ((y2 - y1) * "
    "image_height * pixel_height)^2). " + _COT_REPORT
)
_ANGLE_STEPS_COT = (
    "Step 1: Identify line 1 and record the relative coordinates of its two endpoints in the "
    "format (x, y) = (relative position in width direction, relative position in height "
    "direction). Denote the endpoints as (x1_line1, y1_line1) and (x2_line1, y2_line1). "
    "Step 2: Identify line 2 and record the relative coordinates of its two endpoints in the "
    "same (x, y) format. Denote them as (x1_line2, y1_line2) and (x2_line2, y2_line2). "
    "Step 3: Given the pixel dimensions (pixel_width, pixel_height) and image size "
    "(image_width, image_height), compute the angle between the two lines using the formula: "
    "angle = arccos(|A · B| / (||A|| ||B||)), where A and B are the vectors of the two lines "
    "computed from the physical coordinates of their endpoints. A = ((x2_line1 - x1_line1) * "
    "image_width * pixel_width, (y2_line1 - y1_line1) * image_height * pixel_height) and B = "
    "((x2_line2 - x1_line2) * image_width * pixel_width, (y2_line2 - y1_line2) * image_height "
    "* pixel_height). Denote A=(Ax, Ay) and B=(Bx, By). Then, angle = arccos(|Ax*Bx + Ay*By| / "
    "(sqrt(Ax^2 + Ay^2) * sqrt(Bx^2 + By^2))). " + _COT_REPORT
)


def unit_word(unit: str) -> str:
    """The unit as the prompt prints it: a full English word.

    Args:
        unit: a doc's ``metric_unit``: ``"mm"`` or ``"degree"``; the full words
            ``"millimeters"`` / ``"degrees"`` are accepted unchanged.

    Returns:
        ``"millimeters"`` or ``"degrees"``.

    Raises:
        ValueError: for any other unit.
    """
    if isinstance(unit, str):
        key = unit.strip()
        if key in _UNIT_WORDS:
            return _UNIT_WORDS[key]
        if key in _UNIT_WORDS.values():
            return key
    raise ValueError(f"unknown unit {unit!r}: expected one of {sorted(_UNIT_WORDS)}")


def _image_clause(image_description: str | None) -> str:
    """``"Given the input medical image: {desc}, "``, or without the colon part when empty."""
    if image_description is None or not str(image_description).strip():
        return "Given the input medical image, "
    return f"Given the input medical image: {str(image_description).strip()}, "


def _require_name(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} must be a non-empty string, got {value!r}")
    return value.strip()


@dataclass(frozen=True)
class SeenImage:
    """The image a model is shown, as T/L and A/D prompts describe it.

    Attributes:
        size_hw: ``(H, W)`` in pixels.
        pixel_size_hw: ``(ph, pw)`` in mm.
    """

    size_hw: tuple[int, int]
    pixel_size_hw: tuple[float, float]


def _additional_information(seen: SeenImage) -> str:
    """The image-size and pixel-size sentences (width first, as the model card states them).

    Raises:
        ValueError: a size that is not two positive whole pixels, or a pixel size that is not two
            positive finite mm.
    """
    image_size_hw, pixel_size_hw = seen.size_hw, seen.pixel_size_hw
    if len(image_size_hw) != 2 or len(pixel_size_hw) != 2:
        raise ValueError(
            f"the seen image's size_hw and pixel_size_hw need 2 values each (H, W) / (ph, pw), got "
            f"{image_size_hw!r} and {pixel_size_hw!r}"
        )
    height, width = image_size_hw
    if int(height) != height or int(width) != width or height <= 0 or width <= 0:
        raise ValueError(f"the seen image's size_hw must be positive whole pixels (H, W), got {image_size_hw!r}")
    ph, pw = (float(v) for v in pixel_size_hw)
    if not (math.isfinite(ph) and math.isfinite(pw) and ph > 0 and pw > 0):
        raise ValueError(f"the seen image's pixel_size_hw must be positive finite mm (ph, pw), got {pixel_size_hw!r}")
    unit = unit_word(_PIXEL_SIZE_UNIT)
    return (
        f"The image size is {int(width)} pixels (width) x {int(height)} pixels (height).\n"
        f"The pixel size for this image is {pw:.3f} {unit} (width) x {ph:.3f} {unit} (height)."
    )


def _assemble(task: str, additional_information: str | None, format_text: str, reasoning_steps: str | None) -> str:
    """Join the blocks; CoT prompts end with the "Follow the reasoning steps" line."""
    lines = ["Task:", task]
    if additional_information is not None:
        lines += ["Additional information:", additional_information]
    lines += ["Format requirement:", format_text]
    if reasoning_steps is not None:
        lines += ["Reasoning steps:", reasoning_steps, _COT_FOLLOW]
    return "\n".join(lines)


def detection_prompt(label_name: str, image_description: str | None, *, cot: bool) -> str:
    """Prompt for a bounding box around one labelled structure (no sizes are stated).

    The answer asked for is ``x0,y0,x1,y1``: relative coordinates in [0, 1], origin at the
    image's lower-left corner, lower-left corner first, then upper-right.

    Args:
        label_name: the structure, e.g. ``"liver"``.
        image_description: e.g. ``"abdominal CT scan"``; None or empty leaves it out.
        cot: the model card's CoT prompt (with ``Reasoning steps:``) instead of the plain one.

    Returns:
        The user prompt text.
    """
    label = _require_name(label_name, "label_name")
    if cot:
        task = (
            f"{_image_clause(image_description)}return the coordinates of the lower-left and "
            f"upper-right corners of the bounding box for the {label}."
        )
        return _assemble(task, None, _BOX_FORMAT_COT, _BOX_STEPS_COT)
    # The plain task line says "corner", the CoT one "corners": each as its source has it.
    task = (
        f"{_image_clause(image_description)}return the coordinates of the lower-left and "
        f"upper-right corner of the bounding box for the {label}."
    )
    return _assemble(task, None, _BOX_FORMAT, None)


def tumor_lesion_prompt(
    label_name: str, image_description: str | None, *, unit: str, seen: SeenImage, cot: bool
) -> str:
    """Prompt for the major and minor axis lengths of the ellipse enclosing a tumor/lesion.

    Args:
        label_name: the lesion, e.g. ``"tumor"``.
        image_description: None or empty leaves it out.
        unit: the answer's unit, ``"mm"``.
        seen: the image as the model sees it (its size and pixel size are stated).
        cot: the model card's CoT prompt instead of the plain one.

    Returns:
        The user prompt text.
    """
    label = _require_name(label_name, "label_name")
    task = (
        f"{_image_clause(image_description)}estimate the major and minor axis lengths of the "
        f"ellipse enclosing the {label}, in {unit_word(unit)}."
    )
    info = _additional_information(seen)
    if cot:
        return _assemble(task, info, _TL_FORMAT_COT, _TL_STEPS_COT)
    return _assemble(task, info, _TL_FORMAT, None)


def _landmark_name(value: object, field: str) -> str:
    return _require_name(value, f"landmark_names {field}")


def biometrics_prompt(
    metric_type: str,
    measurement_name: str,
    landmark_names: list,
    image_description: str | None,
    *,
    unit: str,
    seen: SeenImage,
    cot: bool,
) -> str:
    """Prompt for a landmark distance or an angle between two lines (A/D).

    Args:
        metric_type: ``"distance"`` or ``"angle"``.
        measurement_name: e.g. ``"ANB angle"``; empty gives the benchmark's unnamed task line
            ("estimate the distance between 2 landmark points in millimeters: ...").
        landmark_names: distance: ``[p1, p2]``; angle: ``[[l1p1, l1p2], [l2p1, l2p2]]``,
            the endpoints of line 1 and line 2.
        image_description, seen, cot: as :func:`tumor_lesion_prompt` takes them.
        unit: the answer's unit: ``"mm"`` (distance) or ``"degree"`` (angle).

    Returns:
        The user prompt text.

    Raises:
        ValueError: unknown ``metric_type``, ``landmark_names`` of the wrong shape for it, or a
            bad unit/size.
    """
    word = unit_word(unit)
    name = measurement_name.strip() if isinstance(measurement_name, str) else ""
    if metric_type == "distance":
        if not isinstance(landmark_names, (list, tuple)) or len(landmark_names) != 2:
            raise ValueError(f"distance needs landmark_names [p1, p2], got {landmark_names!r}")
        p1 = _landmark_name(landmark_names[0], "p1")
        p2 = _landmark_name(landmark_names[1], "p2")
        points = f"(landmark 1) {p1}, (landmark 2) {p2}."
        if name:
            line = (
                f"estimate the distance of {name} in {word}, which is the distance between 2 landmark points: {points}"
            )
        else:
            line = f"estimate the distance between 2 landmark points in {word}: {points}"
        steps = _DISTANCE_STEPS_COT
    elif metric_type == "angle":
        if (
            not isinstance(landmark_names, (list, tuple))
            or len(landmark_names) != 2
            or any(not isinstance(ln, (list, tuple)) or len(ln) != 2 for ln in landmark_names)
        ):
            raise ValueError(f"angle needs landmark_names [[l1p1, l1p2], [l2p1, l2p2]], got {landmark_names!r}")
        (l1p1, l1p2), (l2p1, l2p2) = (
            (_landmark_name(a, f"line {i} point 1"), _landmark_name(b, f"line {i} point 2"))
            for i, (a, b) in enumerate(landmark_names, start=1)
        )
        lines = f"(line 1) the line connecting {l1p1} and {l1p2}, (line 2) the line connecting {l2p1} and {l2p2}."
        if name:
            line = f"estimate the angle of {name} in {word}, which is the angle between 2 lines: {lines}"
        else:
            line = f"estimate the angle between 2 lines in {word}: {lines}"
        steps = _ANGLE_STEPS_COT
    else:
        raise ValueError(f"metric_type must be 'distance' or 'angle', got {metric_type!r}")

    task = _image_clause(image_description) + line
    info = _additional_information(seen)
    if cot:
        return _assemble(task, info, _AD_FORMAT_COT, steps)
    return _assemble(task, info, _AD_FORMAT, None)


def doc_prompt(doc: Mapping, *, seen: SeenImage, cot: bool) -> str:
    """The prompt of one loaded doc (docs/ARCHITECTURE.md), for the image as the model sees it.

    Args:
        doc: a doc with ``family`` ("detection", "tl", "ad") and the fields its prompt names.
        seen: the image the model is shown (T/L and A/D prompts state its size and pixel size).
        cot: the model card's CoT prompt instead of the plain one.

    Raises:
        ValueError: a field the prompt needs is missing or malformed (unit, metric type, names).
    """
    family = doc["family"]
    if family == DETECTION:
        return detection_prompt(doc["label_name"], doc.get("image_description"), cot=cot)
    profile = doc["biometric_profile"]
    geometry = {"unit": profile["metric_unit"], "seen": seen}
    if family == TUMOR_LESION:
        return tumor_lesion_prompt(doc["label_name"], doc.get("image_description"), **geometry, cot=cot)
    names = list(doc["landmark_names"])
    if profile["metric_type"] == "angle":
        if len(names) != 4:
            raise ValueError(f"an angle needs 4 landmark_names (line 1, then line 2), got {len(names)}: {names}")
        names = [names[0:2], names[2:4]]  # stored flat so that Arrow holds distances and angles alike
    return biometrics_prompt(
        profile["metric_type"], doc["measurement_name"], names, doc.get("image_description"), **geometry, cot=cot
    )
