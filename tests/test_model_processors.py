"""Every image policy against the real processor code of the models it serves (offline, no hub).

For each policy and for square, wide, tall, tiny and huge slices, the test
1. renders the slice as the task does (``rendering.render_slice`` to ``policy.input_size``),
2. writes the prompt as the task does (``prompts.tumor_lesion_prompt`` of the published protocol
   with ``spacing.stated_pixel_size`` for ``policy.seen_size``) and reads the stated sizes back,
3. runs the image through the model's real processor class (tests/helpers/tiny_models.py: the
   transformers processor with the published checkpoint's image settings and a tiny tokenizer), or
   through the stock lmms-eval wrapper's own preprocessing function, checks the number of image
   tokens it expands to (one view, one tile), and
4. inverts the processor's rescale/normalise (and Qwen's patch flattening) to show that the pixels
   the vision tower receives are exactly the image handed over: same size, no resize, no padding,
   no extra tile;
5. checks size x stated pixel size == the slice's physical extent, within the 3-decimal rounding.

Policies whose model is meant to see its processor's resize, as upstream's runs did
(``processor_limits``: ``qwen2_5_vl_processor``, ``medvision_v0``), are checked for the size only:
the processor's grid must be exactly the size the prompt states.

The slices are random noise: any resampling, shift or padding changes pixel values, so an exact
match can only mean the processor left the image alone.
"""

from __future__ import annotations

import base64
import functools
import io
import re

import numpy as np
import pytest
import torch
from PIL import Image

from medvision_tasks.prompts import SeenImage, tumor_lesion_prompt
from medvision_tasks.protocols import PROTOCOLS
from medvision_tasks.rendering import MINMAX_NORMALIZATION, render_slice
from medvision_tasks.spacing import POLICIES, stated_pixel_size
from tests.helpers import tiny_models
from tests.helpers.tiny_models import CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD

# name -> ((H, W) pixels, (ph, pw) mm)
SLICES = {
    "square": ((512, 512), (0.7, 0.7)),
    "wide": ((256, 700), (1.2, 0.45)),
    "tall": ((700, 256), (0.45, 1.2)),
    "tiny": ((12, 20), (5.0, 3.0)),
    "huge": ((2048, 1500), (0.2, 0.25)),
}
STATED = re.compile(
    r"The image size is (\d+) pixels \(width\) x (\d+) pixels \(height\)\.\n"
    r"The pixel size for this image is ([\d.]+) mm \(width\) x ([\d.]+) mm \(height\)\."
)
PUBLISHED = PROTOCOLS["published"]
# Worst error of a value reconstructed from normalised float32 pixels (0..255 scale).
PIXEL_TOLERANCE = 1e-3


def handed_over(policy_name: str, slice_name: str) -> tuple[Image.Image, np.ndarray, tuple[int, int]]:
    """The image the task hands the model, its grey uint8 pixels, and the size its prompt states.

    Also asserts that the prompt's size x pixel size equals the slice's extent (mm).
    """
    (height, width), (ph, pw) = SLICES[slice_name]
    raw = np.random.default_rng(height * 10007 + width).normal(100.0, 40.0, size=(height, width))
    policy = POLICIES[policy_name]
    handed = policy.input_size((height, width))
    seen = policy.seen_size(handed)
    image = render_slice(raw, handed, protocol=PUBLISHED, normalization=MINMAX_NORMALIZATION)
    prompt = tumor_lesion_prompt(
        "tumor",
        "abdominal CT scan",
        seen=SeenImage(seen, stated_pixel_size((height, width), (ph, pw), seen)),
        cot=False,
        protocol=PUBLISHED,
    )
    match = STATED.search(prompt)
    assert match, prompt
    stated_w, stated_h = int(match.group(1)), int(match.group(2))
    stated_pw, stated_ph = float(match.group(3)), float(match.group(4))
    assert image.size == (handed[1], handed[0])  # PIL sizes are (W, H)
    assert (stated_h, stated_w) == seen
    # Physical extent kept: the pixel size prints with 3 decimals, so each stated pixel is within
    # 0.0005 mm of exact and the extent within stated_size * 0.0005 mm.
    assert abs(stated_h * stated_ph - height * ph) <= stated_h * 0.0005 + 1e-9
    assert abs(stated_w * stated_pw - width * pw) <= stated_w * 0.0005 + 1e-9
    grey = np.asarray(image)[:, :, 0]
    return image, grey, (stated_h, stated_w)


def denormalize(pixel_values: torch.Tensor, mean, std, rescale: float = 1 / 255) -> torch.Tensor:
    """Undo ``(x * rescale - mean) / std`` on a (C, H, W) tensor; returns 0..255 values."""
    mean = torch.tensor(mean, dtype=torch.float64)[:, None, None]
    std = torch.tensor(std, dtype=torch.float64)[:, None, None]
    return (pixel_values.to(torch.float64) * std + mean) / rescale


def assert_same_pixels(reconstructed: torch.Tensor, grey: np.ndarray) -> None:
    """Every channel of the reconstructed (C, H, W) image equals the grey image handed over."""
    assert tuple(reconstructed.shape[-2:]) == grey.shape
    difference = (reconstructed - torch.from_numpy(grey.astype(np.float64))[None]).abs().max().item()
    assert difference < PIXEL_TOLERANCE, f"processor changed the pixels (max |diff| {difference:.3f})"


# --- Qwen2-VL family (Qwen2.5-VL, Lingshu, MedVision-V0, Qwen2-VL) --------------------------------


def qwen_unpatchify(pixel_values: torch.Tensor, grid_thw, patch: int = 14, merge: int = 2, temporal: int = 2):
    """Invert Qwen2VLImageProcessor's patch flattening of one image: (gh*gw, C*T*p*p) -> (C, H, W)."""
    _, grid_h, grid_w = (int(v) for v in grid_thw)
    blocks = pixel_values.reshape(grid_h // merge, grid_w // merge, merge, merge, 3, temporal, patch, patch)
    blocks = blocks[:, :, :, :, :, 0]  # the temporal copies are identical for a still image
    return blocks.permute(4, 0, 2, 5, 1, 3, 6).reshape(3, grid_h * patch, grid_w * patch)


@functools.cache
def processor_of(family: str, *args):
    """The full transformers processor of a family (tests/helpers/tiny_models.py), built once."""
    return getattr(tiny_models, f"build_{family}_processor")(*args)


def processed(processor_name: str, policy_name: str, slice_name: str, image_token: str, **options):
    """A stock processor's output for a slice handed over under a policy, the image token in the text.

    Returns:
        ``(processor, output, grey slice as handed over, stated (H, W))``.
    """
    processor = processor_of(processor_name)
    image, grey, stated_hw = handed_over(policy_name, slice_name)
    out = processor(images=[image], text=[f"{image_token} question"], return_tensors="pt", **options)
    return processor, out, grey, stated_hw


def qwen_processor(min_pixels: int, max_pixels: int):
    return processor_of("qwen2_5_vl", min_pixels, max_pixels)


def assert_qwen_passes_unchanged(processor, image: Image.Image, grey: np.ndarray | None, stated_hw) -> None:
    """Grid x 14 == the stated size, one token per 28 x 28 pixels, and (given ``grey``) same pixels."""
    text = "<|vision_start|><|image_pad|><|vision_end|>question"
    out = processor(images=[image], text=[text], return_tensors="pt")
    grid = out["image_grid_thw"][0].tolist()
    assert [grid[1] * 14, grid[2] * 14] == list(stated_hw)
    image_tokens = out["input_ids"][0].tolist().count(processor.image_token_id)
    assert image_tokens == (stated_hw[0] // 28) * (stated_hw[1] // 28)
    if grey is not None:
        image_processor = processor.image_processor
        pixels = qwen_unpatchify(out["pixel_values"], grid)
        assert_same_pixels(denormalize(pixels, image_processor.image_mean, image_processor.image_std), grey)


QWEN_LIMITS = {
    # the stock lmms-eval qwen2_5_vl wrapper (and ours) build the processor with these
    "qwen2_5_vl": [(200704, 1605632)],
    "qwen2_vl": [(3136, 602112)],
}
# Policies whose model sees its processor's resize: the processor's own limits (Qwen2.5-VL's
# preprocessor_config.json, as MedVision-V0-7B and Lingshu ship it, and upstream's vLLM kept).
RESIZED_BY_PROCESSOR = {"qwen2_5_vl_processor": (3136, 12845056), "medvision_v0": (3136, 12845056)}


@pytest.mark.parametrize("slice_name", SLICES)
@pytest.mark.parametrize("policy_name", sorted(QWEN_LIMITS))
def test_qwen_processor_leaves_the_image_unchanged(policy_name, slice_name):
    image, grey, stated_hw = handed_over(policy_name, slice_name)
    for min_pixels, max_pixels in QWEN_LIMITS[policy_name]:
        assert_qwen_passes_unchanged(qwen_processor(min_pixels, max_pixels), image, grey, stated_hw)


@pytest.mark.parametrize("slice_name", SLICES)
@pytest.mark.parametrize("policy_name", sorted(RESIZED_BY_PROCESSOR))
def test_qwen_processor_resizes_to_exactly_the_stated_size(policy_name, slice_name):
    image, _, stated_hw = handed_over(policy_name, slice_name)
    assert_qwen_passes_unchanged(qwen_processor(*RESIZED_BY_PROCESSOR[policy_name]), image, None, stated_hw)


def test_medvision_v0_is_handed_512_and_sees_504():
    image, _, stated_hw = handed_over("medvision_v0", "wide")
    assert image.size == (512, 512) and stated_hw == (504, 504)


@pytest.mark.parametrize("slice_name", SLICES)
@pytest.mark.parametrize("policy_name", sorted(QWEN_LIMITS))
def test_stock_qwen_chat_path_resizes_nothing(policy_name, slice_name):
    """Chat path: qwen_vl_utils.process_vision_info (its defaults) first, then the processor."""
    from qwen_vl_utils import process_vision_info

    image, grey, stated_hw = handed_over(policy_name, slice_name)
    messages = [[{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "x"}]}]]
    image_inputs, _ = process_vision_info(messages)
    assert np.array_equal(np.asarray(image_inputs[0]), np.asarray(image))
    for min_pixels, max_pixels in QWEN_LIMITS[policy_name]:
        assert_qwen_passes_unchanged(qwen_processor(min_pixels, max_pixels), image_inputs[0], grey, stated_hw)


@pytest.mark.parametrize("slice_name", SLICES)
@pytest.mark.parametrize("policy_name", ["qwen2_5_vl", "qwen2_vl"])
def test_stock_qwen_simple_path_keeps_the_size(policy_name, slice_name):
    """Simple path: a JPEG data URL with the wrapper's min/max pixels, then the processor.

    The JPEG re-encoding is lossy (our wrapper sends pixels losslessly), so only sizes are compared.
    """
    from qwen_vl_utils import process_vision_info

    image, _, stated_hw = handed_over(policy_name, slice_name)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    url = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
    ((min_pixels, max_pixels),) = QWEN_LIMITS[policy_name]
    item = {"type": "image", "image": url, "min_pixels": min_pixels, "max_pixels": max_pixels}
    image_inputs, _ = process_vision_info([[{"role": "user", "content": [item]}]])
    assert image_inputs[0].size == image.size
    assert_qwen_passes_unchanged(qwen_processor(min_pixels, max_pixels), image_inputs[0], None, stated_hw)


# --- Gemma3 / MedGemma -----------------------------------------------------------------------------


@pytest.mark.parametrize("slice_name", SLICES)
def test_gemma3_processor_leaves_896_unchanged(slice_name):
    processor, out, grey, stated_hw = processed("gemma3", "gemma3_896", slice_name, "<start_of_image>")
    assert out["pixel_values"].shape == (1, 3, *stated_hw)  # one view, no pan-and-scan crops
    assert out["input_ids"][0].tolist().count(processor.tokenizer.image_token_id) == 256  # one image's tokens
    image_processor = processor.image_processor
    assert_same_pixels(denormalize(out["pixel_values"][0], image_processor.image_mean, image_processor.image_std), grey)


# --- InternVL3 / MedDr -----------------------------------------------------------------------------


@pytest.mark.parametrize("slice_name", SLICES)
@pytest.mark.parametrize("wrapper", ["internvl3", "internvl2"])
def test_stock_internvl_dynamic_preprocess_gives_one_unchanged_tile(wrapper, slice_name):
    """lmms-eval's own InternVL preprocessing (dynamic tiling, thumbnail on, its default max_num)."""
    import importlib

    module = importlib.import_module(f"lmms_eval.models.simple.{wrapper}")
    image, grey, _ = handed_over("internvl_448", slice_name)
    tiles = module.load_image(image)  # the wrapper's call: input_size 448, its default max_num
    assert tiles.shape == (1, 3, 448, 448)  # one tile, no thumbnail
    assert_same_pixels(denormalize(tiles[0], IMAGENET_MEAN, IMAGENET_STD), grey)


@pytest.mark.parametrize("slice_name", SLICES)
def test_internvl_hf_processor_gives_one_unchanged_patch(slice_name):
    # lmms-eval's internvl_hf passes min_patches=1, max_patches=12; the processor crops to patches.
    processor, out, grey, _ = processed(
        "internvl", "internvl_448", slice_name, "<IMG_CONTEXT>", min_patches=1, max_patches=12
    )
    assert out["pixel_values"].shape == (1, 3, 448, 448)  # one patch, no thumbnail
    assert out["input_ids"][0].tolist().count(processor.image_token_id) == 256  # tokens of one patch
    assert_same_pixels(denormalize(out["pixel_values"][0], IMAGENET_MEAN, IMAGENET_STD), grey)


# --- Llama-3.2-Vision --------------------------------------------------------------------------------


@pytest.mark.parametrize("slice_name", SLICES)
def test_mllama_processor_gives_one_unpadded_tile(slice_name):
    processor = processor_of("mllama")
    image, grey, _ = handed_over("mllama_560", slice_name)
    out = processor(images=[[image]], text=["<|image|> question"], return_tensors="pt")
    assert out["aspect_ratio_ids"].tolist() == [[1]]  # the 1x1 tile arrangement
    assert out["aspect_ratio_mask"].tolist() == [[[1, 0, 0, 0]]]  # the other three tiles are masked out
    image_position = out["input_ids"][0].tolist().index(processor.image_token_id)
    assert out["cross_attention_mask"][0, image_position, 0].tolist() == [1, 0, 0, 0]
    tile = out["pixel_values"][0, 0, 0]
    image_processor = processor.image_processor
    assert_same_pixels(denormalize(tile, image_processor.image_mean, image_processor.image_std), grey)


# --- LLaVA-OneVision -------------------------------------------------------------------------------


@pytest.mark.parametrize("slice_name", SLICES)
def test_llava_onevision_any_res_sees_the_image_twice_unchanged(slice_name):
    processor, out, grey, stated_hw = processed("llava_onevision", "llava_onevision_384", slice_name, "<image>")
    # The global view plus one grid cell: best resolution 384x384, no padding, no unpadding later.
    assert out["pixel_values"].shape == (1, 2, 3, 384, 384)
    assert out["image_sizes"].tolist() == [list(stated_hw)]
    # 729 tokens (27 x 27 SigLIP patches) per view + 27 row-end newlines: 729 * 2 + 27.
    assert out["input_ids"][0].tolist().count(processor.image_token_id) == 1485
    image_processor = processor.image_processor
    for view in out["pixel_values"][0]:
        assert_same_pixels(denormalize(view, image_processor.image_mean, image_processor.image_std), grey)


# --- CLIP ViT-L/14-336 (LLaVA-Med, HuatuoGPT-Vision, HealthGPT) --------------------------------------


@pytest.mark.parametrize("slice_name", SLICES)
def test_clip_336_processor_leaves_the_image_unchanged(slice_name):
    processor, out, grey, _ = processed("clip_336", "clip_336", slice_name, "<image>")
    assert out["pixel_values"].shape == (1, 3, 336, 336)
    assert out["input_ids"][0].tolist().count(processor.image_token_id) == 576  # 24 x 24 patches
    assert_same_pixels(denormalize(out["pixel_values"][0], CLIP_MEAN, CLIP_STD), grey)


def test_every_sizing_policy_is_covered_here():
    covered = set(QWEN_LIMITS) | set(RESIZED_BY_PROCESSOR)
    covered |= {"gemma3_896", "internvl_448", "mllama_560", "llava_onevision_384", "clip_336"}
    sizing = {name for name, policy in POLICIES.items() if policy.fixed_size or policy.qwen_limits}
    sizing |= {name for name, policy in POLICIES.items() if policy.processor_limits}
    assert sizing == covered


# --- negative controls: the checks above do catch a processor that resizes ---------------------------


def test_controls_a_512_slice_handed_to_qwen_unresized_is_caught():
    raw = np.random.default_rng(1).normal(size=(512, 512))
    image = render_slice(raw, (512, 512), protocol=PUBLISHED, normalization=MINMAX_NORMALIZATION)
    grey = np.asarray(image)[:, :, 0]
    with pytest.raises(AssertionError):
        assert_qwen_passes_unchanged(qwen_processor(200704, 1605632), image, grey, (512, 512))


def test_controls_an_image_one_pixel_off_is_caught_by_the_pixel_comparison():
    from transformers import Gemma3ImageProcessor

    processor = Gemma3ImageProcessor(size={"height": 896, "width": 896}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    raw = np.random.default_rng(2).normal(size=(897, 896))
    image = render_slice(raw, (897, 896), protocol=PUBLISHED, normalization=MINMAX_NORMALIZATION)
    out = processor(images=[image], return_tensors="pt")
    with pytest.raises(AssertionError):
        assert_same_pixels(
            denormalize(out["pixel_values"][0], processor.image_mean, processor.image_std),
            np.asarray(image)[:896, :, 0],
        )
