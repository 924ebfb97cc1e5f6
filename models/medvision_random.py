"""``medvision_random``: a chance-level lmms-eval model that never looks at the image.

Its rows in a report show what a model scores from the question alone: the MedVision
benchmark's random box for detection (width uniform in 1..W, then position uniform), and sizes, distances and angles drawn from fixed plausible ranges for T/L and
A/D, and uniform relative points for the coordinate-only tasks (``medvision_*_coords``). The
distributions and the per-doc seeding are documented in
:mod:`medvision_tasks.chance`, which the report's random-box baseline shares.

Usage::

    lmms-eval --include_path "$(medvision-tasks path)" --model medvision_random \\
        --model_args seed=0 --tasks medvision_detect,medvision_tl,medvision_ad \\
        --output_path runs/ --log_samples

Every answer is wrapped as ``<answer>v1,v2,...</answer>``: CoT tasks read the numbers inside
the first answer tag, plain tasks the last numbers of the whole response, so both parse it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lmms_eval.api.instance import Instance
from lmms_eval.api.model import lmms
from tqdm import tqdm

from medvision_tasks.chance import random_answer, random_points
from medvision_tasks.checkpoints import AnswerCheckpoint, answer_requests
from medvision_tasks.families import ANGLE_DISTANCE, DETECTION, get_family
from medvision_tasks.steps import point_count
from medvision_tasks.variants import COORDINATES_PROMPT, variant_of_task


def _doc_field(doc: Mapping, field: str, where: str) -> Any:
    if field not in doc or doc[field] is None:
        raise ValueError(f"medvision_random: {where} has no field {field!r}; is it a MedVision task?")
    return doc[field]


def answer_for_doc(doc: Mapping, seed: int, where: str = "doc", *, coordinates: bool = False) -> str:
    """The chance-level response text for one loaded MedVision doc.

    Args:
        doc: a loaded doc (docs/ARCHITECTURE.md): ``doc_key``, ``family``, and
            ``image_size_2d`` ``[H, W]`` pixels (detection) or ``biometric_profile.metric_type``
            (A/D).
        seed: non-negative seed of the baseline.
        where: how to name the doc in an error (task, split, doc id).
        coordinates: answer the coordinate-only question (the points) instead of the measurement.

    Returns:
        ``"<answer>v1,v2,...</answer>"`` with 4 relative box values, ``major,minor`` in mm, or
        one distance (mm) / angle (degrees); with ``coordinates``, the question's points.

    Raises:
        ValueError: the doc lacks a field the draw needs.
    """
    family = _doc_field(doc, "family", where)
    doc_key = _doc_field(doc, "doc_key", where)
    if coordinates:
        metric_type = get_family(family).metric_type_of(_doc_field(doc, "biometric_profile", where))
        points = random_points(seed, doc_key, point_count(metric_type))
        return "<answer>" + ",".join(f"{value:.6f}" for value in points) + "</answer>"
    image_size = None
    metric_type = None
    if family == DETECTION:
        image_size = _doc_field(doc, "image_size_2d", where)
    elif family == ANGLE_DISTANCE:
        metric_type = _doc_field(_doc_field(doc, "biometric_profile", where), "metric_type", where)
    values = random_answer(seed, doc_key, family, image_size_hw=image_size, metric_type=metric_type)
    decimals = get_family(family).answer.decimals
    return "<answer>" + ",".join(f"{value:.{decimals}f}" for value in values) + "</answer>"


class MedVisionRandom(lmms):
    """Chance-level baseline for the MedVision tasks (simple-model interface).

    Args:
        seed: non-negative integer; the same seed gives the same answer to the same doc
            whatever the request order (``--model_args seed=1``).
        **kwargs: other lmms-eval model arguments (batch size, device, ...) are accepted and
            ignored: nothing is loaded and nothing runs on a device.
    """

    def __init__(self, seed: int | str = 0, **kwargs: Any) -> None:
        super().__init__()
        try:
            self.seed = int(seed)
        except (TypeError, ValueError) as error:
            raise ValueError(f"medvision_random: seed must be a non-negative integer, got {seed!r}") from error
        if self.seed < 0:
            raise ValueError(f"medvision_random: seed must be a non-negative integer, got {seed!r}")
        self.checkpoint = AnswerCheckpoint.from_environment("medvision_random", {"seed": self.seed}, self.task_dict)

    def generate_until(self, requests: list[Instance]) -> list[str]:
        """One chance-level answer per request; the image is never loaded.

        Each request's ``args`` are ``(context, gen_kwargs, doc_to_visual, doc_id, task,
        split)``; the doc comes from ``self.task_dict[task][split][doc_id]``. With
        ``MEDVISION_CHECKPOINT_DIR`` set, answers are checkpointed (:mod:`medvision_tasks.checkpoints`).
        """
        return answer_requests(requests, self._answer, self.checkpoint)

    def _answer(self, requests: list[Instance], on_answer) -> list[str]:
        responses = []
        for index, request in enumerate(tqdm(requests, desc="medvision_random", disable=self.rank != 0)):
            context, gen_kwargs, _doc_to_visual, doc_id, task, split = request.args
            where = f"task {task!r} split {split!r} doc {doc_id}"
            try:
                doc = self.task_dict[task][split][doc_id]
            except (KeyError, IndexError) as error:
                raise ValueError(f"medvision_random: {where} not found in the task's docs") from error
            coordinates = variant_of_task(str(task)).prompt == COORDINATES_PROMPT
            response = answer_for_doc(doc, self.seed, where, coordinates=coordinates)
            responses.append(response)
            on_answer(index, response)
            self.cache_hook.add_partial("generate_until", (context, gen_kwargs), response)
        return responses

    def generate_until_multi_round(self, requests: list[Instance]) -> list[str]:
        """MedVision questions are single-turn: the same answers as :meth:`generate_until`."""
        return self.generate_until(requests)

    def loglikelihood(self, requests: list[Instance]) -> list[tuple[float, bool]]:
        """Not supported: the MedVision tasks are generative."""
        raise NotImplementedError("medvision_random answers generative MedVision tasks only (no loglikelihood)")
