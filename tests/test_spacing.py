"""Image policies (medvision_tasks.spacing): sizes handed over, stated pixel sizes, policy choice.

Expected sizes are worked out by hand from the smart_resize rule (docs/models.md) (the working is
in the comments), and cross-checked against the two independent implementations the stock Qwen
wrappers actually run (transformers' image processor and qwen_vl_utils).
"""

from __future__ import annotations

import itertools
import logging

import pytest

from medvision_tasks import spacing
from medvision_tasks.spacing import (
    CHOOSE_POLICY,
    DEFAULT_POLICY,
    MODEL_POLICIES,
    POLICIES,
    POLICY_ENV_VAR,
    policy_for_model,
    resolve_policy,
    smart_resize,
    stated_pixel_size,
)


@pytest.fixture(autouse=True)
def no_policy_env(monkeypatch):
    monkeypatch.delenv(POLICY_ENV_VAR, raising=False)


# (H, W) -> smart_resize(factor 28, 200704..1605632), worked by hand.
QWEN2_5_VL_CASES = [
    # 512/28 = 18.29 -> 18 * 28 = 504; 504^2 = 254016 inside the limits.
    ((512, 512), (504, 504)),
    # 112 x 84 = 9408 < 200704: beta = sqrt(200704 / 8000) = 5.0088;
    # 100 * beta / 28 = 17.89 -> 18 -> 504; 80 * beta / 28 = 14.31 -> 15 -> 420.
    ((100, 80), (504, 420)),
    # 1024/28 = 36.57 -> 37 -> 1036; 1036^2 = 1073296 inside.
    ((1024, 1024), (1036, 1036)),
    # 2044^2 > 1605632: beta = sqrt(2048^2 / 1605632) = 1.61623; 2048 / beta / 28 = 45.26 -> 45 -> 1260.
    ((2048, 2048), (1260, 1260)),
    # 252 x 700 = 176400 < 200704: beta = sqrt(200704 / 179200) = 1.05830;
    # 256 * beta / 28 = 9.68 -> 10 -> 280; 700 * beta / 28 = 26.46 -> 27 -> 756.
    ((256, 700), (280, 756)),
    ((700, 256), (756, 280)),
    # 12 x 20: beta = sqrt(200704 / 240) = 28.918; 12 * beta / 28 = 12.39 -> 13 -> 364;
    # 20 * beta / 28 = 20.66 -> 21 -> 588.
    ((12, 20), (364, 588)),
    # Already a fixed point: 448 = 16 * 28, 448 * 672 = 301056 inside.
    ((448, 672), (448, 672)),
]


@pytest.mark.parametrize(("size", "expected"), QWEN2_5_VL_CASES)
def test_smart_resize_matches_hand_computation(size, expected):
    assert smart_resize(*size) == expected
    assert POLICIES["qwen2_5_vl"].input_size(size) == expected


def test_qwen2_vl_policy_uses_the_qwen2_vl_wrapper_limits():
    # 1036^2 > 602112: beta = sqrt(1024^2 / 602112) = 1.31966; 1024 / beta / 28 = 27.71 -> 27 -> 756.
    assert POLICIES["qwen2_vl"].input_size((1024, 1024)) == (756, 756)
    # Inside 3136..602112 no area scaling: 100 -> 112 (round 3.57 -> 4), 80 -> 84 (2.86 -> 3).
    assert POLICIES["qwen2_vl"].input_size((100, 80)) == (112, 84)


def test_medvision_v0_is_handed_512_and_sees_504_as_the_model_card_says():
    policy = POLICIES["medvision_v0"]
    assert policy.input_size((512, 512)) == (512, 512)
    assert policy.input_size((240, 320)) == (512, 512)
    # 512 / 28 = 18.3 -> 18 * 28 = 504 per side, 254016 pixels within 3136..12845056.
    assert policy.seen_size((512, 512)) == (504, 504)


@pytest.mark.parametrize(
    ("slice_hw", "seen_hw"),
    [
        ((182, 218), (168, 224)),  # BraTS24: 182/28 = 6.5 -> 6 * 28 (round half to even), 218/28 = 7.8 -> 8 * 28
        ((2400, 1935), (2408, 1932)),  # Ceph-Biometrics-400: 86 and 69 patches, 4.65 M pixels < 12.8 M
        ((256, 256), (252, 252)),  # FeTA24
        # 28 x 56 after rounding is below 3,136 pixels: both sides scaled by sqrt(3136 / 2000) = 1.252 and
        # ceiled to multiples of 28: 40 * 1.252 / 28 = 1.79 -> 2, 50 * 1.252 / 28 = 2.24 -> 3.
        ((40, 50), (56, 84)),
    ],
)
def test_qwen2_5_vl_processor_policy_hands_the_slice_and_states_the_processors_size(slice_hw, seen_hw):
    policy = POLICIES["qwen2_5_vl_processor"]
    assert policy.input_size(slice_hw) == slice_hw
    assert policy.seen_size(slice_hw) == seen_hw


def test_policies_without_processor_limits_see_what_they_are_handed():
    for name in ("qwen2_5_vl", "gemma3_896", "native"):
        assert POLICIES[name].seen_size((123, 45)) == (123, 45)


@pytest.mark.parametrize(
    ("policy", "size"),
    [("gemma3_896", 896), ("internvl_448", 448), ("mllama_560", 560), ("llava_onevision_384", 384), ("clip_336", 336)],
)
def test_fixed_size_policies(policy, size):
    for slice_size in [(512, 512), (7, 3000), (3000, 7)]:
        assert POLICIES[policy].input_size(slice_size) == (size, size)


def test_native_keeps_the_slice():
    assert POLICIES["native"].input_size((123, 45)) == (123, 45)


SIZES = [1, 2, 5, 13, 27, 28, 29, 55, 56, 100, 255, 256, 333, 448, 511, 512, 513, 640, 1000, 1023, 1500, 2048, 4000]


def test_smart_resize_agrees_with_transformers_and_qwen_vl_utils():
    from qwen_vl_utils.vision_process import smart_resize as utils_smart_resize
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize as hf_smart_resize

    for height, width in itertools.product(SIZES, SIZES):
        if max(height, width) / min(height, width) > 200:
            continue
        ours = smart_resize(height, width, 28, 200704, 1605632)
        assert ours == utils_smart_resize(height, width, 28, 200704, 1605632), (height, width)
        if height >= 14 and width >= 14:  # transformers lacks the at-least-one-factor guard below 14
            assert ours == hf_smart_resize(height, width, 28, 200704, 1605632), (height, width)


@pytest.mark.parametrize("policy_name", ["qwen2_5_vl", "qwen2_vl"])
def test_qwen_sizes_are_fixed_points_of_both_stock_resizes(policy_name):
    """The stock chat path resizes with qwen_vl_utils' defaults, then with the processor's limits."""
    from qwen_vl_utils.vision_process import smart_resize as utils_smart_resize

    limits = {"qwen2_5_vl": (200704, 1605632), "qwen2_vl": (3136, 602112)}[policy_name]
    for height, width in itertools.product(SIZES, SIZES):
        if max(height, width) / min(height, width) > 150:
            continue
        seen = POLICIES[policy_name].input_size((height, width))
        assert seen[0] % 28 == 0 and seen[1] % 28 == 0
        assert limits[0] <= seen[0] * seen[1] <= limits[1]
        assert utils_smart_resize(*seen, 28) == seen  # qwen_vl_utils defaults, chat path
        assert utils_smart_resize(*seen, 28, *limits) == seen  # the processor


def test_aspect_ratio_over_200_is_refused_clearly():
    with pytest.raises(ValueError, match="aspect ratio"):
        POLICIES["qwen2_5_vl"].input_size((2, 500))


def test_non_positive_size_is_refused():
    with pytest.raises(ValueError, match="positive"):
        POLICIES["gemma3_896"].input_size((0, 10))


def test_stated_pixel_size_keeps_the_extent():
    # 512 px x 0.7 mm = 358.4 mm = 504 px x 0.71111 mm.
    assert stated_pixel_size((512, 512), (0.7, 0.7), (504, 504)) == pytest.approx((358.4 / 504, 358.4 / 504))
    # Anisotropic: rows 240 x 1.5 mm = 360 mm over 896 px; columns 320 x 0.5 mm = 160 mm over 896 px.
    assert stated_pixel_size((240, 320), (1.5, 0.5), (896, 896)) == pytest.approx((360 / 896, 160 / 896))


# --- choosing the policy ------------------------------------------------------------------------


def test_model_entry_names_the_policy():
    assert resolve_policy({"image_policy": "gemma3_896"}) is POLICIES["gemma3_896"]


def test_missing_kwargs_give_the_documented_default():
    assert DEFAULT_POLICY == "unmapped_native"
    assert resolve_policy(None).name == DEFAULT_POLICY
    assert resolve_policy({}).name == DEFAULT_POLICY


def test_lmms_eval_default_entry_merged_into_the_whole_mapping_resolves():
    # lmms-eval 0.7.3, model without an entry: the `default` entry is merged into the whole dict.
    kwargs = {"qwen2_5_vl": {"image_policy": "qwen2_5_vl"}, "default": {"image_policy": DEFAULT_POLICY}}
    kwargs.update(kwargs["default"])
    assert resolve_policy(kwargs).name == DEFAULT_POLICY


def test_environment_variable_wins_over_kwargs(monkeypatch):
    monkeypatch.setenv(POLICY_ENV_VAR, "medvision_v0")
    assert resolve_policy({"image_policy": "gemma3_896"}).name == "medvision_v0"
    assert resolve_policy({"image_policy": CHOOSE_POLICY}).input_size((300, 400)) == (512, 512)


def test_environment_variable_accepts_a_fixed_size(monkeypatch):
    monkeypatch.setenv(POLICY_ENV_VAR, "fixed:300x400")
    assert resolve_policy(None).input_size((512, 512)) == (300, 400)


@pytest.mark.parametrize("bad", ["qwen25", "fixed:0x10", "fixed:10", "504"])
def test_unknown_policy_names_are_errors_naming_the_variable(monkeypatch, bad):
    monkeypatch.setenv(POLICY_ENV_VAR, bad)
    with pytest.raises(ValueError, match=POLICY_ENV_VAR):
        resolve_policy({"image_policy": "native"})


def test_unknown_policy_in_kwargs_is_an_error():
    with pytest.raises(ValueError, match="unknown image_policy 'nope'"):
        resolve_policy({"image_policy": "nope"})


def test_server_backends_require_an_explicit_choice():
    for model in ("vllm", "openai", "sglang", "openai_compatible", "async_openai"):
        policy = policy_for_model(model)
        with pytest.raises(ValueError, match=f"set {POLICY_ENV_VAR}"):
            policy.input_size((512, 512))


def test_unmapped_model_warns_once_and_keeps_the_slice(monkeypatch, caplog):
    monkeypatch.setattr(spacing, "_warned_unmapped", False)
    policy = policy_for_model("some_new_vlm")
    with caplog.at_level(logging.WARNING, logger="medvision_tasks.spacing"):
        assert policy.input_size((300, 200)) == (300, 200)
        assert policy.input_size((512, 512)) == (512, 512)
    warnings = [record for record in caplog.records if POLICY_ENV_VAR in record.getMessage()]
    assert len(warnings) == 1


def test_every_mapped_name_is_a_registered_lmms_eval_model_and_every_policy_exists():
    from lmms_eval.models import MODEL_REGISTRY_V2

    registered = set(MODEL_REGISTRY_V2.list_model_names())
    assert set(MODEL_POLICIES) <= registered, set(MODEL_POLICIES) - registered
    assert set(MODEL_POLICIES.values()) <= set(POLICIES)


def test_baselines_of_the_issue_are_covered():
    expected = {
        "qwen2_5_vl": "qwen2_5_vl",
        "qwen2_vl": "qwen2_vl",
        "medvision_v0": "medvision_v0",
        "gemma3": "gemma3_896",
        "internvl3": "internvl_448",
        "internvl_hf": "internvl_448",
        "llama_vision": "mllama_560",
        "llava_onevision": "llava_onevision_384",
        "llava_hf": "llava_onevision_384",
        "vllm": CHOOSE_POLICY,
        "openai": CHOOSE_POLICY,
    }
    assert {name: MODEL_POLICIES[name] for name in expected} == expected
