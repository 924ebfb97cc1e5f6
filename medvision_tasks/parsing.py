"""Reading the numbers out of a model's answer, as the benchmark did.

The rule is the benchmark's (``parse_outputs.py``): collect every match of ``-?\\d+\\.?\\d*`` and keep
the last ``count`` of them, inside the first ``<answer>...</answer>`` (CoT prompts; every prompt of
the published protocol, from upstream's ``df37243``) or in the whole response (the first release's
plain prompts); which one is the protocol's (:mod:`medvision_tasks.protocols`). Keeping the *last*
numbers makes it robust to text before the values, e.g.
``<answer> The box is (0.31, 0.42, 0.55, 0.68) </answer>``.

Consequences of that number pattern, kept for fidelity with the benchmark's scores:
- ``"12."`` reads as 12.0; ``".5"`` reads as 5.0 (the leading dot is not part of a match);
- ``"1e-3"`` reads as the two numbers 1.0 and -3.0; for A/D (one value) it reads -3.0;
- ``"3-4"`` reads as 3.0 and -4.0.
"""

from __future__ import annotations

import math
import re

_OPEN_TAG, _CLOSE_TAG = "<answer>", "</answer>"
_NUMBER = re.compile(r"-?\d+\.?\d*")


def answer_tag_content(response: str) -> str | None:
    """The text inside the first ``<answer>...</answer>``, or None when no tag is complete.

    What ``re.search(r"<answer>(.*?)</answer>", response, re.DOTALL)`` finds, in one pass: the
    earliest opening tag that a closing tag follows is the first opening tag (a closing tag after a
    later opening tag also follows the first), and its text ends at the first closing tag after it.
    The regex instead retries every opening tag up to the end: quadratic time for an answer of
    many unclosed tags (64 KB took 10 s).
    """
    start = response.find(_OPEN_TAG)
    if start < 0:
        return None
    start += len(_OPEN_TAG)
    end = response.find(_CLOSE_TAG, start)
    return None if end < 0 else response[start:end]


def parse_answer(
    response: str | None,
    count: int,
    *,
    require_answer_tag: bool,
    allow_negative: bool = True,
) -> list[float] | None:
    """The last ``count`` numbers of an answer, or None when it cannot be read.

    Never raises on the response: None, non-strings, empty or garbage text all give None, which
    the metrics count as a parse failure (lowers SR; excluded from MAE/MRE).

    Args:
        response: the model's generated text.
        count: how many numbers to keep (a family's ``answer.count``, :mod:`medvision_tasks.families`).
        require_answer_tag: read only inside the first ``<answer>...</answer>`` (CoT prompts);
            a response without a complete tag is a failure. False reads the whole response
            (plain prompts).
        allow_negative: False makes a negative kept value a failure (the first release's own
            lmms-eval metrics did so for A/D; upstream's tables, and every protocol here, score it).

    Returns:
        ``count`` floats in the order they appear, or None.

    Raises:
        ValueError: ``count`` is not a positive integer (a caller's bug, not a model's).
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    if not isinstance(response, str) or not response:
        return None
    if require_answer_tag:
        text = answer_tag_content(response)
        if text is None:
            return None
    else:
        text = response
    numbers = _NUMBER.findall(text)
    if len(numbers) < count:
        return None
    values = [float(number) for number in numbers[-count:]]
    # A digit string too long for a float reads as inf; no metric can use it.
    if not all(math.isfinite(value) for value in values):
        return None
    if not allow_negative and any(value < 0 for value in values):
        return None
    return values
