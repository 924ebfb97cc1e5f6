"""Prompts of the MedVision benchmark, byte for byte as upstream wrote them, per protocol (docs/fidelity.md).

Every prompt is built from up to four blocks, each a header line and its text:
``Task:`` / ``Additional information:`` / ``Format requirement:`` / ``Reasoning steps:``.
Detection has no ``Additional information:`` block (relative coordinates need no sizes); plain
prompts have no ``Reasoning steps:`` block. Which words fill them is the protocol's
(:mod:`medvision_tasks.protocols`):

- first-release plain prompts (``medvision_utils.py``, commits ``929f45a``..``c221615``): the pixel
  size only, ``"Given the input medical image: {description}, "`` even when the description is
  empty, detection "corner", format texts without tags;
- later plain prompts (``medvision_utils.py`` from ``fbf771c``, text constants of
  ``sft_prompts.py`` from ``a5aca77``): the image size stated, the description left out when
  empty, detection "corners", format texts asking for ``<think>/<answer>`` tags;
- CoT prompts (``sft_prompts.py`` ``5b7ac4b``..``ae6e130``, the text MedVision-V0 was trained on):
  every reasoning-steps text ends with a space before ``"\\nFollow the reasoning steps"``, and the
  angle formula has one closing parenthesis after ``||B||`` (the model card prints two).

The coordinate-only variant's prompt (:func:`coordinates_prompt`) is this package's, not upstream's:
the CoT prompt's blocks with a format asking for the points its steps name.

Names (labels, landmarks, measurements) and descriptions are printed exactly as the doc holds
them, trailing spaces included, as upstream did (``"right parietal eminence , (landmark 2)"``).

Conventions (docs/ARCHITECTURE.md): a :class:`SeenImage` holds ``size_hw``, ``(H, W)`` in pixels,
and ``pixel_size_hw``, ``(ph, pw)`` in mm, row then column; the sentences state width first, with
three decimals. Both must describe the image *as the model sees it* (docs/models.md); callers get
them from :mod:`medvision_tasks.spacing`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from medvision_tasks.families import DETECTION, METRIC_UNITS, TUMOR_LESION
from medvision_tasks.protocols import DETECTION_COT_SFT, FIRST_RELEASE_PROMPTS, Protocol

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
"""``rft_prompts.SYSTEM_PROMPT`` (``235a78f``), equal to the model card's 4.1."""

# --- Format requirements -------------------------------------------------------------------
_RELATIVE_COORDINATES = (
    "Use relative coordinates in the image space, where the origin is at the lower-left corner "
    "of the image. Relative coordinates should be values between 0 and 1, representing the "
    "relative positions in the image."
)
_BOX_ANSWER = (
    "The answer should be four decimal numbers separated by commas without any units or "
    "additional text. The first two numbers are the coordinates of the lower-left corner and "
    "the last two numbers are the coordinates of the upper-right corner of the bounding box. " + _RELATIVE_COORDINATES
)
# The first release's plain formats (FORMAT_PROMPT_* of medvision_utils.py).
_FIRST_RELEASE_FORMATS = {
    "box": _BOX_ANSWER,
    "size": (
        "The answer should be two decimal numbers separated by a comma without any units or "
        "additional text. The first is the major axis length, and the second is the minor axis "
        "length."
    ),
    "value": "The answer should be a single decimal number without any units or additional text.",
}
# Later plain formats: sft_prompts.GENERAL_FORMAT_PROMPT + a short answer text.
_TAG_REQUEST = (
    "The reasoning process and the final answer must be enclosed within <think> </think> and "
    "<answer> </answer> tags, respectively. For example: <think> reasoning process here "
    "</think> <answer> answer here </answer>. "
)
_TAGGED_FORMATS = {
    "box": _TAG_REQUEST + _BOX_ANSWER,
    "size": _TAG_REQUEST
    + (
        "The answer should be two decimal numbers separated by a comma. The first is the major "
        "axis length, and the second is the minor axis length."
    ),
    "value": _TAG_REQUEST + "The answer should be a single decimal number.",
}
# CoT formats: FORMAT_PROMPT_{TL,AD,DETECTION}_REASONING.
_ANSWER_TAG_REQUEST = "The final answer must be enclosed within <answer> </answer> tags. "
_COT_FORMATS = {
    "box": _ANSWER_TAG_REQUEST + _BOX_ANSWER,
    "size": _ANSWER_TAG_REQUEST
    + (
        "The answer should consist of two decimal numbers separated by a comma, without units or "
        "extra text. The first number is the major axis length, and the second is the minor axis "
        "length."
    ),
    "value": _ANSWER_TAG_REQUEST + "The answer should be a single decimal number without units or extra text.",
}

# Coordinate-only formats (this package's variant, not upstream's): the points the CoT steps name,
# in the order those steps name them, in the box answer's coordinate words.
_COORDINATE_ANSWERS = {
    "size": (
        "The answer should be eight decimal numbers separated by commas without any units or "
        "additional text: x1, y1, x2, y2, the two endpoints of the major axis (the longest "
        "diameter), then x3, y3, x4, y4, the two endpoints of the minor axis (the shortest "
        "diameter). "
    ),
    "distance": (
        "The answer should be four decimal numbers separated by commas without any units or "
        "additional text: x1, y1, the coordinates of landmark 1, then x2, y2, the coordinates of "
        "landmark 2. "
    ),
    "angle": (
        "The answer should be eight decimal numbers separated by commas without any units or "
        "additional text: x1, y1, x2, y2, the two endpoints of line 1, then x3, y3, x4, y4, the "
        "two endpoints of line 2. "
    ),
}
_COORDINATE_FORMATS = {
    kind: _ANSWER_TAG_REQUEST + text + "Each point is written as x, y, where x is the relative position in width "
    "and y is the relative position in height. " + _RELATIVE_COORDINATES
    for kind, text in _COORDINATE_ANSWERS.items()
}

# --- Reasoning steps (COT_INSTRUCT_*): each ends with "tags. ", the space kept -------------
_COT_REPORT = (
    "Report the reasoning process and final answer within <think> </think> and <answer> "
    "</answer> tags, respectively. Inside <think> </think>, include reasoning and step results "
    "using <step-k-reasoning> </step-k-reasoning> and <step-k-answer> </step-k-answer> tags. "
)
_COT_FOLLOW = "Follow the reasoning steps to get the final answer in the required format."
_COT_STEPS = {
    "box": (
        "Step 1: Identify the relative coordinates of the bounding box. The relative coordinates "
        "must be written as (x, y), where x is the relative position in width and y is the "
        "relative position in height. " + _COT_REPORT
    ),
    "size": (
        "Step 1: Identify the major axis (the longest diameter) of the ellipse enclosing the "
        "target region. Find its two endpoints and record their relative coordinates in the "
        "format (x, y) = (relative position in width direction, relative position in height "
        "direction). Denote the endpoints as (x1_major, y1_major) and (x2_major, y2_major). "
        "Step 2: Identify the minor axis (the shortest diameter) of the ellipse. Find its two "
        "endpoints and record their relative coordinates in the same (x, y) format. Denote them "
        "as (x1_minor, y1_minor) and (x2_minor, y2_minor). "
        "Step 3: Given the pixel dimensions (pixel_width, pixel_height) and image size "
        "(image_width, image_height), compute the physical length of the major axis using: "
        "major_axis_length = sqrt(((x2_major - x1_major) * image_width * pixel_width)^2 + "
        "((y2_major - y1_major) * image_height * pixel_height)^2). "
        "Step 4: Similarly, compute the physical length of the minor axis using: "
        "minor_axis_length = sqrt(((x2_minor - x1_minor) * image_width * pixel_width)^2 + "
        "((y2_minor - y1_minor) * image_height * pixel_height)^2). " + _COT_REPORT
    ),
    "distance": (
        "Step 1: Identify the landmark 1 and record its relative coordinates in the format "
        "(x, y) = (relative position in width direction, relative position in height "
        "direction). Denote the coordinates as (x1, y1). "
        "Step 2: Identify the landmark 2 and record its relative coordinates in the same (x, y) "
        "format. Denote the coordinates as (x2, y2). "
        "Step 3: Given the pixel dimensions (pixel_width, pixel_height) and image size "
        "(image_width, image_height), compute the physical distance between the two landmarks "
        "using: distance = sqrt(((x2 - x1) * image_width * pixel_width)^2 + ((y2 - y1) * "
        "image_height * pixel_height)^2). " + _COT_REPORT
    ),
    # One closing parenthesis after "||B||", as the constant MedVision-V0 was trained on has it.
    "angle": (
        "Step 1: Identify line 1 and record the relative coordinates of its two endpoints in the "
        "format (x, y) = (relative position in width direction, relative position in height "
        "direction). Denote the endpoints as (x1_line1, y1_line1) and (x2_line1, y2_line1). "
        "Step 2: Identify line 2 and record the relative coordinates of its two endpoints in the "
        "same (x, y) format. Denote them as (x1_line2, y1_line2) and (x2_line2, y2_line2). "
        "Step 3: Given the pixel dimensions (pixel_width, pixel_height) and image size "
        "(image_width, image_height), compute the angle between the two lines using the "
        "formula: angle = arccos(|A \u00b7 B| / (||A|| ||B||), where A and B are the vectors of "
        "the two lines computed from the physical coordinates of their endpoints. A = "
        "((x2_line1 - x1_line1) * image_width * pixel_width, (y2_line1 - y1_line1) * "
        "image_height * pixel_height) and B = ((x2_line2 - x1_line2) * image_width * "
        "pixel_width, (y2_line2 - y1_line2) * image_height * pixel_height). Denote A=(Ax, Ay) "
        "and B=(Bx, By). Then, angle = arccos(|Ax*Bx + Ay*By| / (sqrt(Ax^2 + Ay^2) * "
        "sqrt(Bx^2 + By^2))). " + _COT_REPORT
    ),
}

_UNIT_SPELLINGS = {"mm": "mm", "millimeters": "mm", "degree": "degree", "degrees": "degree"}


@dataclass(frozen=True)
class SeenImage:
    """The image a model is shown, as T/L and A/D prompts describe it.

    Attributes:
        size_hw: ``(H, W)`` in pixels.
        pixel_size_hw: ``(ph, pw)`` in mm.
    """

    size_hw: tuple[int, int]
    pixel_size_hw: tuple[float, float]


@dataclass(frozen=True)
class _Form:
    """The parts of one prompt form that differ between protocols and between plain and CoT."""

    first_release: bool  # the first release's plain prompt
    cot: bool
    sft_detection: bool  # MedVision-V0's SFT detection text ("corner", no newline before the steps)
    coordinates: bool = False  # the coordinate-only variant: the points, no measurement

    def image_clause(self, image_description: str | None) -> str:
        description = "" if image_description is None else str(image_description)
        if self.first_release:
            return f"Given the input medical image: {description}, "
        return f"Given the input medical image{': ' + description if description else ''}, "

    def format_text(self, answer: str) -> str:
        if self.coordinates:
            return _COORDINATE_FORMATS[answer]
        if self.cot and (answer != "box" or self.sft_detection):
            return _COT_FORMATS[answer]
        if self.cot:
            return _TAGGED_FORMATS[answer]  # the benchmark's detection CoT asks for both tags
        return (_FIRST_RELEASE_FORMATS if self.first_release else _TAGGED_FORMATS)[answer]

    def info_lines(self, seen: SeenImage, pixel_word: str) -> list[str]:
        """The ``Additional information:`` lines: the image size (not in the first release), the pixel size."""
        height, width, ph, pw = _checked_geometry(seen)
        pixel = f"The pixel size for this image is {pw:.3f} {pixel_word} (width) x {ph:.3f} {pixel_word} (height)."
        if self.first_release:
            return [pixel]
        return [f"The image size is {width} pixels (width) x {height} pixels (height).", pixel]

    def assemble(self, task_line: str, info_lines: Sequence[str], answer: str, steps: str) -> str:
        """``Task:`` / ``Additional information:`` / ``Format requirement:`` / ``Reasoning steps:``."""
        text = f"Task:\n{task_line}\n"
        if info_lines:
            text += "Additional information:\n" + "".join(f"{line}\n" for line in info_lines)
        text += "Format requirement:\n" + self.format_text(answer)
        if self.cot:
            # The SFT detection text glues the steps header to the format text ("image.Reasoning").
            text += ("" if self.sft_detection else "\n") + f"Reasoning steps:\n{_COT_STEPS[steps]}\n{_COT_FOLLOW}"
        return text


def _form(protocol: Protocol, cot: bool, detection: bool = False) -> _Form:
    return _Form(
        first_release=not cot and protocol.plain_prompts == FIRST_RELEASE_PROMPTS,
        cot=cot,
        sft_detection=cot and detection and protocol.detection_cot == DETECTION_COT_SFT,
    )


def _checked_geometry(seen: SeenImage) -> tuple[int, int, float, float]:
    """``(H, W, ph, pw)`` of the seen image.

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
    return int(height), int(width), ph, pw


def _name(value: object, field: str) -> str:
    """A name as the doc holds it (not stripped: upstream printed names as they are)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} must be a non-empty string, got {value!r}")
    return value


def check_unit(metric_type: str, unit: object) -> None:
    """Check a doc's ``metric_unit`` against what it measures.

    Args:
        metric_type: ``"size"`` (T/L), ``"distance"`` or ``"angle"``.
        unit: the doc's ``metric_unit``: ``"mm"`` / ``"degree"`` (or the full word), as a string or a
            one-element list (the public export's T/L form).

    Raises:
        ValueError: any other unit; prompts print the protocol's unit words, so a doc in other
            units would be asked in the wrong ones.
    """
    value = unit[0] if isinstance(unit, (list, tuple)) and len(unit) == 1 else unit
    expected = METRIC_UNITS.get(metric_type)
    if not isinstance(value, str) or _UNIT_SPELLINGS.get(value.strip()) != expected:
        raise ValueError(f"a {metric_type} must be in {expected!r}, got metric_unit {unit!r}")


def detection_prompt(label_name: str, image_description: str | None, *, cot: bool, protocol: Protocol) -> str:
    """Prompt for a bounding box around one labelled structure (no sizes are stated).

    The answer asked for is ``x0,y0,x1,y1``: relative coordinates in [0, 1], origin at the
    image's lower-left corner, lower-left corner first, then upper-right.

    Args:
        label_name: the structure, e.g. ``"liver"``.
        image_description: e.g. ``"abdominal CT scan"``; None or empty per the protocol's form.
        cot: the CoT prompt (with ``Reasoning steps:``) instead of the plain one.
        protocol: which upstream texts to print.

    Returns:
        The user prompt text.
    """
    form = _form(protocol, cot, detection=True)
    # "corner" in the first release and in the SFT text, "corners" later (612e895).
    corner = "corner" if form.first_release or form.sft_detection else "corners"
    task = (
        f"{form.image_clause(image_description)}return the coordinates of the lower-left and upper-right "
        f"{corner} of the bounding box for the {_name(label_name, 'label_name')}."
    )
    return form.assemble(task, [], "box", "box")


def tumor_lesion_prompt(
    label_name: str, image_description: str | None, *, seen: SeenImage, cot: bool, protocol: Protocol
) -> str:
    """Prompt for the major and minor axis lengths of the ellipse enclosing a tumor/lesion.

    Args:
        label_name: the lesion, e.g. ``"tumor"``.
        image_description: None or empty per the protocol's form.
        seen: the image as the model sees it (its pixel size, and but for the first release its
            size, are stated).
        cot: the CoT prompt instead of the plain one.
        protocol: which upstream texts and unit words to print.

    Returns:
        The user prompt text.
    """
    form = _form(protocol, cot)
    task = (
        f"{form.image_clause(image_description)}estimate the major and minor axis lengths of the "
        f"ellipse enclosing the {_name(label_name, 'label_name')}, in {protocol.units.task['size']}."
    )
    return form.assemble(task, form.info_lines(seen, protocol.units.pixel["size"]), "size", "size")


def _measurement_parts(metric_type: str, landmark_names: Sequence) -> tuple[str, str, str]:
    """``(what, between, elements)`` of an A/D task line: ``"distance"``, ``"distance between 2 landmark
    points"``, ``"(landmark 1) p1, (landmark 2) p2."`` (or the angle's lines).

    Raises:
        ValueError: unknown ``metric_type``, or ``landmark_names`` of the wrong shape for it.
    """
    if metric_type == "distance":
        if not isinstance(landmark_names, (list, tuple)) or len(landmark_names) != 2:
            raise ValueError(f"distance needs landmark_names [p1, p2], got {landmark_names!r}")
        p1, p2 = (_name(value, f"landmark_names p{i}") for i, value in enumerate(landmark_names, start=1))
        return "distance", "distance between 2 landmark points", f"(landmark 1) {p1}, (landmark 2) {p2}."
    if metric_type == "angle":
        if (
            not isinstance(landmark_names, (list, tuple))
            or len(landmark_names) != 2
            or any(not isinstance(line, (list, tuple)) or len(line) != 2 for line in landmark_names)
        ):
            raise ValueError(f"angle needs landmark_names [[l1p1, l1p2], [l2p1, l2p2]], got {landmark_names!r}")
        (l1p1, l1p2), (l2p1, l2p2) = (
            (_name(a, f"landmark_names line {i} point 1"), _name(b, f"landmark_names line {i} point 2"))
            for i, (a, b) in enumerate(landmark_names, start=1)
        )
        elements = f"(line 1) the line connecting {l1p1} and {l1p2}, (line 2) the line connecting {l2p1} and {l2p2}."
        return "angle", "angle between 2 lines", elements
    raise ValueError(f"metric_type must be 'distance' or 'angle', got {metric_type!r}")


def _measurement_name(measurement_name: object) -> str:
    if measurement_name is not None and not isinstance(measurement_name, str):
        raise ValueError(f"measurement_name must be text (empty for an unnamed measurement), got {measurement_name!r}")
    return measurement_name or ""


def biometrics_prompt(
    metric_type: str,
    measurement_name: str | None,
    landmark_names: Sequence,
    image_description: str | None,
    *,
    seen: SeenImage,
    cot: bool,
    protocol: Protocol,
) -> str:
    """Prompt for a landmark distance or an angle between two lines (A/D).

    Args:
        metric_type: ``"distance"`` or ``"angle"``.
        measurement_name: e.g. ``"ANB angle"``; None or ``""`` gives the benchmark's unnamed task
            line ("estimate the distance between 2 landmark points in millimeters: ...").
        landmark_names: distance: ``[p1, p2]``; angle: ``[[l1p1, l1p2], [l2p1, l2p2]]``,
            the endpoints of line 1 and line 2.
        image_description, seen, cot, protocol: as :func:`tumor_lesion_prompt` takes them.

    Returns:
        The user prompt text.

    Raises:
        ValueError: unknown ``metric_type``, ``landmark_names`` of the wrong shape for it, a
            measurement name that is not text, or a bad size.
    """
    name = _measurement_name(measurement_name)
    what, between, elements = _measurement_parts(metric_type, landmark_names)
    word = protocol.units.task[metric_type]
    if name:
        line = f"estimate the {what} of {name} in {word}, which is the {between}: {elements}"
    else:
        line = f"estimate the {between} in {word}: {elements}"
    form = _form(protocol, cot)
    task = form.image_clause(image_description) + line
    return form.assemble(task, form.info_lines(seen, protocol.units.pixel[metric_type]), "value", metric_type)


def coordinates_prompt(doc: Mapping, *, seen: SeenImage, protocol: Protocol) -> str:
    """The coordinate-only question of a T/L or A/D doc: its points, not its measurement.

    This package's variant (not upstream's): the same task blocks and ``Additional information:``
    as the CoT prompt, then a format asking for the points the CoT steps name, in the same order
    (T/L: major-axis endpoints, then minor; distance: landmark 1, then 2; angle: line 1's
    endpoints, then line 2's), as relative ``x, y`` with the origin at the lower-left corner, inside
    ``<answer>...</answer>``. The plugin measures them (:mod:`medvision_tasks.steps`).

    Args:
        doc: a loaded T/L or A/D doc (docs/ARCHITECTURE.md).
        seen: the image the model is shown (its size and pixel size are stated).
        protocol: the unit words to print.

    Raises:
        ValueError: a detection doc (its answer is points already), or a field the prompt needs is
            missing or malformed.
    """
    form = _Form(first_release=False, cot=False, sft_detection=False, coordinates=True)
    family = doc["family"]
    if family == TUMOR_LESION:
        check_unit("size", doc["biometric_profile"].get("metric_unit"))
        task = (
            f"{form.image_clause(doc.get('image_description'))}locate the endpoints of the major and minor axes "
            f"of the ellipse enclosing the {_name(doc['label_name'], 'label_name')}."
        )
        return form.assemble(task, form.info_lines(seen, protocol.units.pixel["size"]), "size", "size")
    if family == DETECTION:
        raise ValueError("detection has no coordinate-only variant: its answer is a box's corners already")
    metric_type, names = _biometric_fields(doc)
    name = _measurement_name(doc.get("measurement_name"))
    _, _, elements = _measurement_parts(metric_type, names)
    points = "the 2 landmark points" if metric_type == "distance" else "the endpoints of the 2 lines"
    line = f"locate {points} of the {metric_type} of {name}: {elements}" if name else f"locate {points}: {elements}"
    task = form.image_clause(doc.get("image_description")) + line
    return form.assemble(task, form.info_lines(seen, protocol.units.pixel[metric_type]), metric_type, metric_type)


def _biometric_fields(doc: Mapping) -> tuple[str, list]:
    """An A/D doc's checked ``metric_type`` and its landmark names as the prompts take them (angle: two lines)."""
    profile = doc["biometric_profile"]
    metric_type = profile.get("metric_type")
    if metric_type in ("distance", "angle"):
        check_unit(metric_type, profile.get("metric_unit"))
    names = list(doc["landmark_names"])
    if metric_type == "angle":
        if len(names) != 4:
            raise ValueError(f"an angle needs 4 landmark_names (line 1, then line 2), got {len(names)}: {names}")
        names = [names[0:2], names[2:4]]  # stored flat so that Arrow holds distances and angles alike
    return metric_type, names


def doc_prompt(doc: Mapping, *, seen: SeenImage, cot: bool, protocol: Protocol) -> str:
    """The prompt of one loaded doc (docs/ARCHITECTURE.md), for the image as the model sees it.

    Args:
        doc: a doc with ``family`` ("detection", "tl", "ad") and the fields its prompt names.
        seen: the image the model is shown (T/L and A/D prompts state its pixel size).
        cot: the CoT prompt instead of the plain one.
        protocol: which upstream texts to print.

    Raises:
        ValueError: a field the prompt needs is missing or malformed (unit, metric type, names).
    """
    family = doc["family"]
    if family == DETECTION:
        return detection_prompt(doc["label_name"], doc.get("image_description"), cot=cot, protocol=protocol)
    profile = doc["biometric_profile"]
    if family == TUMOR_LESION:
        check_unit("size", profile.get("metric_unit"))
        return tumor_lesion_prompt(
            doc["label_name"], doc.get("image_description"), seen=seen, cot=cot, protocol=protocol
        )
    metric_type, names = _biometric_fields(doc)
    return biometrics_prompt(
        metric_type,
        doc.get("measurement_name"),
        names,
        doc.get("image_description"),
        seen=seen,
        cot=cot,
        protocol=protocol,
    )
