"""The protocol table: one row per upstream pipeline, chosen by one switch (docs/fidelity.md)."""

from __future__ import annotations

import dataclasses

import pytest

from medvision_tasks import protocols
from medvision_tasks.protocols import (
    ADAPTIVE,
    ANSWER_TAG,
    BENCHMARK_UNITS,
    CARD_UNITS,
    DEFAULT_PROTOCOL,
    DETECTION_COT_EVAL,
    DETECTION_COT_SFT,
    FIRST_RELEASE_PROMPTS,
    LINEAR,
    MINMAX,
    NEAREST_FOR_BINARY,
    PROTOCOL_ENV,
    PROTOCOLS,
    TAGGED_PROMPTS,
    WHOLE_RESPONSE,
    get_protocol,
    resolve_protocol,
)


def test_published_is_the_default_and_says_what_the_later_pipeline_did():
    assert DEFAULT_PROTOCOL == "published" and next(iter(PROTOCOLS)) == "published"
    published = PROTOCOLS["published"]
    assert (published.plain_prompts, published.detection_cot) == (TAGGED_PROMPTS, DETECTION_COT_EVAL)
    assert (published.normalization, published.reshape_interpolation) == (ADAPTIVE, NEAREST_FOR_BINARY)
    assert published.plain_answers == ANSWER_TAG and published.negative_measurements_scored
    assert published.units == BENCHMARK_UNITS


def test_original_is_the_first_release():
    original = PROTOCOLS["original"]
    assert original.plain_prompts == FIRST_RELEASE_PROMPTS
    assert (original.normalization, original.reshape_interpolation) == (MINMAX, LINEAR)
    assert original.plain_answers == WHOLE_RESPONSE and original.negative_measurements_scored
    assert original.answer_scope(cot=True) == ANSWER_TAG and original.answer_scope(cot=False) == WHOLE_RESPONSE


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("published_sft_detection", "detection_cot", DETECTION_COT_SFT),
        ("published_card_units", "units", CARD_UNITS),
        ("published_whole_response", "plain_answers", WHOLE_RESPONSE),
    ],
)
def test_each_alternative_is_one_switch_away_from_published(name, field, value):
    alternative = PROTOCOLS[name]
    published = PROTOCOLS["published"]
    differing = [
        f.name
        for f in dataclasses.fields(published)
        if getattr(alternative, f.name) != getattr(published, f.name) and f.name not in ("name", "summary", "unsettled")
    ]
    assert differing == [field] and getattr(alternative, field) == value
    assert alternative.unsettled


def test_unit_words_as_printed():
    assert dict(BENCHMARK_UNITS.task) == {"size": "mm", "distance": "millimeters", "angle": "degree"}
    assert set(BENCHMARK_UNITS.pixel.values()) == {"mm"}
    assert dict(CARD_UNITS.task) == {"size": "millimeters", "distance": "millimeters", "angle": "degrees"}


def test_unknown_names_are_errors_listing_the_known_ones(monkeypatch):
    with pytest.raises(ValueError, match="unknown protocol 'v1'; expected one of published, original, "):
        get_protocol("v1")
    monkeypatch.setenv(PROTOCOL_ENV, "v1")
    with pytest.raises(ValueError, match="MEDVISION_PROTOCOL='v1': unknown protocol"):
        resolve_protocol()


def test_the_environment_chooses_and_the_choice_is_said_once(monkeypatch, capsys):
    monkeypatch.setattr(protocols, "_announced", set())
    monkeypatch.delenv(PROTOCOL_ENV, raising=False)
    assert resolve_protocol().name == "published"
    monkeypatch.setenv(PROTOCOL_ENV, " original ")
    assert resolve_protocol().name == "original"
    assert resolve_protocol().name == "original"
    err = capsys.readouterr().err
    assert err.count("MedVision: protocol 'original':") == 1 and err.count("MedVision: protocol 'published':") == 1


def test_a_protocol_with_another_plain_budget_says_how_to_match_it(monkeypatch, capsys):
    monkeypatch.setattr(protocols, "_announced", set())
    monkeypatch.setenv(PROTOCOL_ENV, "original")
    resolve_protocol()
    assert "pass --gen_kwargs max_new_tokens=1024 to plain tasks" in capsys.readouterr().err
    assert PROTOCOLS["published"].plain_max_new_tokens == 4096
