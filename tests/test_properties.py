"""Properties of parsing, scoring and aggregation over arbitrary answers (hypothesis).

Whatever a model writes: no exception, no non-finite number in a record or an aggregate, every
malformed answer a failure, and time linear in the answer's length. The one-pass tag readers are
checked against the regular expressions they replace (the benchmark's rule, byte for byte).
"""

from __future__ import annotations

import json
import math
import os
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medvision_tasks import metrics, utils
from medvision_tasks.documents import DATA_DIR_ENV, load_documents
from medvision_tasks.parsing import answer_tag_content, parse_answer
from medvision_tasks.record import RECORD_KEY, DocRecord
from medvision_tasks.steps import read_steps, step_tags
from medvision_tasks.utils import prompt_hook
from medvision_tasks.variants import VARIANT_NAMES, get_variant
from tests.helpers.synthetic_data import write_data_dir

# The benchmark's expressions (parse_outputs.py), which the one-pass readers must agree with.
BENCHMARK_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
STEP_TAG = re.compile(r"<step-(\d+)-answer>(.*?)</step-\1-answer>", re.DOTALL)

# Pieces answers are made of: tags whole and broken, numbers of every size, unicode digits and minus signs.
TAG_PIECES = ["<answer>", "</answer>", "<answer", "answer>", "</", "<step-1-answer>", "</step-1-answer>"]
TAG_PIECES += ["<step-2-answer>", "</step-2-answer>", "<step-01-answer>", "</step-01-answer>", "<think>", "</think>"]
NUMBER_PIECES = ["0", "1", "12.5", "-3", ".5", "7.", "1e-3", "9" * 309, "9" * 308, "-" + "9" * 308, "1" + "0" * 400]
NUMBER_PIECES += [
    "0." + "0" * 330 + "1",
    "0." + "0" * 319 + "1",
    "1" + "0" * 308,
    "5e-324",
    "\u0663",
    "\u0661\u0662",
    "\uff17",
    "\u2212" + "4",
    "\u2796",
]
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


# --- scoring: no non-finite number reaches a record, a doc value or an aggregate ---------------------


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> dict[str, list[dict]]:
    """Loaded docs of every family (module scope: hypothesis reruns a test body many times)."""
    root = write_data_dir(tmp_path_factory.mktemp("data"))
    before = os.environ.get(DATA_DIR_ENV)
    os.environ[DATA_DIR_ENV] = str(root)
    try:
        return {family: load_documents(family, None) for family in ("detection", "tl", "ad")}
    finally:
        if before is None:
            os.environ.pop(DATA_DIR_ENV)
        else:
            os.environ[DATA_DIR_ENV] = before


def _finite_or_none(value) -> bool:
    return value is None or (isinstance(value, float) and math.isfinite(value))


@given(answer=any_answer, family=st.sampled_from(["detection", "tl", "ad"]), variant=st.sampled_from(VARIANT_NAMES))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_answer_scores_to_finite_values_and_a_readable_record(docs, answer, family, variant):
    doc = docs[family][0]
    values = getattr(utils, prompt_hook("process_results", get_variant(variant)))(doc, [answer])
    record = values.pop(RECORD_KEY)
    assert all(_finite_or_none(value) for value in values.values()), values
    json.dumps(record, allow_nan=False)  # raises on NaN or Infinity
    assert DocRecord.from_dict(record).parsed is record["parsed"]
    if get_variant(variant).cot and answer_tag_content(answer) is None:
        assert record["parsed"] is False  # the answer contract broken: a failure
    if not record["parsed"]:
        assert record["prediction"] is None


def test_answers_near_the_float_limit_are_failures_not_infinities(docs):
    tl, ad, detection = docs["tl"][0], docs["ad"][0], docs["detection"][0]
    huge = "1" + "0" * 308  # 1e308: finite, but the mean of two such errors overflows
    record = utils.score_response(tl, f"<answer>{huge}, {huge}</answer>", variant="cot")
    assert (record.parsed, record.abs_error, record.rel_error) == (False, None, None)
    # 1e308 mm against a 27.9 mm target: finite errors (3.6e306 relative), but the MRE percentage overflows.
    record = utils.score_response(ad, f"<answer>{huge}</answer>", variant="cot")
    assert record.parsed is False and metrics.doc_value(record, "sr") == 0.0
    # Points near 1e308 measure a distance beyond floats.
    record = utils.score_response(ad, f"<answer>0, 0, {huge}, {huge}</answer>", variant="coords")
    assert record.parsed is False
    # A box whose sides are subnormal has an area of 0: it overlaps nothing (precision 0, not 0/0).
    tiny = "0." + "0" * 319 + "1"  # 1e-320
    record = utils.score_response(detection, f"<answer>0, 0, {tiny}, {tiny}</answer>", variant="cot")
    assert record.parsed is True and (record.iou, record.precision, record.f1, record.recall) == (0.0, 0.0, 0.0, 0.0)


def test_an_aggregate_of_finite_errors_near_the_float_limit_is_finite():
    # Three docs each 6e307 mm off: the plain sum overflows, the mean is 6e307.
    assert utils.medvision_aggregate_mae([6e307, 6e307, None, 6e307]) == pytest.approx(6e307, rel=1e-12)
    assert metrics.mean_of_doc_values([1.5, None, 2.5]) == 2.0  # ordinary values: numpy's mean, bit for bit


doc_values = st.lists(st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)), max_size=30)


@given(doc_values)
@settings(max_examples=300, deadline=None)
def test_the_mean_of_finite_doc_values_is_finite_and_between_them(values):
    mean = metrics.mean_of_doc_values(values)
    kept = [value for value in values if value is not None]
    if not kept:
        assert math.isnan(mean)
    else:
        assert math.isfinite(mean) and min(kept) - 1e-9 * abs(min(kept)) <= mean <= max(kept) + 1e-9 * abs(max(kept))
