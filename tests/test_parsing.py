"""Answer parsing (the benchmark's rule, medvision_tasks/parsing.py): a table of model outputs and what each must read as."""

from __future__ import annotations

import pytest

from medvision_tasks.parsing import parse_answer

# Numbers per answer: box corners, (major, minor), one value (the family table holds the same).
DETECTION, TL, AD = 4, 2, 1

# (response, count, require_answer_tag, allow_negative, expected)
CASES = [
    # CoT: T/L in parentheses, as MedVision-V0 writes it (model card 4.2).
    ("<think> ... </think> <answer> (24.13, 11.07) </answer>", TL, True, True, [24.13, 11.07]),
    ("<answer>0.31,0.42,0.55,0.68</answer>", DETECTION, True, True, [0.31, 0.42, 0.55, 0.68]),
    ("<answer>3.42</answer>", AD, True, False, [3.42]),
    # Extra text inside the tag: the last k numbers win.
    (
        "<answer>The bounding box is 0.31, 0.42, 0.55, 0.68.</answer>",
        DETECTION,
        True,
        True,
        [0.31, 0.42, 0.55, 0.68],
    ),
    ("<answer>Step 3 gives major 24.13 and minor 11.07</answer>", TL, True, True, [24.13, 11.07]),
    # Numbers in <think> do not count when the tag is required.
    (
        "<think>major 99.0, minor 88.0</think><answer>24.1, 11.0</answer>",
        TL,
        True,
        True,
        [24.1, 11.0],
    ),
    # Newlines inside the tag (DOTALL).
    ("<answer>\n24.13,\n11.07\n</answer>", TL, True, True, [24.13, 11.07]),
    # Two answer tags: the first one is read.
    ("<answer>1.5, 2.5</answer> <answer>7.0, 8.0</answer>", TL, True, True, [1.5, 2.5]),
    # Missing closing tag, or no tag at all, with the tag required: failure.
    ("<answer>24.13, 11.07", TL, True, True, None),
    ("24.13, 11.07", TL, True, True, None),
    # Fewer numbers than asked: failure.
    ("<answer>24.13</answer>", TL, True, True, None),
    ("<answer>0.1, 0.2, 0.3</answer>", DETECTION, True, True, None),
    ("<answer></answer>", AD, True, True, None),
    # Empty, None, garbage.
    ("", AD, False, True, None),
    (None, AD, False, True, None),
    (None, TL, True, True, None),
    ("I cannot measure this image.", AD, False, False, None),
    ("<answer>n/a</answer>", TL, True, True, None),
    # Plain prompts: last k numbers of the whole response.
    ("The major axis is 24.13 mm and the minor axis is 11.07 mm.", TL, False, True, [24.13, 11.07]),
    ("0.31, 0.42, 0.55, 0.68", DETECTION, False, True, [0.31, 0.42, 0.55, 0.68]),
    # Plain responses that happen to carry tags are read whole: last k numbers overall.
    ("<answer>5.0</answer> so about 6.5", AD, False, True, [6.5]),
    # Integers and trailing dots.
    ("<answer>24, 11</answer>", TL, True, True, [24.0, 11.0]),
    ("12.", AD, False, False, [12.0]),
    ("<answer>12., 7.</answer>", TL, True, True, [12.0, 7.0]),
    # Negative values: kept when allowed (a box may be off the image), a failure for A/D.
    ("<answer>-0.1, 0.2, 0.5, 0.6</answer>", DETECTION, True, True, [-0.1, 0.2, 0.5, 0.6]),
    ("<answer>-3.5</answer>", AD, True, False, None),
    ("-3.5", AD, False, False, None),
    ("<answer>-3.5</answer>", AD, True, True, [-3.5]),
    # Only the *kept* numbers must be non-negative.
    ("<answer>-1 then 4.2</answer>", AD, True, False, [4.2]),
    # Scientific notation is not understood by the pattern: "1e-3" reads as 1 and -3.
    ("<answer>1e-3</answer>", AD, True, False, None),
    ("<answer>1e-3</answer>", AD, True, True, [-3.0]),
    ("<answer>1e-3</answer>", TL, True, True, [1.0, -3.0]),
    # A leading dot is not part of a number: ".5" reads as 5 (benchmark pattern, kept).
    ("<answer>.5</answer>", AD, True, False, [5.0]),
    # A digit run too long for a float would be inf: failure, not an unusable value.
    ("<answer>" + "9" * 400 + "</answer>", AD, True, False, None),
]


@pytest.mark.parametrize(("response", "count", "require_answer_tag", "allow_negative", "expected"), CASES)
def test_parse_answer_table(response, count, require_answer_tag, allow_negative, expected):
    got = parse_answer(response, count, require_answer_tag=require_answer_tag, allow_negative=allow_negative)
    assert got == expected


def test_last_k_numbers_include_digits_inside_words():
    # The pattern matches digits anywhere, as the benchmark's did: "x1" contributes a 1.
    got = parse_answer("<answer>0.1, 0.2, 0.3, 0.4 (x1)</answer>", 4, require_answer_tag=True)
    assert got == [0.2, 0.3, 0.4, 1.0]


@pytest.mark.parametrize("response", [123, b"<answer>1</answer>", ["1"], {"a": 1}])
def test_non_string_response_is_a_failure_not_an_exception(response):
    assert parse_answer(response, 1, require_answer_tag=False) is None


@pytest.mark.parametrize("count", [0, -1, 1.0, True, None])
def test_bad_count_raises(count):
    with pytest.raises(ValueError, match="count"):
        parse_answer("1 2 3", count, require_answer_tag=False)
