"""Properties of parsing, scoring and aggregation over arbitrary answers (hypothesis).

Whatever a model writes: no exception, no non-finite number in a record or an aggregate, every
malformed answer a failure, and time linear in the answer's length. The one-pass tag readers are
checked against the regular expressions they replace (the benchmark's rule, byte for byte).
"""

from __future__ import annotations

import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from medvision_tasks.parsing import answer_tag_content, parse_answer
from medvision_tasks.steps import read_steps, step_tags

# The benchmark's expressions (parse_outputs.py), which the one-pass readers must agree with.
BENCHMARK_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
STEP_TAG = re.compile(r"<step-(\d+)-answer>(.*?)</step-\1-answer>", re.DOTALL)

# Pieces answers are made of: tags whole and broken, numbers of every size, unicode digits and minus signs.
TAG_PIECES = ["<answer>", "</answer>", "<answer", "answer>", "</", "<step-1-answer>", "</step-1-answer>"]
TAG_PIECES += ["<step-2-answer>", "</step-2-answer>", "<step-01-answer>", "</step-01-answer>", "<think>", "</think>"]
NUMBER_PIECES = ["0", "1", "12.5", "-3", ".5", "7.", "1e-3", "9" * 309, "9" * 308, "-" + "9" * 308, "1" + "0" * 400]
NUMBER_PIECES += ["0." + "0" * 330 + "1", "5e-324", "\u0663", "\u0661\u0662", "\uff17", "\u2212" + "4", "\u2796"]
OTHER_PIECES = [", ", " ", "\n", "(", ")", "[", "]", "x", "mm", "-", "."]
answer_text = st.lists(st.sampled_from(TAG_PIECES + NUMBER_PIECES + OTHER_PIECES), max_size=24).map("".join)
any_answer = st.one_of(answer_text, st.text(max_size=200))


@given(any_answer)
@settings(max_examples=400, deadline=None)
def test_answer_tag_content_is_what_the_benchmark_regex_finds(response):
    match = BENCHMARK_ANSWER_TAG.search(response)
    assert answer_tag_content(response) == (None if match is None else match.group(1))


@given(any_answer)
@settings(max_examples=400, deadline=None)
def test_step_tags_are_what_the_regex_finds(response):
    assert step_tags(response) == [(m.group(1), m.group(2)) for m in STEP_TAG.finditer(response)]


def _seconds(function, *args, **kwargs) -> float:
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


# One megabyte each: the adversarial shapes that made the regular expressions quadratic or worse
# (64 KB of unclosed tags took 10 s, a 20 KB digit run in a step took 17 s).
MEGABYTE_ANSWERS = {
    "unclosed answer tags": "<answer>1 " * 100_000,
    "unclosed step tags": "<step-1-answer>(1, " * 60_000,
    "a digit run in a step": "<step-1-answer>(" + "1" * 1_000_000 + "</step-1-answer>",
    "many step numbers": "".join(f"<step-{k}-answer>" for k in range(60_000)),
    "a digit run in the answer": "<answer>" + "9" * 1_000_000 + "</answer>",
}


def test_megabyte_answers_parse_in_linear_time():
    """A generous bound (2 s for 1 MB; the regexes took minutes to hours), not a benchmark."""
    for name, response in MEGABYTE_ANSWERS.items():
        for count in (1, 2, 4):
            for tag in (True, False):
                assert _seconds(parse_answer, response, count, require_answer_tag=tag) < 2.0, name
        for metric_type in ("box", "size", "distance", "angle"):
            assert _seconds(read_steps, response, metric_type) < 2.0, name
