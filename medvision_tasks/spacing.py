"""Image policies: the size the task hands a model, and the pixel size the prompt states.

A VLM measures on the image *after* its processor resized it, so the prompt must describe that
image (SPEC section 5). The task therefore resizes the slice itself, to a size the model's
processor leaves unchanged, and states that size with the pixel size scaled so the physical
extent is kept: ``H_seen * ph_seen == H * ph`` and ``W_seen * pw_seen == W * pw``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

QWEN_PATCH_FACTOR = 28
# The stock lmms-eval qwen2_5_vl wrapper's pixel limits (also Qwen2.5-VL's processor defaults
# in lmms-eval): a size inside them that is a multiple of 28 passes both of its resizes.
QWEN_MIN_PIXELS = 256 * 28 * 28
QWEN_MAX_PIXELS = 2048 * 28 * 28


def smart_resize(
    height: int,
    width: int,
    factor: int = QWEN_PATCH_FACTOR,
    min_pixels: int = QWEN_MIN_PIXELS,
    max_pixels: int = QWEN_MAX_PIXELS,
) -> tuple[int, int]:
    """Qwen2-VL's resize rule: sides to multiples of ``factor``, area within the pixel limits."""
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}x{width}")
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
    """How images are sized for one family of models.

    Attributes:
        name: policy name, as given in ``lmms_eval_specific_kwargs`` (``image_policy``).
        fixed_size: ``(H, W)`` every image is resized to, or None.
        qwen_smart_resize: resize to the Qwen2-VL fixed point of the slice's own size.
    """

    name: str
    fixed_size: tuple[int, int] | None = None
    qwen_smart_resize: bool = False

    def input_size(self, size_hw: tuple[int, int]) -> tuple[int, int]:
        """The ``(H, W)`` the task hands the model for a slice of ``size_hw`` pixels."""
        if self.fixed_size is not None:
            return self.fixed_size
        if self.qwen_smart_resize:
            return smart_resize(*size_hw)
        return (int(size_hw[0]), int(size_hw[1]))


POLICIES: dict[str, ImagePolicy] = {
    policy.name: policy
    for policy in (
        ImagePolicy("native"),
        ImagePolicy("qwen2_5_vl", qwen_smart_resize=True),
        ImagePolicy("medvision_v0", fixed_size=(504, 504)),
    )
}
DEFAULT_POLICY = "native"


def resolve_policy(lmms_eval_specific_kwargs: dict | None) -> ImagePolicy:
    """The policy named by the task's model-specific kwargs (``image_policy``), else the default."""
    name = (lmms_eval_specific_kwargs or {}).get("image_policy") or DEFAULT_POLICY
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown image_policy {name!r}; known: {', '.join(sorted(POLICIES))}") from None


def stated_pixel_size(
    size_hw: tuple[int, int], pixel_size_hw: tuple[float, float], seen_size_hw: tuple[int, int]
) -> tuple[float, float]:
    """Pixel size (mm, row then column) of the image resized to ``seen_size_hw``, same extent."""
    return (
        pixel_size_hw[0] * size_hw[0] / seen_size_hw[0],
        pixel_size_hw[1] * size_hw[1] / seen_size_hw[1],
    )


# lmms-eval `--model` name -> policy name; the YAML generator writes one kwargs entry per model.
MODEL_POLICIES: dict[str, str] = {
    "qwen2_5_vl": "qwen2_5_vl",
    "medvision_qwen2_5_vl": "qwen2_5_vl",
}
