"""Scoring protocols: which upstream MedVision pipeline a run reproduces, one row per protocol.

Upstream MedVision (GitHub ``YongchengYAO/MedVision`` and its later history in forks such as
``viennh/MedVision``) scored models in two eras that differ in the words of the prompts, the
pixels of the image and how answers were read (docs/fidelity.md):

- ``published`` (the default): the later pipeline behind the published leaderboard and
  MedVision-V0 (model card 4.4). Plain prompts as upstream wrote them from March 2026 (the image
  size stated, "corners", a ``<think>/<answer>`` format text without reasoning steps); CoT prompts
  from the constants MedVision-V0 was trained on (``sft_prompts.py``); answers read inside the
  first ``<answer>...</answer>`` (``parse_outputs.py`` from ``df37243``); images normalised by
  ``normalize_img`` (CT: an HU window chosen by the label's group; others: 0.5/99.5 percentile
  clipping); reshapes by ``scipy.ndimage.zoom`` with nearest neighbour for two-valued slices.
- ``original``: the first public release's plain benchmark (commit ``929f45a`` to ``c221615``,
  paper v1): plain prompts stating the pixel size only, per-slice min-max, whole-response
  parsing. It had no CoT tasks: its ``*_cot`` tasks use the published CoT prompts.
- Alternatives where upstream's history does not settle a choice, each one switch away
  (``published_sft_detection``, ``published_card_units``, ``published_whole_response``; see
  :data:`PROTOCOLS`).

Every row says everything that differs; :func:`resolve_protocol` picks one from
``MEDVISION_PROTOCOL`` and every per-doc record names it (``DocRecord.protocol``). The protocol is
independent of the image policy (:mod:`medvision_tasks.spacing`), which sizes the image for the
running model. Negative angle/distance answers are scored as errors in every row, as every
upstream table summarizer did (only the first release's own lmms-eval metrics rejected them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from medvision_tasks import messages

PROTOCOL_ENV = "MEDVISION_PROTOCOL"
DEFAULT_PROTOCOL = "published"

# Plain prompt forms.
FIRST_RELEASE_PROMPTS = "first_release"
"""``medvision_utils.py`` of the first release: pixel size only, ``"image: , "`` when undescribed, "corner"."""
TAGGED_PROMPTS = "tagged"
"""``medvision_utils.py`` from ``fbf771c`` (2026-03-13): image size stated, "corners", tag format text."""

# CoT detection prompt forms (the T/L and A/D CoT prompts are the same in both).
DETECTION_COT_EVAL = "eval"
"""The benchmark's ``create_doc_to_text_BoxCoordinate_CoT`` (release v1.1.0), as the model card prints it."""
DETECTION_COT_SFT = "sft"
"""``sft_utils._doc_to_text_DetectionTask_CoT`` (``5b7ac4b``..``ae6e130``): MedVision-V0's training text."""

# Image normalisation rules.
MINMAX = "minmax"
"""Per-slice min-max to 0..255, float32, truncated (first release ``doc_to_visual``)."""
ADAPTIVE = "adaptive"
"""``normalize_img`` (``eadae72``): CT HU window by label group, else 0.5/99.5 percentile clipping."""

# Interpolation of a reshape (scipy.ndimage.zoom, on raw float32 intensities, before normalising).
LINEAR = "linear"
"""``order=1`` always (first release ``_load_nifti_2d``)."""
NEAREST_FOR_BINARY = "nearest_for_binary"
"""``order=0`` when the slice has at most two distinct values, else ``order=1`` (``b1e67aa``)."""

# Where the numbers of an answer are read.
WHOLE_RESPONSE = "whole_response"
ANSWER_TAG = "answer_tag"


@dataclass(frozen=True)
class UnitWords:
    """How a prompt prints units, by what is measured (``size`` = T/L, ``distance``, ``angle``).

    Attributes:
        task: the word after "in" in the task line, e.g. ``"... in mm."``.
        pixel: the word in the pixel-size sentence ("The pixel size ... 0.500 mm (width) ...").
    """

    task: Mapping[str, str]
    pixel: Mapping[str, str]


BENCHMARK_UNITS = UnitWords(
    task=MappingProxyType({"size": "mm", "distance": "millimeters", "angle": "degree"}),
    pixel=MappingProxyType({"size": "mm", "distance": "mm", "angle": "mm"}),
)
"""What upstream's code printed on the public data, first release to ``ae6e130``: T/L units are stored
as ``["mm"]`` lists and print as is; distances replace "mm" by "millimeters"; angles keep "degree";
pixel sizes say "mm" (hard-coded)."""
CARD_UNITS = UnitWords(
    task=MappingProxyType({"size": "millimeters", "distance": "millimeters", "angle": "degrees"}),
    pixel=MappingProxyType({"size": "millimeters", "distance": "millimeters", "angle": "degrees"}),
)
"""The model card's full words ("mm -> millimeters, degree -> degrees" for every ``<unit>``, pixel sizes
included), which the latest benchmark code prints through ``_normalize_metric_unit`` if that function
does what the card says (its body is not public)."""


@dataclass(frozen=True)
class Protocol:
    """One scoring protocol: everything that differs between upstream pipelines.

    Attributes:
        name: the value of ``MEDVISION_PROTOCOL`` and of every record's ``protocol``.
        summary: one line: which upstream runs it reproduces.
        plain_prompts: :data:`FIRST_RELEASE_PROMPTS` or :data:`TAGGED_PROMPTS`.
        detection_cot: :data:`DETECTION_COT_EVAL` or :data:`DETECTION_COT_SFT`.
        units: the unit words of T/L and A/D prompts.
        normalization: :data:`MINMAX` or :data:`ADAPTIVE`.
        reshape_interpolation: :data:`LINEAR` or :data:`NEAREST_FOR_BINARY`.
        plain_answers: where plain answers are read: :data:`WHOLE_RESPONSE` or :data:`ANSWER_TAG`
            (CoT answers are always read inside the tag their prompt asks for).
        negative_measurements_scored: a negative A/D answer is scored (an error), not a failure.
        plain_max_new_tokens: upstream's generation budget for plain prompts (1024 in the first
            release's harness, 4096 from ``da9124a``, 2026-03-10). The task YAMLs carry the default
            protocol's; another protocol's is one ``--gen_kwargs max_new_tokens=N`` away (CoT
            prompts: 4096 in both).
        unsettled: what upstream's history leaves open about this row, for the docs ("" if nothing).
    """

    name: str
    summary: str
    plain_prompts: str
    detection_cot: str
    units: UnitWords
    normalization: str
    reshape_interpolation: str
    plain_answers: str
    negative_measurements_scored: bool
    plain_max_new_tokens: int
    unsettled: str = ""

    def answer_scope(self, cot: bool) -> str:
        """Where an answer's numbers are read: :data:`ANSWER_TAG` or :data:`WHOLE_RESPONSE`."""
        return ANSWER_TAG if cot else self.plain_answers


PUBLISHED = Protocol(
    name="published",
    summary="the published leaderboard and MedVision-V0: upstream's later pipeline, release v1.1.0",
    plain_prompts=TAGGED_PROMPTS,
    detection_cot=DETECTION_COT_EVAL,
    units=BENCHMARK_UNITS,
    normalization=ADAPTIVE,
    reshape_interpolation=NEAREST_FOR_BINARY,
    plain_answers=ANSWER_TAG,
    negative_measurements_scored=True,
    plain_max_new_tokens=4096,
    unsettled=(
        "whether the published baseline rows were re-run with these tag-requesting plain prompts "
        "(see published_whole_response and original); the unit words of the latest CoT prompts "
        "(see published_card_units); the detection CoT text MedVision-V0 was trained on (see "
        "published_sft_detection)"
    ),
)
ORIGINAL = Protocol(
    name="original",
    summary="the first public release's plain benchmark, paper v1: pixel size only, min-max pixels",
    plain_prompts=FIRST_RELEASE_PROMPTS,
    detection_cot=DETECTION_COT_EVAL,
    units=BENCHMARK_UNITS,
    normalization=MINMAX,
    reshape_interpolation=LINEAR,
    plain_answers=WHOLE_RESPONSE,
    negative_measurements_scored=True,
    plain_max_new_tokens=1024,
    unsettled="the first release had no CoT tasks: its *_cot tasks use the published CoT prompts",
)

PROTOCOLS: Mapping[str, Protocol] = MappingProxyType(
    {
        protocol.name: protocol
        for protocol in (
            PUBLISHED,
            ORIGINAL,
            replace(
                PUBLISHED,
                name="published_sft_detection",
                summary="published, with the detection CoT prompt of MedVision-V0's training data (ae6e130)",
                detection_cot=DETECTION_COT_SFT,
                unsettled="which detection CoT text the released MedVision-V0 was trained on",
            ),
            replace(
                PUBLISHED,
                name="published_card_units",
                summary="published, with the model card's unit words (millimeters, degrees) in every prompt",
                units=CARD_UNITS,
                unsettled="the body of the latest benchmark's _normalize_metric_unit is not public",
            ),
            replace(
                PUBLISHED,
                name="published_whole_response",
                summary="published, with plain answers read from the whole response (the pre-df37243 parser)",
                plain_answers=WHOLE_RESPONSE,
                unsettled="which parser produced the published baseline rows",
            ),
        )
    }
)
"""Every protocol by name: :data:`DEFAULT_PROTOCOL` first."""

_announced: set[str] = set()


def get_protocol(name: str) -> Protocol:
    """The protocol called ``name``.

    Raises:
        ValueError: an unknown name; the message lists the known ones.
    """
    try:
        return PROTOCOLS[str(name).strip()]
    except KeyError:
        raise ValueError(f"unknown protocol {name!r}; expected one of {', '.join(PROTOCOLS)}") from None


def resolve_protocol() -> Protocol:
    """The protocol of this run: ``MEDVISION_PROTOCOL`` if set, else :data:`DEFAULT_PROTOCOL`.

    The first call for each protocol says which one runs (``MedVision: protocol ...``).

    Raises:
        ValueError: ``MEDVISION_PROTOCOL`` names no protocol; the message lists the known ones.
    """
    value = os.environ.get(PROTOCOL_ENV, "").strip()
    try:
        protocol = get_protocol(value or DEFAULT_PROTOCOL)
    except ValueError as error:
        raise ValueError(f"{PROTOCOL_ENV}={value!r}: {error}") from None
    if protocol.name not in _announced:
        _announced.add(protocol.name)
        messages.info(f"protocol {protocol.name!r}: {protocol.summary} (set by {PROTOCOL_ENV}; docs/fidelity.md)")
        default_budget = PROTOCOLS[DEFAULT_PROTOCOL].plain_max_new_tokens
        if protocol.plain_max_new_tokens != default_budget:
            messages.info(
                f"protocol {protocol.name!r} generated plain answers with at most {protocol.plain_max_new_tokens} new "
                f"tokens; the plain task YAMLs allow {default_budget}: pass --gen_kwargs "
                f"max_new_tokens={protocol.plain_max_new_tokens} to plain tasks to match"
            )
    return protocol
