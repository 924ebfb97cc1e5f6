"""``medvision_scripted``: answers MedVision questions as MedVision-V0 does, with a scripted flaw.

It reads the doc's ground-truth points (``landmark_points``; detection: the target box's corners),
and the image and pixel size its prompt states, then answers in MedVision-V0's CoT form
(``<step-k-answer>`` points, then the measurement, as ``COT_TEMPLATE_*``), the points alone for
coordinate-only tasks, the measurement alone for plain ones. ``--model_args behaviour=...``:

- ``exact``: the true points, measured with the stated sizes;
- ``wrong_pixel_size``: the true points, measured with a wrong pixel size, 1.5 x the stated width
  and 1.2 x the stated height (sees right, computes wrong);
- ``shifted_points``: point ``i`` (from 0) moved by ``(0.04 (i + 1), 0.02 (i + 1))`` in relative
  coordinates, then measured with the stated sizes (sees wrong, computes right).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lmms_eval.api.model import lmms

from medvision_tasks.families import get_family
from medvision_tasks.steps import STEP_POINTS, Frame, measure, true_points
from medvision_tasks.variants import COORDINATES_PROMPT, variant_of_task

BEHAVIOURS = ("exact", "wrong_pixel_size", "shifted_points")
_IMAGE_SIZE = re.compile(r"The image size is (\d+) pixels \(width\) x (\d+) pixels \(height\)\.")
_PIXEL_SIZE = re.compile(r"The pixel size for this image is ([\d.]+) \w+ \(width\) x ([\d.]+) \w+ \(height\)\.")


class ScriptedMeasurer(lmms):
    """A scripted MedVision-V0: ``behaviour`` says what it gets wrong (module docstring)."""

    def __init__(self, behaviour: str = "exact", **kwargs) -> None:
        super().__init__()
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"medvision_scripted: behaviour must be one of {BEHAVIOURS}, got {behaviour!r}")
        self.behaviour = behaviour

    def answer(self, doc: Mapping, prompt: str, task: str) -> str:
        family = get_family(doc["family"])
        metric_type = family.metric_type_of(doc.get("biometric_profile"))
        points = list(true_points(doc, metric_type))
        if self.behaviour == "shifted_points":
            points = [(x + 0.04 * (i + 1), y + 0.02 * (i + 1)) for i, (x, y) in enumerate(points)]
        variant = variant_of_task(task)
        if variant.prompt == COORDINATES_PROMPT:
            return "<answer>" + ", ".join(f"{v:.6f}" for point in points for v in point) + "</answer>"
        size, pixel = _IMAGE_SIZE.search(prompt), _PIXEL_SIZE.search(prompt)
        if size and pixel:  # the frame as the prompt states it (three decimals), as a model reads it
            width, height, pw, ph = int(size[1]), int(size[2]), float(pixel[1]), float(pixel[2])
            if self.behaviour == "wrong_pixel_size":
                pw, ph = 1.5 * pw, 1.2 * ph
            frame = Frame(width * pw, height * ph)
        else:  # detection states no size; its answer is the points
            frame = Frame(1.0, 1.0)
        value = measure(points, metric_type, frame)
        answer = ", ".join(f"{v:.6f}" for v in value)
        if not variant.cot:
            return f"<think> measuring </think> <answer> {answer} </answer>"
        steps, start = [], 0
        for k, count in enumerate(STEP_POINTS[metric_type], start=1):
            pairs = ", ".join(f"({x:.6f}, {y:.6f})" for x, y in points[start : start + count])
            steps.append(
                f"<step-{k}-reasoning> locating </step-{k}-reasoning> <step-{k}-answer> {pairs} </step-{k}-answer>"
            )
            start += count
        return f"<think> {' '.join(steps)} </think> <answer> ({answer}) </answer>"

    def generate_until(self, requests) -> list[str]:
        answers = []
        for request in requests:
            prompt, _gen_kwargs, _doc_to_visual, doc_id, task, split = request.args
            answers.append(self.answer(self.task_dict[task][split][doc_id], prompt, task))
        return answers

    def loglikelihood(self, requests):
        raise NotImplementedError

    def generate_until_multi_round(self, requests):
        raise NotImplementedError
