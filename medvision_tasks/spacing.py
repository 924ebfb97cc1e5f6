"""Image policies: the size the task hands a model, the size the model sees, and the pixel size stated.

A VLM measures on the image *after* its processor resized it, so the prompt must describe that
image (docs/models.md), with the pixel size scaled so the physical extent is kept:
``H_seen * ph_seen == H * ph`` and ``W_seen * pw_seen == W * pw`` (mm).

Two ways to know what the model sees:

- The task resizes the slice itself (``scipy.ndimage.zoom`` on raw intensities, in
  :mod:`medvision_tasks.rendering`) to a size the model's processor leaves unchanged: no further
  resize, no padding, and for tiling processors exactly one tile (a thumbnail or global view, when
  the processor adds one, is then the same image again). This is the only safe way with stock
  wrappers, which cannot check what their processor did.
- The task hands over the image as upstream's runs did, and the model's Qwen processor resizes it
  (``processor_limits``): the slice at its own size for Qwen2.5-VL (upstream's vLLM kept the
  processor's limits 3136..12845056), 512x512 for MedVision-V0 (seen as 504x504). The task
  computes the processor's size with :func:`smart_resize` and states it; this package's wrappers
  (``models/``) check per request that the processor's grid is exactly that size.

``tests/test_model_processors.py`` checks every policy against the real transformers / lmms-eval
processor code.

Choosing the policy. The task YAMLs carry ``lmms_eval_specific_kwargs`` with one entry per
``--model`` name of :data:`MODEL_POLICIES` (``{<model>: {image_policy: <policy>}}``) plus
``default: {image_policy: DEFAULT_POLICY}``; lmms-eval hands the hooks the entry of the running
``--model`` name, else ``default``. The environment variable ``MEDVISION_IMAGE_POLICY`` wins over
both: server backends (``vllm``, ``openai``, ``sglang``, ...) serve a checkpoint the task cannot
see, so their entry is :data:`CHOOSE_POLICY`, which stops the run until the user names the policy.

Unknown models get :data:`DEFAULT_POLICY` (``unmapped_native``): the slice at its own size, a
one-time warning, and the policy name in every per-doc record. Why not an error: detection prompts
state no size (relative coordinates), so an unmapped model is still scored correctly there, and a
report flags the T/L and A/D records of an unmapped policy; why not silence: most processors
resize, and then the stated millimetres would be off by the resize factor.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

logger = logging.getLogger(__name__)

POLICY_ENV_VAR = "MEDVISION_IMAGE_POLICY"

QWEN_PATCH_FACTOR = 28  # Qwen2-VL / Qwen2.5-VL: 14-pixel patches merged 2x2 into one token
QWEN_MAX_ASPECT_RATIO = 200  # both smart_resize implementations refuse a longer side ratio
# The stock lmms-eval qwen2_5_vl wrapper's pixel limits (its processor is built with them).
QWEN2_5_VL_MIN_PIXELS = 256 * 28 * 28  # 200704
QWEN2_5_VL_MAX_PIXELS = 2048 * 28 * 28  # 1605632
# The stock lmms-eval qwen2_vl wrapper's pixel limits.
QWEN2_VL_MIN_PIXELS = 4 * 28 * 28  # 3136
QWEN2_VL_MAX_PIXELS = 768 * 28 * 28  # 602112
# Qwen2.5-VL's own processor limits (preprocessor_config.json of the Qwen2.5-VL checkpoints,
# MedVision-V0-7B and Lingshu): upstream's vLLM runs kept them.
QWEN2_5_VL_PROCESSOR_MIN_PIXELS = 4 * 28 * 28  # 3136
QWEN2_5_VL_PROCESSOR_MAX_PIXELS = 16384 * 28 * 28  # 12845056
# qwen_vl_utils.fetch_image's own defaults (the first resize of the stock chat path, before the
# processor's): IMAGE_MIN_TOKEN_NUM=4 and IMAGE_MAX_TOKEN_NUM=16384 tokens of 28x28 pixels.
QWEN_VL_UTILS_MIN_PIXELS = 4 * 28 * 28  # 3136
QWEN_VL_UTILS_MAX_PIXELS = 16384 * 28 * 28  # 12845056


def smart_resize(
    height: int,
    width: int,
    factor: int = QWEN_PATCH_FACTOR,
    min_pixels: int = QWEN2_5_VL_MIN_PIXELS,
    max_pixels: int = QWEN2_5_VL_MAX_PIXELS,
) -> tuple[int, int]:
    """Qwen2-VL's resize rule: the ``(H, W)`` in pixels a Qwen processor resizes to.

    Each side is rounded to a multiple of ``factor`` (at least ``factor``); if the area then
    exceeds ``max_pixels`` both sides are scaled by ``sqrt(H*W / max_pixels)`` and floored to
    multiples of ``factor``; if it is below ``min_pixels`` they are scaled by
    ``sqrt(min_pixels / (H*W))`` and ceiled. Same rule as ``qwen_vl_utils.smart_resize`` and
    ``transformers``' Qwen2-VL image processor.

    Args:
        height: rows of the input image (pixels).
        width: columns of the input image (pixels).
        factor: side multiple (pixels); 28 for Qwen2-VL and Qwen2.5-VL.
        min_pixels: smallest area (pixels) the processor accepts.
        max_pixels: largest area (pixels) the processor accepts.

    Returns:
        ``(H, W)`` in pixels.

    Raises:
        ValueError: a side is not positive, or the aspect ratio exceeds 200 (Qwen refuses it).
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}x{width} (HxW)")
    if max(height, width) / min(height, width) > QWEN_MAX_ASPECT_RATIO:
        raise ValueError(
            f"image of {height}x{width} (HxW) has an aspect ratio above {QWEN_MAX_ASPECT_RATIO}, "
            "which Qwen2-VL processors refuse"
        )
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@dataclass(frozen=True)
class ImagePolicy:
    """How the task sizes images for one family of models.

    Exactly one sizing rule gives the size handed over: ``fixed_size`` (every slice is resized to
    it), or ``qwen_limits`` (the slice goes to its Qwen smart-resize size, which must be a fixed
    point of every resize in the chain), or neither (the slice keeps its own size). The model then
    sees that size, unless ``processor_limits`` says its Qwen processor resizes it (the wrappers
    of this package check per request that the model saw :meth:`seen_size`).

    Attributes:
        name: policy name, as written in ``lmms_eval_specific_kwargs`` (``image_policy``) and in
            ``MEDVISION_IMAGE_POLICY``; also recorded per doc.
        summary: one line on the processor this policy matches (for docs and errors).
        fixed_size: ``(H, W)`` in pixels every slice is resized to, or None.
        qwen_limits: ``(min_pixels, max_pixels)`` of each Qwen smart resize the image goes through,
            the first one deciding the size; the result must be unchanged by all of them.
        processor_limits: ``(min_pixels, max_pixels)`` of the Qwen processor that resizes the image
            handed over (smart_resize), when the model is meant to see its processor's resize as
            upstream's runs did; None when the model sees the image as handed over.
        warn_unmapped: warn once that no model-specific policy was found (the default policy).
        requires_choice: refuse to size anything: the user must name a policy (server backends).
    """

    name: str
    summary: str
    fixed_size: tuple[int, int] | None = None
    qwen_limits: tuple[tuple[int, int], ...] = ()
    processor_limits: tuple[int, int] | None = None
    warn_unmapped: bool = False
    requires_choice: bool = False

    def input_size(self, size_hw: tuple[int, int]) -> tuple[int, int]:
        """The ``(H, W)`` in pixels the task hands the model for a slice of ``size_hw`` pixels.

        Raises:
            ValueError: the size is not positive, the policy needs an explicit choice
                (:data:`CHOOSE_POLICY`), or no Qwen fixed point exists for this aspect ratio.
        """
        height, width = int(size_hw[0]), int(size_hw[1])
        if height <= 0 or width <= 0:
            raise ValueError(f"slice size must be positive, got {height}x{width} (HxW)")
        if self.requires_choice:
            raise ValueError(_choose_policy_message())
        if self.warn_unmapped:
            _warn_unmapped_once()
        if self.fixed_size is not None:
            return self.fixed_size
        if self.qwen_limits:
            return _qwen_fixed_point(height, width, self.qwen_limits)
        return (height, width)

    def seen_size(self, handed_hw: tuple[int, int]) -> tuple[int, int]:
        """The ``(H, W)`` in pixels the model's vision tower sees of an image handed over at ``handed_hw``.

        Raises:
            ValueError: the processor would refuse the size (aspect ratio above 200).
        """
        if self.processor_limits is None:
            return (int(handed_hw[0]), int(handed_hw[1]))
        return smart_resize(int(handed_hw[0]), int(handed_hw[1]), QWEN_PATCH_FACTOR, *self.processor_limits)


def _qwen_fixed_point(height: int, width: int, limits: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    """Smart-resize with the first limits, then check no later resize of the chain moves it."""
    size = smart_resize(height, width, QWEN_PATCH_FACTOR, *limits[0])
    for min_pixels, max_pixels in limits:
        if smart_resize(*size, QWEN_PATCH_FACTOR, min_pixels, max_pixels) != size:
            raise ValueError(
                f"a {height}x{width} (HxW) slice has no size that Qwen's resizes with pixel limits "
                f"{list(limits)} all leave unchanged (smart_resize gives {size[0]}x{size[1]}); "
                "its aspect ratio is too extreme"
            )
    return size


_QWEN2_5_VL_CHAIN = (
    (QWEN2_5_VL_MIN_PIXELS, QWEN2_5_VL_MAX_PIXELS),  # the processor (both stock paths, our wrapper)
    (QWEN_VL_UTILS_MIN_PIXELS, QWEN_VL_UTILS_MAX_PIXELS),  # qwen_vl_utils defaults (chat path)
)
_QWEN2_5_VL_PROCESSOR_LIMITS = (QWEN2_5_VL_PROCESSOR_MIN_PIXELS, QWEN2_5_VL_PROCESSOR_MAX_PIXELS)
_QWEN2_VL_CHAIN = (
    (QWEN2_VL_MIN_PIXELS, QWEN2_VL_MAX_PIXELS),
    (QWEN_VL_UTILS_MIN_PIXELS, QWEN_VL_UTILS_MAX_PIXELS),
)

POLICIES: dict[str, ImagePolicy] = {
    policy.name: policy
    for policy in (
        ImagePolicy("native", "the slice at its own size (processors that never resize)"),
        ImagePolicy(
            "unmapped_native",
            "no policy known for this --model: the slice at its own size, with a warning",
            warn_unmapped=True,
        ),
        ImagePolicy(
            "choose",
            f"server backend: the served model is unknown, set {POLICY_ENV_VAR}",
            requires_choice=True,
        ),
        ImagePolicy(
            "qwen2_5_vl",
            "Qwen2.5-VL / Lingshu: smart_resize to multiples of 28, 200704..1605632 pixels",
            qwen_limits=_QWEN2_5_VL_CHAIN,
        ),
        ImagePolicy(
            "qwen2_vl",
            "Qwen2-VL (lmms-eval qwen2_vl): smart_resize to multiples of 28, 3136..602112 pixels",
            qwen_limits=_QWEN2_VL_CHAIN,
        ),
        ImagePolicy(
            "qwen2_5_vl_processor",
            "Qwen2.5-VL / Lingshu in this package's wrapper: the slice at its own size, resized by the "
            "processor with Qwen2.5-VL's own limits (3136..12845056 pixels), as upstream's vLLM runs",
            processor_limits=_QWEN2_5_VL_PROCESSOR_LIMITS,
        ),
        ImagePolicy(
            "medvision_v0",
            "MedVision-V0-7B: 512x512 handed over, as trained and benchmarked; Qwen2.5-VL's processor "
            "sees it as 504x504",
            fixed_size=(512, 512),
            processor_limits=_QWEN2_5_VL_PROCESSOR_LIMITS,
        ),
        ImagePolicy("gemma3_896", "Gemma3 / MedGemma: 896x896, pan-and-scan off", fixed_size=(896, 896)),
        ImagePolicy("internvl_448", "InternVL3 / MedDr: one 448x448 tile, no thumbnail", fixed_size=(448, 448)),
        ImagePolicy("mllama_560", "Llama-3.2-Vision (Mllama): one 560x560 tile, no padding", fixed_size=(560, 560)),
        ImagePolicy(
            "llava_onevision_384",
            "LLaVA-OneVision any-res: 384x384, the base view and the one grid cell are the image",
            fixed_size=(384, 384),
        ),
        ImagePolicy(
            "clip_336",
            "CLIP ViT-L/14-336 (LLaVA-Med, HuatuoGPT-Vision, HealthGPT, LLaVA-1.5): 336x336",
            fixed_size=(336, 336),
        ),
    )
}
DEFAULT_POLICY = "unmapped_native"
CHOOSE_POLICY = "choose"

# lmms-eval `--model` names (as lmms-eval 0.7.3 registers them, aliases included: the task sees
# the name as typed) -> policy. The YAML generator writes one kwargs entry per name.
MODEL_POLICIES: dict[str, str] = {
    # Qwen2.5-VL family: Qwen2.5-VL-7B/32B, Lingshu-32B (`pretrained=` picks the checkpoint).
    "qwen2_5_vl": "qwen2_5_vl",
    "qwen2_vl": "qwen2_vl",
    # This package's wrappers (models/): the Qwen2.5-VL one, MedVision-V0, the random baseline.
    "medvision_qwen2_5_vl": "qwen2_5_vl_processor",
    "medvision_v0": "medvision_v0",
    "medvision_random": "native",
    # Gemma3-27B, MedGemma-4B/27B.
    "gemma3": "gemma3_896",
    # InternVL3-38B (remote-code and -HF checkpoints); MedDr (InternVL-1.5-based remote code)
    # through internvl2, whose preprocessing is the same 448 dynamic tiling (max 6 tiles).
    "internvl3": "internvl_448",
    "internvl_hf": "internvl_448",
    "internvl2": "internvl_448",
    # Llama-3.2-11B-Vision.
    "llama_vision": "mllama_560",
    # LLaVA-OneVision-72B (original and -hf checkpoints). llava_hf also loads LLaVA-1.5 (CLIP
    # 336) checkpoints: those need MEDVISION_IMAGE_POLICY=clip_336 (docs/models.md, "Notes on the baselines").
    "llava_onevision": "llava_onevision_384",
    "llava_hf": "llava_onevision_384",
    # LLaVA-1.5-style checkpoints with CLIP-L/14-336 (LLaVA-Med v1.5).
    "llava": "clip_336",
    # Server backends: the served checkpoint is unknown to the task; the user names the policy.
    "vllm": CHOOSE_POLICY,
    "vllm_generate": CHOOSE_POLICY,
    "sglang": CHOOSE_POLICY,
    "openai": CHOOSE_POLICY,
    "openai_compatible": CHOOSE_POLICY,
    "openai_compatible_chat": CHOOSE_POLICY,
    "async_openai": CHOOSE_POLICY,
    "async_openai_compatible": CHOOSE_POLICY,
    "async_openai_compatible_chat": CHOOSE_POLICY,
    "litellm": CHOOSE_POLICY,
    "litellm_chat": CHOOSE_POLICY,
    "litellm_compatible": CHOOSE_POLICY,
}

_FIXED_POLICY_PATTERN = re.compile(r"fixed:(\d+)x(\d+)")
_warned_unmapped = False


def _choose_policy_message() -> str:
    return (
        f"image policy {CHOOSE_POLICY!r}: this --model serves a checkpoint the MedVision task cannot "
        f"see, so it cannot know the image size the served processor leaves unchanged: set {POLICY_ENV_VAR} to one of {', '.join(policy_names())} "
        f"or fixed:<H>x<W> (e.g. {POLICY_ENV_VAR}=qwen2_5_vl for Qwen2.5-VL or Lingshu, "
        f"{POLICY_ENV_VAR}=medvision_v0 for MedVision-V0-7B); see docs/models.md"
    )


def _warn_unmapped_once() -> None:
    global _warned_unmapped
    if not _warned_unmapped:
        _warned_unmapped = True
        logger.warning(
            "MedVision: no image policy is known for this --model, so slices are handed over at "
            "their own size (policy %r); if the model's processor resizes them, the image and "
            "pixel sizes stated in T/L and A/D prompts are wrong. Set %s to the model's policy "
            "(%s); see docs/models.md",
            DEFAULT_POLICY,
            POLICY_ENV_VAR,
            ", ".join(policy_names()),
        )


def policy_names() -> list[str]:
    """Names a user may give in ``MEDVISION_IMAGE_POLICY`` (besides ``fixed:<H>x<W>``)."""
    return sorted(name for name, policy in POLICIES.items() if not (policy.requires_choice or policy.warn_unmapped))


def get_policy(name: str) -> ImagePolicy:
    """The policy called ``name``: a key of :data:`POLICIES`, or ``fixed:<H>x<W>`` (pixels).

    Raises:
        ValueError: unknown name, or a fixed size that is not positive.
    """
    name = str(name).strip()
    if name in POLICIES:
        return POLICIES[name]
    match = _FIXED_POLICY_PATTERN.fullmatch(name)
    if match:
        height, width = int(match.group(1)), int(match.group(2))
        if height > 0 and width > 0:
            return ImagePolicy(name, f"user-chosen fixed size {height}x{width} (HxW)", fixed_size=(height, width))
    raise ValueError(f"unknown image_policy {name!r}; known: {', '.join(sorted(POLICIES))}, or fixed:<H>x<W>")


def resolve_policy(lmms_eval_specific_kwargs: Mapping | None) -> ImagePolicy:
    """The policy for this run: ``MEDVISION_IMAGE_POLICY`` if set, else the kwargs' ``image_policy``.

    Args:
        lmms_eval_specific_kwargs: what lmms-eval hands the hooks: the YAML entry of the running
            ``--model`` name, or the ``default`` entry merged into the whole mapping; may be None.

    Returns:
        The policy; :data:`DEFAULT_POLICY` when neither names one.

    Raises:
        ValueError: an unknown policy name (the environment variable's or the YAML's).
    """
    from_env = os.environ.get(POLICY_ENV_VAR, "").strip()
    if from_env:
        try:
            return get_policy(from_env)
        except ValueError as error:
            raise ValueError(f"{POLICY_ENV_VAR}={from_env!r}: {error}") from None
    name = (lmms_eval_specific_kwargs or {}).get("image_policy") or DEFAULT_POLICY
    return get_policy(name)


def policy_for_model(model_name: str) -> ImagePolicy:
    """The policy the task YAMLs assign to an lmms-eval ``--model`` name (no environment override)."""
    return get_policy(MODEL_POLICIES.get(model_name, DEFAULT_POLICY))


def stated_pixel_size(
    size_hw: tuple[int, int], pixel_size_hw: tuple[float, float], seen_size_hw: tuple[int, int]
) -> tuple[float, float]:
    """Pixel size (mm, row then column) of the image resized to ``seen_size_hw``, same extent.

    Args:
        size_hw: the slice's ``(H, W)`` in pixels.
        pixel_size_hw: the slice's ``(ph, pw)`` in mm.
        seen_size_hw: the ``(H, W)`` in pixels the model sees.

    Returns:
        ``(ph * H / H_seen, pw * W / W_seen)`` in mm, so ``H_seen * ph_seen == H * ph``.
    """
    return (
        pixel_size_hw[0] * size_hw[0] / seen_size_hw[0],
        pixel_size_hw[1] * size_hw[1] / seen_size_hw[1],
    )
