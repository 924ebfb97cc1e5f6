"""Seeing or computing: the points behind an answer, and which of the two a wrong answer comes from.

A MedVision measurement is made in two steps, and MedVision-V0's chain of thought shows both
(model card 4.2; upstream's ``COT_TEMPLATE_*``): it *localises* points (relative coordinates in
``<step-k-answer>`` tags), then *computes* millimetres or degrees from them with the image size
and pixel size its prompt states. This module reads those points, measures them exactly, and
splits a doc's error into the two parts:

- **localisation error**: the model's points against the ground-truth points, the mean distance
  in mm on the slice, each segment's ends matched in the order that fits best (a measurement
  does not care which end comes first);
- **arithmetic error**: the final answer against the value the model's own points give with the
  stated sizes (the formula its prompt states), in the answer's unit;
- **error from the points**: that value against the target, i.e. what the final error would be
  had the arithmetic been exact. The final error is at most the sum of the two parts; each part's
  share of that sum is how much of the final error it explains.

Points are relative ``(x, y)``: x to the right, y *up* from the image's lower-left corner, in
[0, 1], as every MedVision prompt states them. Ground-truth points are pixel ``[row, col]`` of
the slice (docs' ``landmark_points``; detection: the target box's corners) and become relative
coordinates exactly as upstream's CoT data did (``sft_utils.py``): ``x = col / W``,
``y = 1 - row / H``. A relative coordinate is measured on the image's extent in mm,
``image_width * pixel_width`` by ``image_height * pixel_height`` (the seen size and the stated
pixel size; equal to the slice's own extent, which detection, stating no sizes, uses):
``sqrt(((x2 - x1) * image_width * pixel_width)^2 + ((y2 - y1) * image_height * pixel_height)^2)``
for a length, ``arccos(|A . B| / (|A| |B|))`` of the two lines' mm vectors for an angle.
The prompts print the pixel size with three decimals; the exact value is used here, so a model
computing flawlessly with the printed one differs by at most 0.0005 mm per pixel of it.

The points each question has, in the order its CoT steps (and the coordinate-only prompt) name
them (:data:`STEP_POINTS`):

========= ================================== =========================================
metric    points                             segments (ends matched in either order)
========= ================================== =========================================
box       step 1: lower-left, upper-right    the box's diagonal
size      step 1: major axis ends;           major axis, minor axis
          step 2: minor axis ends
distance  step 1: landmark 1; step 2: 2      landmark 1 to landmark 2
angle     step 1: line 1's ends; step 2:     line 1, line 2
          line 2's ends
========= ================================== =========================================

Reading is defensive: a step that is absent is ``missing``, one without enough ``(x, y)`` pairs
is ``malformed``; neither is an error, and the analysis records what it could compute.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from medvision_tasks.messages import look_up
from medvision_tasks.parsing import parse_answer

Point = tuple[float, float]

STEP_POINTS: Mapping[str, tuple[int, ...]] = {"box": (2,), "size": (2, 2), "distance": (1, 1), "angle": (2, 2)}
"""Per metric type, the points each CoT step gives, in step order (step 1 first)."""
SEGMENTS: Mapping[str, tuple[tuple[int, int], ...]] = {
    "box": ((0, 1),),
    "size": ((0, 1), (2, 3)),
    "distance": ((0, 1),),
    "angle": ((0, 1), (2, 3)),
}
"""Per metric type, the point pairs (by index) whose order a measurement ignores."""
RIGHT = 0.1
"""A part is right when its relative error is below this: the benchmark's own line (MRE < 0.1)."""

STEP_OK = "ok"
STEP_MISSING = "missing"
STEP_MALFORMED = "malformed"

_STEP_OPEN = re.compile(r"<step-(\d+)-answer>")
_STEP_CLOSE = re.compile(r"</step-(\d+)-answer>")
# Atomic: a number never gives back digits (what follows it is never a digit), so a long run of digits
# that is not a pair fails in one pass instead of trying every split of it (cubic time).
_NUMBER = r"(?>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_PAIR = re.compile(rf"[(\[]\s*({_NUMBER})\s*,\s*({_NUMBER})\s*[)\]]")


def point_count(metric_type: str) -> int:
    """How many points a question of ``metric_type`` has (box 2, size 4, distance 2, angle 4)."""
    return sum(_step_points(metric_type))


def _step_points(metric_type: str) -> tuple[int, ...]:
    return look_up(STEP_POINTS, metric_type, "metric type")


@dataclass(frozen=True)
class Frame:
    """The extent of the image in mm, on which relative coordinates are measured.

    Attributes:
        width_mm: ``image_width * pixel_width``.
        height_mm: ``image_height * pixel_height``.
    """

    width_mm: float
    height_mm: float

    @classmethod
    def of(cls, size_hw: Sequence[int], pixel_size_hw: Sequence[float]) -> Frame:
        """The frame of an image of ``(H, W)`` pixels of ``(ph, pw)`` mm.

        Raises:
            ValueError: sizes that are not two positive finite numbers each.
        """
        values = [float(v) for v in (*size_hw, *pixel_size_hw)]
        if len(values) != 4 or not all(math.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"a frame needs (H, W) and (ph, pw) > 0, got {list(size_hw)} and {list(pixel_size_hw)}")
        height, width, ph, pw = values
        return cls(width_mm=width * pw, height_mm=height * ph)

    def vector(self, start: Point, end: Point) -> tuple[float, float]:
        """From ``start`` to ``end`` in mm: ``((x2 - x1) * width_mm, (y2 - y1) * height_mm)``."""
        return ((end[0] - start[0]) * self.width_mm, (end[1] - start[1]) * self.height_mm)

    def distance(self, a: Point, b: Point) -> float:
        """The distance in mm between two relative points (the prompts' length formula)."""
        return math.hypot(*self.vector(a, b))


def relative_point(row: float, col: float, size_hw: Sequence[int]) -> Point:
    """A pixel ``(row, col)`` of an image of ``(H, W)`` as relative ``(x, y)``, y up: ``(col / W, 1 - row / H)``."""
    height, width = (float(v) for v in size_hw)
    return (float(col) / width, 1.0 - float(row) / height)


def measure(points: Sequence[Point], metric_type: str, frame: Frame) -> tuple[float, ...] | None:
    """The answer the points give, as the prompt's formula computes it.

    Args:
        points: relative points in the order of :data:`STEP_POINTS`.
        metric_type: ``box``, ``size``, ``distance`` or ``angle``.
        frame: the image's extent in mm.

    Returns:
        box: ``(x0, y0, x1, y1)``, the corners as given; size: ``(major, minor)`` mm; distance:
        ``(d,)`` mm; angle: ``(degrees,)`` in [0, 90]. None for an angle with a line of zero
        length (no angle) or of a length beyond floats.

    Raises:
        ValueError: an unknown metric type or the wrong number of points.
    """
    if len(points) != point_count(metric_type):
        raise ValueError(f"a {metric_type} needs {point_count(metric_type)} points, got {len(points)}")
    if metric_type == "box":
        return (points[0][0], points[0][1], points[1][0], points[1][1])
    if metric_type in ("size", "distance"):
        return tuple(frame.distance(points[a], points[b]) for a, b in SEGMENTS[metric_type])
    (ax, ay), (bx, by) = frame.vector(points[0], points[1]), frame.vector(points[2], points[3])
    norms, dot = math.hypot(ax, ay) * math.hypot(bx, by), ax * bx + ay * by
    if not (math.isfinite(norms) and math.isfinite(dot)) or norms == 0:
        return None
    cosine = min(1.0, abs(dot) / norms)
    return (math.degrees(math.acos(cosine)),)


def step_tags(response: str) -> list[tuple[str, str]]:
    """Every ``<step-k-answer>...</step-k-answer>`` of a response, in order: ``(k as written, text)``.

    What ``re.finditer(r"<step-(\\d+)-answer>(.*?)</step-\\1-answer>", response, re.DOTALL)`` finds
    (a tag closes with the same digits; tags inside a matched one are skipped; an unclosed tag is
    passed over), in O(n log n): the closing tags are indexed once by number, and each opening tag
    looks up the first closing tag after it. The regex rescans to the end for every unclosed tag.
    """
    closings: dict[str, list[int]] = {}
    for match in _STEP_CLOSE.finditer(response):
        closings.setdefault(match.group(1), []).append(match.start())
    tags, resume = [], 0
    for match in _STEP_OPEN.finditer(response):
        if match.start() < resume:
            continue
        number = match.group(1)
        starts = closings.get(number, ())
        index = bisect.bisect_left(starts, match.end())
        if index == len(starts):
            continue
        end = starts[index]
        tags.append((number, response[match.end() : end]))
        resume = end + len(f"</step-{number}-answer>")
    return tags


def read_steps(response: str | None, metric_type: str) -> tuple[tuple[str, ...], tuple[Point, ...] | None]:
    """The points of a CoT answer's ``<step-k-answer>`` tags; never raises on the response.

    Step ``k`` (1, 2, ... per :data:`STEP_POINTS`) is its first ``<step-k-answer>...</step-k-answer>``;
    its points are the last ``(x, y)`` (or ``[x, y]``) pairs it holds, as many as the step gives.

    Returns:
        Per step ``ok``, ``missing`` (no such tag) or ``malformed`` (too few pairs, or a value
        that is not finite); the points of all steps in order when every step is ``ok``, else None.
    """
    expected = _step_points(metric_type)
    found: dict[int, str] = {}
    if isinstance(response, str):
        for number, text in step_tags(response):
            found.setdefault(int(number), text)
    status, points = [], []
    for step, count in enumerate(expected, start=1):
        if step not in found:
            status.append(STEP_MISSING)
            continue
        pairs = [(float(x), float(y)) for x, y in _PAIR.findall(found[step])][-count:]
        if len(pairs) < count or not all(math.isfinite(v) for pair in pairs for v in pair):
            status.append(STEP_MALFORMED)
            continue
        status.append(STEP_OK)
        points.extend(pairs)
    return tuple(status), (tuple(points) if all(s == STEP_OK for s in status) else None)


def read_coordinates(response: str | None, metric_type: str) -> tuple[Point, ...] | None:
    """The points of a coordinate-only answer: the last ``2 x points`` numbers inside ``<answer>``, or None."""
    values = parse_answer(response, 2 * point_count(metric_type), require_answer_tag=True)
    if values is None:
        return None
    return tuple((values[i], values[i + 1]) for i in range(0, len(values), 2))


def true_points(doc: Mapping, metric_type: str) -> tuple[Point, ...] | None:
    """The doc's ground-truth points as relative ``(x, y)``, in the order of :data:`STEP_POINTS`.

    Detection: the target box's lower-left and upper-right corners. T/L and A/D: the doc's
    ``landmark_points`` (pixel ``[row, col]`` of the slice), None when the doc has none.
    """
    if metric_type == "box":
        x0, y0, x1, y1 = (float(v) for v in doc["target"])
        return ((x0, y0), (x1, y1))
    points = doc.get("landmark_points")
    if not points:
        return None
    size = doc["image_size_2d"]
    return tuple(relative_point(row, col, size) for row, col in points)


def localisation_error(points: Sequence[Point], truth: Sequence[Point], metric_type: str, frame: Frame) -> float:
    """Mean distance in mm from each point to its true point, each segment's ends in the order that fits best."""
    distances = []
    for a, b in SEGMENTS[metric_type]:
        as_given = frame.distance(points[a], truth[a]) + frame.distance(points[b], truth[b])
        swapped = frame.distance(points[a], truth[b]) + frame.distance(points[b], truth[a])
        distances.append(min(as_given, swapped))
    return sum(distances) / len(points)


def value_error(answer: Sequence[float], value: Sequence[float], metric_type: str, frame: Frame) -> float:
    """How far an answer is from a value: mean ``|a - v|`` in the unit, or for a box the mean corner distance in mm."""
    if metric_type == "box":
        corners = [((answer[0], answer[1]), (value[0], value[1])), ((answer[2], answer[3]), (value[2], value[3]))]
        return sum(frame.distance(a, v) for a, v in corners) / 2
    return sum(abs(a - v) for a, v in zip(answer, value)) / len(value)


def relative_value_error(
    answer: Sequence[float], value: Sequence[float], target: Sequence[float], metric_type: str, frame: Frame
) -> float:
    """:func:`value_error` relative to the target: mean ``|a - v| / t``, or for a box over the target's diagonal in mm."""
    if metric_type == "box":
        diagonal = frame.distance((target[0], target[1]), (target[2], target[3]))
        return value_error(answer, value, metric_type, frame) / diagonal
    return sum(abs(a - v) / t for a, v, t in zip(answer, value, target)) / len(value)


def truth_size(truth: Sequence[Point], metric_type: str, frame: Frame) -> float:
    """The size localisation errors are relative to: the mean length in mm of the true segments."""
    lengths = [frame.distance(truth[a], truth[b]) for a, b in SEGMENTS[metric_type]]
    return sum(lengths) / len(lengths)


def _ratio(numerator: float | None, denominator: float) -> float | None:
    return None if numerator is None or not denominator > 0 else numerator / denominator


@dataclass(frozen=True)
class StepAnalysis:
    """One answer's points and its error split into localisation and arithmetic (module docstring).

    Units: ``localisation_error`` in mm; ``arithmetic_error`` and ``error_from_points`` in the
    record's unit (mm, degrees), for a box in mm (mean corner distance); the ``*_rel`` values are
    fractions: over the true segments' mean length (localisation), over the target (the others;
    a box: over its diagonal in mm).

    Attributes:
        status: per CoT step ``ok``, ``missing`` or ``malformed``; None for a coordinate-only answer.
        points: the model's points, relative ``(x, y)``; None when they could not be read.
        true_points: the doc's points, relative; None when the doc has none.
        frame_mm: ``(width, height)`` in mm of the image the coordinates are measured on.
        points_value: what the model's points measure (:func:`measure`); None without points.
        localisation_error, localisation_rel: the points against the true points.
        arithmetic_error, arithmetic_rel: the final answer against ``points_value``; None for a
            coordinate-only answer (the plugin did the arithmetic) or without a readable answer.
        error_from_points, error_from_points_rel: ``points_value`` against the target.
    """

    status: tuple[str, ...] | None
    points: tuple[Point, ...] | None
    true_points: tuple[Point, ...] | None
    frame_mm: tuple[float, float]
    points_value: tuple[float, ...] | None = None
    localisation_error: float | None = None
    localisation_rel: float | None = None
    arithmetic_error: float | None = None
    arithmetic_rel: float | None = None
    error_from_points: float | None = None
    error_from_points_rel: float | None = None

    @property
    def arithmetic_share(self) -> float | None:
        """The arithmetic part's share of the two relative parts (0..1); None when either is unknown or both are 0."""
        parts = (self.arithmetic_rel, self.error_from_points_rel)
        if None in parts or sum(parts) == 0:  # type: ignore[arg-type]
            return None
        return parts[0] / sum(parts)  # type: ignore[operator, arg-type]

    @property
    def localisation_share(self) -> float | None:
        """The error from the points' share (``1 - arithmetic_share``)."""
        share = self.arithmetic_share
        return None if share is None else 1.0 - share

    @property
    def sees_right(self) -> bool | None:
        """The points lie within :data:`RIGHT` of the true segments' size; None when unknown."""
        return None if self.localisation_rel is None else self.localisation_rel < RIGHT

    @property
    def computes_right(self) -> bool | None:
        """The answer lies within :data:`RIGHT` of what its points give (relative to the target); None when unknown."""
        return None if self.arithmetic_rel is None else self.arithmetic_rel < RIGHT

    def to_dict(self) -> dict[str, Any]:
        """JSON data; the shares are written for a reader (and not read back: they are derived)."""
        return {
            "status": None if self.status is None else list(self.status),
            "points": None if self.points is None else [list(p) for p in self.points],
            "true_points": None if self.true_points is None else [list(p) for p in self.true_points],
            "frame_mm": list(self.frame_mm),
            "points_value": None if self.points_value is None else list(self.points_value),
            "localisation_error": self.localisation_error,
            "localisation_rel": self.localisation_rel,
            "arithmetic_error": self.arithmetic_error,
            "arithmetic_rel": self.arithmetic_rel,
            "error_from_points": self.error_from_points,
            "error_from_points_rel": self.error_from_points_rel,
            "localisation_share": self.localisation_share,
            "arithmetic_share": self.arithmetic_share,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str) -> StepAnalysis:
        """Read what :meth:`to_dict` wrote.

        Raises:
            ValueError: naming ``where`` and the field: not an object, an unknown step status,
                points that are not lists of two finite numbers, a frame that is not two positive
                numbers, an error that is neither null nor a finite number.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: record field 'steps' must be an object, got {type(data).__name__}")

        def fail(name: str, expected: str) -> ValueError:
            return ValueError(f"{where}: record field 'steps.{name}' must be {expected}, got {data.get(name)!r}")

        def numbers(name: str, value: Any) -> tuple[float, ...]:
            if not isinstance(value, (list, tuple)) or not all(_finite(v) for v in value):
                raise fail(name, "a list of finite numbers or null")
            return tuple(float(v) for v in value)

        def points(name: str) -> tuple[Point, ...] | None:
            value = data.get(name)
            if value is None:
                return None
            if not isinstance(value, (list, tuple)) or not all(
                isinstance(p, (list, tuple)) and len(p) == 2 for p in value
            ):
                raise fail(name, "a list of [x, y] pairs or null")
            return tuple((float(x), float(y)) for x, y in (numbers(name, p) for p in value))

        def error(name: str) -> float | None:
            value = data.get(name)
            if value is None:
                return None
            if not _finite(value):
                raise fail(name, "a finite number or null")
            return float(value)

        status = data.get("status")
        if status is not None:
            known = (STEP_OK, STEP_MISSING, STEP_MALFORMED)
            if not isinstance(status, (list, tuple)) or not all(s in known for s in status):
                raise fail("status", f"a list of {', '.join(known)} or null")
            status = tuple(status)
        frame = data.get("frame_mm")
        if not isinstance(frame, (list, tuple)) or len(frame) != 2 or not all(_finite(v) and v > 0 for v in frame):
            raise fail("frame_mm", "two positive numbers")
        value = data.get("points_value")
        return cls(
            status=status,
            points=points("points"),
            true_points=points("true_points"),
            frame_mm=(float(frame[0]), float(frame[1])),
            points_value=None if value is None else numbers("points_value", value),
            localisation_error=error("localisation_error"),
            localisation_rel=error("localisation_rel"),
            arithmetic_error=error("arithmetic_error"),
            arithmetic_rel=error("arithmetic_rel"),
            error_from_points=error("error_from_points"),
            error_from_points_rel=error("error_from_points_rel"),
        )


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def analyse(
    points: Sequence[Point] | None,
    truth: Sequence[Point] | None,
    answer: Sequence[float] | None,
    target: Sequence[float],
    metric_type: str,
    frame: Frame,
    *,
    status: Sequence[str] | None = None,
) -> StepAnalysis:
    """Split one answer's error into localisation and arithmetic (module docstring).

    Args:
        points: the model's points (:func:`read_steps` or :func:`read_coordinates`), or None.
        truth: the doc's points (:func:`true_points`), or None.
        answer: the numbers of the final answer, or None (unreadable, or a coordinate-only
            answer, whose value the plugin computes: there is no arithmetic of the model's).
        target: the doc's target.
        metric_type: ``box``, ``size``, ``distance`` or ``angle``.
        frame: the image's extent in mm.
        status: the CoT steps' status (None for a coordinate-only answer).

    Returns:
        Every part that the inputs allow; the others None. An error that is not finite (a point
        near 1e308) leaves its part None.
    """
    frame_mm = (frame.width_mm, frame.height_mm)
    truth = None if truth is None else tuple(truth)
    base = {"status": None if status is None else tuple(status), "true_points": truth, "frame_mm": frame_mm}
    if points is None:
        return StepAnalysis(points=None, **base)
    points = tuple(points)
    value = measure(points, metric_type, frame)
    parts: dict[str, float | None] = {}
    if truth is not None:
        error = localisation_error(points, truth, metric_type, frame)
        parts["localisation_error"] = error
        parts["localisation_rel"] = _ratio(error, truth_size(truth, metric_type, frame))
    if value is not None:
        parts["error_from_points"] = value_error(value, target, metric_type, frame)
        parts["error_from_points_rel"] = relative_value_error(value, target, target, metric_type, frame)
        if answer is not None:
            parts["arithmetic_error"] = value_error(answer, value, metric_type, frame)
            parts["arithmetic_rel"] = relative_value_error(answer, value, target, metric_type, frame)
    parts = {name: (v if v is not None and math.isfinite(v) else None) for name, v in parts.items()}
    finite_value = value if value is not None and all(math.isfinite(v) for v in value) else None
    return StepAnalysis(points=points, points_value=finite_value, **base, **parts)
