"""Qwen2.5-VL for MedVision: lossless images, greedy decoding, and a check of the size the model saw.

Registered with lmms-eval (``models/__init__.py``) as ``medvision_qwen2_5_vl``, so the stock
``qwen2_5_vl`` stays what it is. Any Qwen2.5-VL checkpoint (Qwen2.5-VL-7B/32B-Instruct, Lingshu);
``medvision_v0`` (``models/medvision_v0.py``) is this class with MedVision-V0-7B's defaults.

What differs from the stock wrapper, and why:

- Images go to the processor as the task rendered them (PIL, no JPEG round trip, no
  ``qwen_vl_utils`` resize), and the processor keeps Qwen2.5-VL's own pixel limits
  (3136..12845056, its ``preprocessor_config.json``), as upstream's vLLM runs did: the task's image
  policy (``medvision_tasks.spacing``: ``qwen2_5_vl_processor``, ``medvision_v0``) hands over the
  slice (MedVision-V0: 512x512) and states the size this processor resizes it to.
- Every request is checked: the processor's grid ``(t, h, w)`` times the 14-pixel patch must equal
  the size the task meant the model to see, which the task wrote in the prompt ledger
  (``medvision_tasks.ledger``) when it built the prompt, whether or not the prompt states it (the
  first release's prompts state the pixel size only; detection prompts state nothing). A mismatch
  means the millimetres stated in the prompt are not those of the image the model saw: by default
  a ``SizeMismatchError`` stops the run; ``on_mismatch=warn`` logs every mismatching doc and a
  summary instead. Docs of other (non-MedVision) tasks are not checked.
- The user turn is the prompt, then the image, as upstream's benchmark harness sent it
  (``vllm_qwen25vl``); ``image_first=True`` puts the image first, as MedVision-V0's training data
  and its model card do.
- Decoding is always greedy (no sampling, one beam; a task's temperature is ignored) with 4096
  new tokens unless the task sets ``max_new_tokens``: MedVision-V0's CoT answers think first.
- Requests are batched (``batch_size``) with left padding, grouped by generation settings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from lmms_eval import utils
from lmms_eval.api.instance import Instance
from lmms_eval.api.model import lmms
from loguru import logger as eval_logger
from PIL import Image
from tqdm import tqdm

from medvision_tasks.checkpoints import AnswerCheckpoint, answer_requests
from medvision_tasks.ledger import LEDGER, UNKNOWN_POLICY
from medvision_tasks.prompts import SYSTEM_PROMPT
from medvision_tasks.spacing import QWEN2_5_VL_PROCESSOR_MAX_PIXELS, QWEN2_5_VL_PROCESSOR_MIN_PIXELS

PATCH_SIZE = 14  # Qwen2.5-VL vision patch (pixels); the image grid counts these patches
DEFAULT_MAX_NEW_TOKENS = 4096
# lmms-eval's default stop string is the few-shot delimiter "\n\n"; CoT answers contain blank lines
# before their <answer> tag, so that one is ignored (as the stock Qwen2.5-VL wrapper does).
IGNORED_STOP_STRINGS = {"", "\n\n"}


class SizeMismatchError(RuntimeError):
    """The model saw an image size other than the one the task meant it to see."""


@dataclass(frozen=True)
class SizeCheck:
    """What one request's image went through, in pixels as ``(H, W)``.

    Attributes:
        doc_id: the doc index within its task split.
        task: the lmms-eval task name.
        handed_hw: size of the image the task handed over.
        processed_hw: ``grid_h * 14, grid_w * 14`` from the processor's ``image_grid_thw``.
        expected_hw: the size the task meant the model to see (the prompt ledger's, which T/L and
            A/D prompts state and their pixel size describes), or None when the ledger holds no
            entry for the doc.
        image_policy: the task's image policy for the doc (``"unknown"`` without a ledger entry).
    """

    doc_id: int
    task: str
    handed_hw: tuple[int, int]
    processed_hw: tuple[int, int]
    expected_hw: tuple[int, int] | None
    image_policy: str

    @property
    def ok(self) -> bool:
        """True when the processor's grid is exactly the size the task meant the model to see."""
        return self.expected_hw is not None and self.processed_hw == self.expected_hw

    def describe(self) -> str:
        expected = "nothing (no prompt ledger entry)" if self.expected_hw is None else "{}x{}".format(*self.expected_hw)
        return (
            f"task {self.task} doc {self.doc_id}: handed {self.handed_hw[0]}x{self.handed_hw[1]}, "
            f"processor grid gives {self.processed_hw[0]}x{self.processed_hw[1]}, the task meant {expected} "
            f"(image policy {self.image_policy}; HxW pixels)"
        )


def _is_medvision_doc(doc: Mapping) -> bool:
    return isinstance(doc, Mapping) and "doc_key" in doc and "family" in doc


def _parse_bool(value: bool | str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise ValueError(f"expected a boolean, got {value!r}")


class MedVisionQwen2_5_VL(lmms):
    """lmms-eval simple model for Qwen2.5-VL checkpoints on the MedVision tasks.

    Args:
        pretrained: hub id or local folder of a Qwen2.5-VL checkpoint.
        device: torch device for the model and inputs, e.g. ``cuda``, ``cuda:1``, ``cpu``.
        device_map: transformers ``device_map`` (``auto`` shards over GPUs); defaults to ``device``.
        batch_size: requests per ``generate`` call.
        dtype: torch dtype of the weights (``bfloat16`` as the checkpoints ship).
        attn_implementation: ``sdpa``, ``flash_attention_2`` or ``eager``; transformers' default if None.
        min_pixels: image processor lower area limit (pixels); Qwen2.5-VL's own (3136).
        max_pixels: image processor upper area limit (pixels); Qwen2.5-VL's own (12845056).
        use_system_prompt: prepend MedVision-V0's system prompt (model card 4.1).
        system_prompt: a system prompt text to use instead (wins over ``use_system_prompt``);
            with neither, the chat template's default applies.
        image_first: put the image before the prompt in the user turn, as MedVision-V0's training
            data and model card do; by default the prompt comes first, as upstream's benchmark
            harness (its ``vllm_qwen25vl`` wrapper) sent every Qwen2.5-VL and MedVision-V0 request.
        max_new_tokens: generation budget when the task does not set one.
        on_mismatch: ``error`` (raise :class:`SizeMismatchError`) or ``warn`` (log and go on).
        size_log: a JSONL file to append one record per image to (doc, task, handed, processed and
            expected ``[H, W]``, image policy, whether it matched, whether the chat carried the system
            prompt): an audit trail of what the model saw.
    """

    is_simple = True
    model_name = "medvision_qwen2_5_vl"
    """The ``--model`` name, which answer checkpoints are filed under."""

    def __init__(
        self,
        pretrained: str = "Qwen/Qwen2.5-VL-7B-Instruct",
        device: str | None = "cuda",
        device_map: str | None = None,
        batch_size: int | str = 1,
        dtype: str = "bfloat16",
        attn_implementation: str | None = None,
        min_pixels: int = QWEN2_5_VL_PROCESSOR_MIN_PIXELS,
        max_pixels: int = QWEN2_5_VL_PROCESSOR_MAX_PIXELS,
        use_system_prompt: bool | str = False,
        system_prompt: str | None = None,
        image_first: bool | str = False,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        on_mismatch: str = "error",
        size_log: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__()
        from accelerate import Accelerator
        from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

        kwargs.pop("max_batch_size", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected model_args {sorted(kwargs)}")
        if on_mismatch not in ("error", "warn"):
            raise ValueError(f"on_mismatch must be 'error' or 'warn', got {on_mismatch!r}")

        accelerator = Accelerator()
        if accelerator.num_processes > 1:
            device = f"cuda:{accelerator.local_process_index}"
            device_map = device
        self._device = torch.device(device or "cpu")
        model_kwargs = {"dtype": dtype, "device_map": device_map or str(self._device)}
        if attn_implementation is not None:
            model_kwargs["attn_implementation"] = attn_implementation
        self._model = Qwen2_5_VLForConditionalGeneration.from_pretrained(pretrained, **model_kwargs).eval()
        # The pixel limits are the image processor's size bounds (transformers >= 5 spells them so).
        pixel_limits = {"shortest_edge": int(min_pixels), "longest_edge": int(max_pixels)}
        self.processor = AutoProcessor.from_pretrained(pretrained, size=pixel_limits)
        self._tokenizer = self.processor.tokenizer
        self.pretrained = pretrained
        self.batch_size_per_gpu = int(batch_size)
        self.max_new_tokens = int(max_new_tokens)
        self.on_mismatch = on_mismatch
        self.image_first = _parse_bool(image_first)
        if system_prompt:
            self.system_prompt: str | None = str(system_prompt).replace("\\n", "\n")
        elif _parse_bool(use_system_prompt):
            self.system_prompt = SYSTEM_PROMPT
        else:
            self.system_prompt = None
        self.size_checks: list[SizeCheck] = []
        self.size_log = Path(size_log) if size_log else None
        self.accelerator = accelerator
        self._rank = accelerator.local_process_index
        self._world_size = accelerator.num_processes
        # Everything but the device, the audit log and the mismatch action changes the answers.
        answer_settings = {
            "pretrained": pretrained,
            "dtype": dtype,
            "attn_implementation": attn_implementation,
            "min_pixels": int(min_pixels),
            "max_pixels": int(max_pixels),
            "system_prompt": self.system_prompt,
            "image_first": self.image_first,
            "max_new_tokens": self.max_new_tokens,
            "batch_size": self.batch_size_per_gpu,
        }
        self.checkpoint = AnswerCheckpoint.from_environment(self.model_name, answer_settings, self.task_dict)

    # --- lmms-eval plumbing ----------------------------------------------------------------------

    @property
    def model(self):
        return self._model

    @property
    def tokenizer(self):
        return self._tokenizer

    @property
    def batch_size(self) -> int:
        return self.batch_size_per_gpu

    @property
    def device(self) -> torch.device:
        return self._device

    def loglikelihood(self, requests: list[Instance]) -> list[tuple[float, bool]]:
        raise NotImplementedError(f"{type(self).__name__} only generates (MedVision tasks are generate_until)")

    def generate_until_multi_round(self, requests) -> list[str]:
        raise NotImplementedError(f"{type(self).__name__} does not run multi-round tasks")

    # --- generation ------------------------------------------------------------------------------

    def messages(self, prompt: str, images: Sequence[Image.Image]) -> list[dict]:
        """The chat for one request: optional system turn, then the prompt and the images (order: ``image_first``)."""
        pictures = [{"type": "image", "image": image} for image in images]
        text = [{"type": "text", "text": prompt.replace("<image>", "").strip()}]
        chat = [{"role": "user", "content": pictures + text if self.image_first else text + pictures}]
        if self.system_prompt:
            # plain-string content, as in the model card's quick start
            chat.insert(0, {"role": "system", "content": self.system_prompt})
        return chat

    def generate_until(self, requests: list[Instance]) -> list[str]:
        """Greedy answers, in request order, after checking every image size (see module doc).

        With ``MEDVISION_CHECKPOINT_DIR`` set, answers already checkpointed are read back and the
        others appended as each batch is decoded (:mod:`medvision_tasks.checkpoints`).
        """
        return answer_requests(requests, self._generate, self.checkpoint)

    def _generate(self, requests: list[Instance], on_answer) -> list[str]:
        def sort_key(args):
            # longest prompts first: a batch's padding is set by its first element
            return -len(self.tokenizer.encode(args[0])), args[0]

        # Each request's arguments carry its position last, so that an answer is checkpointed as it is decoded.
        numbered = [(*request.args, index) for index, request in enumerate(requests)]
        collator = utils.Collator(numbered, sort_key, grouping=True)
        answers: list[str] = []
        progress = tqdm(total=len(requests), disable=self.rank != 0, desc="Model Responding")
        for chunk in collator.get_batched(n=self.batch_size, batch_fn=None):
            prompts, all_gen_kwargs, doc_to_visuals, doc_ids, tasks, splits, positions = zip(*chunk)
            docs = [self.task_dict[task][split][doc_id] for doc_id, task, split in zip(doc_ids, tasks, splits)]
            visuals = [list(doc_to_visual(doc) or []) for doc_to_visual, doc in zip(doc_to_visuals, docs)]
            for request_visuals, doc_id, task in zip(visuals, doc_ids, tasks):
                for image in request_visuals:
                    if not isinstance(image, Image.Image):
                        raise TypeError(f"task {task} doc {doc_id}: expected PIL images, got {type(image).__name__}")
            texts = [
                self.processor.apply_chat_template(
                    self.messages(prompt, images), tokenize=False, add_generation_prompt=True
                )
                for prompt, images in zip(prompts, visuals)
            ]
            flat_images = [image for images in visuals for image in images]
            inputs = self.processor(
                text=texts,
                images=flat_images or None,
                padding=True,
                padding_side="left",
                return_tensors="pt",
            )
            self._check_sizes(docs, texts, visuals, inputs.get("image_grid_thw"), doc_ids, tasks)
            inputs = inputs.to(self.model.device)
            gen_kwargs = all_gen_kwargs[0]
            max_new_tokens = int(gen_kwargs.get("max_new_tokens") or self.max_new_tokens)
            with torch.inference_mode():
                output = self.model.generate(
                    **inputs,
                    do_sample=False,
                    num_beams=1,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                    max_new_tokens=max_new_tokens,
                    eos_token_id=self.tokenizer.eos_token_id,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new_tokens = output[:, inputs["input_ids"].shape[1] :]
            decoded = self.processor.batch_decode(
                new_tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False
            )
            stops = [stop for stop in self._stop_strings(gen_kwargs) if stop not in IGNORED_STOP_STRINGS]
            for prompt, answer, position in zip(prompts, decoded, positions):
                for stop in stops:
                    answer = answer.split(stop)[0]
                answers.append(answer)
                on_answer(position, answer)
                self.cache_hook.add_partial("generate_until", (prompt, gen_kwargs), answer)
                progress.update(1)
        progress.close()
        self._log_summary()
        return collator.get_original(answers)

    @staticmethod
    def _stop_strings(gen_kwargs: dict) -> list[str]:
        until = gen_kwargs.get("until") or []
        return [until] if isinstance(until, str) else list(until)

    def _check_sizes(self, docs, texts, visuals, grid_thw, doc_ids, tasks) -> None:
        """Compare each image's processed grid with the size the task meant; act on mismatches."""
        grids = [] if grid_thw is None else [tuple(int(v) for v in row) for row in grid_thw.tolist()]
        position = 0
        for doc, text, images, doc_id, task in zip(docs, texts, visuals, doc_ids, tasks):
            medvision = _is_medvision_doc(doc)
            stated = LEDGER.stated(doc["family"], doc["doc_key"]) if medvision else None
            for image in images:
                _, grid_h, grid_w = grids[position]
                position += 1
                if not medvision:
                    continue  # another task's doc: nothing known to check against
                check = SizeCheck(
                    doc_id=int(doc_id),
                    task=str(task),
                    handed_hw=(image.height, image.width),
                    processed_hw=(grid_h * PATCH_SIZE, grid_w * PATCH_SIZE),
                    expected_hw=stated.image_size,
                    image_policy=stated.image_policy if stated.image_size is not None else UNKNOWN_POLICY,
                )
                self.size_checks.append(check)
                self._log_check(check, system_prompt_in_chat=bool(self.system_prompt) and self.system_prompt in text)
                if check.ok:
                    continue
                message = (
                    f"{type(self).__name__}: the model does not see the image size the task meant it to see: "
                    f"{check.describe()}. The prompt's pixel size would be off by the resize factor; check the "
                    "task's image_policy for this --model (MEDVISION_IMAGE_POLICY; docs/models.md) and this "
                    "wrapper's min_pixels/max_pixels."
                )
                if self.on_mismatch == "error":
                    raise SizeMismatchError(message)
                eval_logger.warning(f"MedVision: {message}")

    def _log_check(self, check: SizeCheck, system_prompt_in_chat: bool) -> None:
        if self.size_log is None:
            return
        record = {**asdict(check), "ok": check.ok, "system_prompt_in_chat": system_prompt_in_chat}
        self.size_log.parent.mkdir(parents=True, exist_ok=True)
        with self.size_log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def _log_summary(self) -> None:
        mismatched = [check for check in self.size_checks if not check.ok]
        if mismatched:
            eval_logger.warning(
                f"MedVision: {type(self).__name__}: {len(mismatched)} of {len(self.size_checks)} images mismatched"
            )
        else:
            eval_logger.info(
                f"MedVision: {type(self).__name__}: all {len(self.size_checks)} images seen at the size the task meant"
            )
