"""``medvision_resume``: any lmms-eval model, with answer checkpoints so a killed run resumes.

Usage (the inner model's own model_args follow ``model=``)::

    MEDVISION_CHECKPOINT_DIR=checkpoints/ lmms-eval --include_path "$(medvision-tasks path)" \\
        --model medvision_resume --model_args model=qwen2_5_vl,pretrained=Qwen/Qwen2.5-VL-7B-Instruct \\
        --tasks medvision_tl_cot --output_path runs/ --log_samples

The inner model is built as ``--model <model>`` would build it (its chat class when it has one;
``force_simple=True`` for its simple class), and the tasks get its image policy (they pick one by
the ``--model`` name, which is ``medvision_resume`` here): ``MEDVISION_IMAGE_POLICY`` is set to the
inner name's policy unless the user set it. Its ``generate_until`` is called on
``checkpoint_every`` requests at a time (default: its batch size), and each call's answers are
appended to the checkpoint (:mod:`medvision_tasks.checkpoints`) before the next: a kill loses at
most those in flight. Requests already answered in the checkpoint are not sent to it again.
Other request types (log-likelihood, multi-round) go to the inner model unchanged, uncheckpointed.
"""

from __future__ import annotations

import os
from typing import Any

from lmms_eval.api.instance import Instance
from lmms_eval.api.model import lmms

from medvision_tasks import messages
from medvision_tasks.checkpoints import CHECKPOINT_DIR_ENV, AnswerCheckpoint, answer_requests
from medvision_tasks.spacing import MODEL_POLICIES, POLICY_ENV_VAR


def _adopt_image_policy(model: str) -> None:
    """Give the tasks the image policy of the inner ``--model`` name, which they cannot see.

    The tasks pick their policy by the ``--model`` name, here ``medvision_resume``; lmms-eval builds
    the model before it builds any prompt, so ``MEDVISION_IMAGE_POLICY`` set now is what the hooks
    read. A policy the user set is kept; an inner model without a policy keeps the default's warning.
    """
    if os.environ.get(POLICY_ENV_VAR, "").strip() or model not in MODEL_POLICIES:
        return
    os.environ[POLICY_ENV_VAR] = MODEL_POLICIES[model]
    messages.info(f"medvision_resume: image policy {MODEL_POLICIES[model]} of --model {model} ({POLICY_ENV_VAR})")


# Model arguments that do not change answers, left out of the checkpoint's model identity.
NOT_IDENTITY = frozenset({"device", "device_map", "max_batch_size", "checkpoint_every"})


class MedVisionResume(lmms):
    """Wraps the lmms-eval model named ``model``; checkpoints its ``generate_until`` answers.

    Args:
        model: the inner model's ``--model`` name.
        force_simple: build the inner model's simple class even when it has a chat class.
        checkpoint_every: requests per inner ``generate_until`` call, each call's answers written
            before the next (default: the inner model's ``batch_size``, at least 1).
        **model_args: the inner model's arguments (lmms-eval's ``batch_size``/``device`` included).

    Raises:
        ValueError: ``MEDVISION_CHECKPOINT_DIR`` is not set (this wrapper exists to checkpoint), or
            ``checkpoint_every`` is not a positive integer.
    """

    def __init__(
        self, model: str, force_simple: bool | str = False, checkpoint_every: int | str | None = None, **model_args: Any
    ) -> None:
        super().__init__()
        from lmms_eval.models import get_model

        simple = str(force_simple).strip().lower() in {"true", "1", "yes"}
        arguments = {key: value for key, value in model_args.items() if value is not None}
        identity_args = {key: value for key, value in arguments.items() if key not in NOT_IDENTITY}
        identity_args["force_simple"] = simple
        # Refused before the inner model loads its weights.
        self.checkpoint = AnswerCheckpoint.from_environment(model, identity_args, self.task_dict)
        if self.checkpoint is None:
            raise ValueError(
                f"MedVision error: --model medvision_resume checkpoints answers under {CHECKPOINT_DIR_ENV}, which is "
                "not set; set it to a folder (docs/reliability.md#resume) or run --model "
                f"{model} directly"
            )
        self.inner = get_model(model, force_simple=simple)(**arguments)
        # The evaluator fills lm.task_dict in place and reads lm.is_simple to build simple or chat requests.
        self.inner.task_dict = self.task_dict
        self.is_simple = bool(getattr(self.inner, "is_simple", True))
        self.checkpoint_every = self._per_write(checkpoint_every)
        _adopt_image_policy(model)

    def _per_write(self, checkpoint_every: int | str | None) -> int:
        if checkpoint_every is None:
            try:
                return max(1, int(getattr(self.inner, "batch_size", 1) or 1))
            except (TypeError, ValueError):
                return 1
        try:
            count = int(checkpoint_every)
        except (TypeError, ValueError):
            count = 0
        if count < 1:
            raise ValueError(f"MedVision error: checkpoint_every must be a positive integer, got {checkpoint_every!r}")
        return count

    # --- what the evaluator reads from a model: the inner model's --------------------------------

    @property
    def rank(self) -> int:
        return self.inner.rank

    @property
    def world_size(self) -> int:
        return self.inner.world_size

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes this wrapper lacks (accelerator, batch_size, model, ...).
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    # --- requests -------------------------------------------------------------------------------

    def generate_until(self, requests: list[Instance]) -> list:
        """The inner model's answers, from the checkpoint where it has them, else generated and checkpointed."""
        return answer_requests(requests, self._generate, self.checkpoint)

    def _generate(self, requests: list[Instance], on_answer) -> list:
        outputs: list = []
        for start in range(0, len(requests), self.checkpoint_every):
            chunk = requests[start : start + self.checkpoint_every]
            answers = self.inner.generate_until(chunk)
            if len(answers) != len(chunk):
                raise RuntimeError(
                    f"MedVision error: {type(self.inner).__name__}.generate_until returned {len(answers)} answers "
                    f"for {len(chunk)} requests"
                )
            for offset, answer in enumerate(answers):
                on_answer(start + offset, answer)
            outputs.extend(answers)
        return outputs

    def generate_until_multi_round(self, requests: list[Instance]) -> list:
        return self.inner.generate_until_multi_round(requests)

    def loglikelihood(self, requests: list[Instance]) -> list:
        return self.inner.loglikelihood(requests)
