"""Tiny random vision-language models and processors, built offline from transformers classes.

Nothing here touches a model hub: every tokenizer is trained in memory with ``tokenizers`` on a
few hundred synthetic lines, every config is written by hand, and the weights are random.

- :func:`build_tiny_qwen2_5_vl` saves a loadable Qwen2.5-VL checkpoint folder (about 240k
  parameters, ~8 s): config, weights, tokenizer with the Qwen special tokens and a chat template,
  image/video processor files. It generates gibberish; what it exercises is the real code path
  (``from_pretrained``, chat template, image processor, vision tower, ``generate``) of the stock
  lmms-eval ``qwen2_5_vl`` wrapper and ours.
- ``build_<family>_processor`` returns the full transformers processor of each baseline family
  (Qwen2.5-VL, Gemma3, Mllama, LLaVA-OneVision, InternVL, LLaVA/CLIP-336) with the image settings
  of the published checkpoint's ``preprocessor_config.json``, which alone decide what the vision
  tower sees, and a tiny tokenizer carrying the family's image tokens.
"""

from __future__ import annotations

import json
from pathlib import Path

# Qwen2-VL's special tokens, in the order the real tokenizer numbers them after the byte-level
# vocabulary (the ids differ from the real 151643.., which only the config has to agree with).
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# Qwen2-VL's chat template, written out by hand: a system turn (a default one when the
# conversation has none), string or list content, one vision block per image or video.
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}"
    "{{ message['content'] }}"
    "{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}"
    "{{ content['text'] }}"
    "{% endif %}"
    "{% endfor %}"
    "{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_TRAINING_WORDS = [
    "the",
    "image",
    "size",
    "is",
    "pixels",
    "width",
    "height",
    "pixel",
    "size",
    "for",
    "this",
    "millimeters",
    "degrees",
    "task",
    "given",
    "input",
    "medical",
    "estimate",
    "major",
    "minor",
    "axis",
    "lengths",
    "ellipse",
    "enclosing",
    "tumor",
    "lesion",
    "kidney",
    "liver",
    "distance",
    "angle",
    "between",
    "landmark",
    "line",
    "connecting",
    "return",
    "coordinates",
    "lower",
    "left",
    "upper",
    "right",
    "corner",
    "bounding",
    "box",
    "format",
    "requirement",
    "answer",
    "should",
    "be",
    "decimal",
    "numbers",
    "separated",
    "comma",
    "without",
    "units",
    "additional",
    "text",
    "reasoning",
    "steps",
    "think",
    "step",
    "relative",
    "position",
    "assistant",
    "user",
    "system",
    "conversation",
    "solves",
    "first",
    "thinks",
    "through",
    "process",
    "internally",
    "then",
    "provides",
]


def _training_lines(count: int = 400) -> list[str]:
    """Deterministic pseudo-sentences (words, digits, punctuation) to train a tiny BPE on."""
    lines = []
    n_words = len(_TRAINING_WORDS)
    for i in range(count):
        words = [_TRAINING_WORDS[(i * 7 + k * 13) % n_words] for k in range(6 + i % 5)]
        lines.append(f"{' '.join(words)} {i % 97}.{(i * 31) % 1000:03d}, <answer>{i % 10}</answer>\n")
    return lines


def build_tiny_qwen_tokenizer(vocab_size: int = 600, named_tokens: dict[str, str] | None = None):
    """A byte-level BPE ``Qwen2Tokenizer`` with the Qwen special tokens and a chat template.

    Args:
        vocab_size: size of the trained BPE vocabulary before the special tokens are added.
        named_tokens: extra special tokens other processors look up by attribute, e.g.
            ``{"image_token": "<image>"}`` gives ``tokenizer.image_token`` and ``.image_token_id``.

    Returns:
        transformers.Qwen2Tokenizer: eos ``<|im_end|>``, pad ``<|endoftext|>``.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_training_lines(), trainer=trainer)
    model_state = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model_state["merges"]]
    tokenizer = Qwen2Tokenizer(
        vocab=model_state["vocab"],
        merges=merges,
        unk_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        errors="replace",
        model_specific_special_tokens=dict(named_tokens or {}),
    )
    extra = [token for token in (named_tokens or {}).values() if token not in QWEN_SPECIAL_TOKENS]
    tokenizer.add_special_tokens({"additional_special_tokens": list(QWEN_SPECIAL_TOKENS) + extra})
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    return tokenizer


# Qwen/Qwen2.5-VL-7B-Instruct preprocessor_config.json pixel limits (MedVision-V0-7B keeps them).
QWEN2_5_VL_CHECKPOINT_MIN_PIXELS = 3136
QWEN2_5_VL_CHECKPOINT_MAX_PIXELS = 12845056


def build_qwen2_5_vl_processor(
    min_pixels: int = QWEN2_5_VL_CHECKPOINT_MIN_PIXELS,
    max_pixels: int = QWEN2_5_VL_CHECKPOINT_MAX_PIXELS,
    tokenizer=None,
):
    """``Qwen2_5_VLProcessor``: Qwen2-VL image processor (patch 14, merge 2) with these pixel limits.

    Args:
        min_pixels: ``size['shortest_edge']``, the smallest image area (pixels) before upscaling.
        max_pixels: ``size['longest_edge']``, the largest image area (pixels) before downscaling.
        tokenizer: a tokenizer from :func:`build_tiny_qwen_tokenizer`; a new one when None.
    """
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(min_pixels=min_pixels, max_pixels=max_pixels),
        tokenizer=tokenizer if tokenizer is not None else build_tiny_qwen_tokenizer(),
        video_processor=Qwen2VLVideoProcessor(),
        chat_template=QWEN_CHAT_TEMPLATE,
    )


def build_tiny_qwen2_5_vl(
    directory: Path,
    *,
    min_pixels: int = QWEN2_5_VL_CHECKPOINT_MIN_PIXELS,
    max_pixels: int = QWEN2_5_VL_CHECKPOINT_MAX_PIXELS,
) -> Path:
    """Save a loadable, tiny, random Qwen2.5-VL checkpoint (about 200k parameters) into ``directory``.

    The folder holds what a hub checkpoint holds: ``config.json``, safetensors weights,
    ``generation_config.json``, the tokenizer files with the Qwen special tokens and a chat
    template, and the ``Qwen2VLImageProcessor`` / ``Qwen2_5_VLProcessor`` files. It loads with
    ``Qwen2_5_VLForConditionalGeneration.from_pretrained`` and ``AutoProcessor.from_pretrained``,
    so with the stock lmms-eval ``qwen2_5_vl`` wrapper and with ours.

    The vision tower keeps Qwen2.5-VL's geometry (patch 14, spatial merge 2: one visual token per
    28x28 pixels); only the widths and depths are tiny.

    Args:
        directory: folder to write (created if missing).
        min_pixels: image processor ``size['shortest_edge']`` (pixels), as the real checkpoint.
        max_pixels: image processor ``size['longest_edge']`` (pixels), as the real checkpoint.

    Returns:
        The folder, ready for ``from_pretrained``.
    """
    import torch
    from transformers import (
        GenerationConfig,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
    )

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tiny_qwen_tokenizer()
    token_id = tokenizer.convert_tokens_to_ids
    text_hidden = 64
    num_heads = 2  # head_dim 32: mrope_section must sum to head_dim / 2 = 16
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": text_hidden,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": num_heads,
            "num_key_value_heads": 1,
            "max_position_embeddings": 4096,
            "max_window_layers": 2,
            "rope_parameters": {"rope_type": "default", "mrope_section": [4, 6, 6], "rope_theta": 10000.0},
            "bos_token_id": token_id("<|endoftext|>"),
            "eos_token_id": token_id("<|im_end|>"),
            "pad_token_id": token_id("<|endoftext|>"),
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": text_hidden,
            "fullatt_block_indexes": [1],
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 112,
        },
        image_token_id=token_id("<|image_pad|>"),
        video_token_id=token_id("<|video_pad|>"),
        vision_start_token_id=token_id("<|vision_start|>"),
        vision_end_token_id=token_id("<|vision_end|>"),
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config).to(torch.bfloat16).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id,
        eos_token_id=config.text_config.eos_token_id,
        pad_token_id=config.text_config.pad_token_id,
        do_sample=False,
    )
    model.save_pretrained(directory)

    build_qwen2_5_vl_processor(min_pixels, max_pixels, tokenizer=tokenizer).save_pretrained(directory)
    return directory


# --- full processors of the other baseline families (image processor + tiny tokenizer) -----------
# Image processors carry the settings of the published checkpoints' preprocessor_config.json, the
# only part of a processor that decides what the vision tower sees; the tokenizers are tiny.

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def build_gemma3_processor():
    """``Gemma3Processor`` as google/gemma-3-27b-it and google/medgemma-*-it ship it (896 x 896)."""
    from transformers import Gemma3ImageProcessor, Gemma3Processor

    image_processor = Gemma3ImageProcessor(
        size={"height": 896, "width": 896}, image_mean=[0.5] * 3, image_std=[0.5] * 3, resample=2, do_pan_and_scan=None
    )
    tokenizer = build_tiny_qwen_tokenizer(
        named_tokens={
            "image_token": "<image_soft_token>",
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
        }
    )
    return Gemma3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_length=256)


def build_mllama_processor():
    """``MllamaProcessor`` as meta-llama/Llama-3.2-11B-Vision-Instruct ships it (560 tiles, at most 4)."""
    from transformers import MllamaImageProcessor, MllamaProcessor

    image_processor = MllamaImageProcessor(
        size={"height": 560, "width": 560}, max_image_tiles=4, resample=2, image_mean=CLIP_MEAN, image_std=CLIP_STD
    )
    tokenizer = build_tiny_qwen_tokenizer(named_tokens={"image_token": "<|image|>", "python_token": "<|python_tag|>"})
    tokenizer.add_special_tokens({"bos_token": "<|begin_of_text|>"})  # the processor prepends it
    return MllamaProcessor(image_processor=image_processor, tokenizer=tokenizer)


def build_llava_onevision_processor():
    """``LlavaOnevisionProcessor`` as llava-hf/llava-onevision-qwen2-72b-ov-hf ships it (SigLIP 384 any-res)."""
    from transformers import LlavaOnevisionImageProcessor, LlavaOnevisionProcessor, LlavaOnevisionVideoProcessor

    tokenizer = build_tiny_qwen_tokenizer(named_tokens={"image_token": "<image>", "video_token": "<video>"})
    return LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(image_mean=[0.5] * 3, image_std=[0.5] * 3),
        tokenizer=tokenizer,
        video_processor=LlavaOnevisionVideoProcessor(),
        num_image_tokens=729,  # (384 / 14)^2 SigLIP patches
        vision_feature_select_strategy="full",
    )


def build_internvl_processor():
    """``InternVLProcessor`` as OpenGVLab/InternVL3-38B-hf ships it (448 patches, 256 tokens each)."""
    from transformers import GotOcr2ImageProcessor, InternVLProcessor, InternVLVideoProcessor

    tokenizer = build_tiny_qwen_tokenizer(
        named_tokens={
            "start_image_token": "<img>",
            "end_image_token": "</img>",
            "context_image_token": "<IMG_CONTEXT>",
            "video_token": "<video>",
        }
    )
    image_processor = GotOcr2ImageProcessor(
        size={"height": 448, "width": 448},
        image_mean=IMAGENET_MEAN,
        image_std=IMAGENET_STD,
        max_patches=12,
        min_patches=1,
    )
    return InternVLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=InternVLVideoProcessor(),
        image_seq_length=256,
    )


def build_clip_336_processor():
    """``LlavaProcessor`` with CLIP ViT-L/14-336, as llava-hf/llava-1.5-7b-hf ships it."""
    from transformers import CLIPImageProcessor, LlavaProcessor

    image_processor = CLIPImageProcessor(
        size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336}, image_mean=CLIP_MEAN, image_std=CLIP_STD
    )
    tokenizer = build_tiny_qwen_tokenizer(named_tokens={"image_token": "<image>"})
    return LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # CLIP's CLS token, dropped by the "default" strategy
    )


if __name__ == "__main__":
    # The README's CPU smoke test: python -m tests.helpers.tiny_models DIR
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.helpers.tiny_models DIR  (writes a tiny random Qwen2.5-VL checkpoint)")
    print(build_tiny_qwen2_5_vl(Path(sys.argv[1])))
