"""lmms-eval hooks of the MedVision tasks: thin glue over the protocol modules.

The task YAMLs (``yaml_tasks/``) name these functions with ``!function medvision_tasks.utils.<fn>``
so that lmms-eval imports this module once and every hook shares one slice store (:data:`SLICES`)
and the process's prompt ledger (:data:`LEDGER`: what each prompt stated and under which protocol,
read back into its answer's record).

Every task variant (:mod:`medvision_tasks.variants`: plain, CoT, coordinates only, no image) has
its ``doc_to_text``, ``doc_to_messages`` and ``process_results`` hook, named by
:func:`prompt_hook` and generated from the variant table; the no-image variants share
:func:`medvision_doc_to_visual_none`.

The scoring protocol (:mod:`medvision_tasks.protocols`) is chosen by ``MEDVISION_PROTOCOL``: the
hooks that build the image and the prompt read it; the scoring hook parses under the protocol its
prompt was written under (the ledger's), so the three always agree.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import datasets
from PIL import Image

from medvision_tasks import messages, metrics
from medvision_tasks.docs_cache import load_dataset
from medvision_tasks.documents import DATA_DIR_ENV, MedVisionDataError, data_dir, docs_file, env_flag, sample_dir
from medvision_tasks.environment import score_relevant_versions
from medvision_tasks.families import (
    ALL_METRICS,
    ANGLE_DISTANCE,
    DETECTION,
    FAMILIES,
    METRIC_UNITS,
    Family,
    get_family,
)
from medvision_tasks.ledger import LEDGER, Stated
from medvision_tasks.parsing import parse_answer
from medvision_tasks.prompts import SYSTEM_PROMPT, SeenImage, coordinates_prompt, doc_prompt
from medvision_tasks.protocols import ANSWER_TAG, PROTOCOL_ENV, Protocol, get_protocol, resolve_protocol
from medvision_tasks.record import BOX_SCORES, RECORD_KEY, DocRecord
from medvision_tasks.rendering import normalization_for, render_slice
from medvision_tasks.spacing import POLICY_ENV_VAR, resolve_policy, stated_pixel_size
from medvision_tasks.steps import Frame, StepAnalysis, analyse, measure, read_coordinates, read_steps, true_points
from medvision_tasks.variants import COORDINATES_PROMPT, PLAIN, VARIANTS, Variant, get_variant
from medvision_tasks.volumes import SliceStore, VolumeReadError

SLICES = SliceStore()
SYSTEM_PROMPT_ENV = "MEDVISION_SYSTEM_PROMPT"
# Metric names as they appear in hook names: YAML `!function` needs identifiers.
_METRIC_SPELLING = {"iou>0.5": "iou_above_half", "mre<0.1": "mre_below_tenth"}


def _shows_data_errors(hook: Callable) -> Callable:
    """Print our data errors as the headline before lmms-eval's retry and traceback bury them."""

    @functools.wraps(hook)
    def wrapper(*args, **kwargs):
        try:
            return hook(*args, **kwargs)
        except MedVisionDataError as error:
            messages.error_once(str(error))
            raise

    return wrapper


# --- process_docs: one per task selection (family x plane) --------------------------------------


def process_docs_hook(family: str, plane: str | None) -> str:
    """Name of the ``process_docs`` hook of a task selection: a family, and a plane (None: every plane)."""
    return f"medvision_process_docs_{family}_{plane or 'all'}"


def _docs_hook(family: str, plane: str | None) -> Callable[[datasets.Dataset], datasets.Dataset]:
    @_shows_data_errors
    def process_docs(dataset: datasets.Dataset) -> datasets.Dataset:
        root = data_dir()
        docs = load_dataset(family, plane, sample_rows=None if root is not None else dataset)
        if not len(docs):
            # lmms-eval cannot run a task without docs; say which selection is empty, and where.
            raise MedVisionDataError(
                f"no {family} docs on the {plane or 'any'} plane in {docs_file(root or sample_dir(), family)}: "
                "this task has nothing to evaluate"
            )
        columns = docs.data
        LEDGER.forget(family, columns.column("doc_key").to_pylist())
        for path, slice_dim, slice_idx in zip(
            *(columns.column(name).to_pylist() for name in ("image_path", "slice_dim", "slice_idx"))
        ):
            SLICES.register(path, slice_dim, slice_idx)
        return docs

    process_docs.__name__ = process_docs_hook(family, plane)
    return process_docs


# One hook per task selection of the family table (e.g. medvision_process_docs_detection_axial,
# medvision_process_docs_ad_all), under the names the generated task YAMLs use.
for _family in FAMILIES.values():
    for _plane in _family.task_planes:
        globals()[process_docs_hook(_family.name, _plane)] = _docs_hook(_family.name, _plane)
del _family, _plane


# --- what the model is shown and asked ----------------------------------------------------------


def _geometry(
    doc: Mapping, lmms_eval_specific_kwargs: dict | None
) -> tuple[tuple[int, int], tuple[int, int], tuple[float, float], str]:
    """Size handed to the model, size it sees, the pixel size that keeps the slice's extent, the policy."""
    policy = resolve_policy(lmms_eval_specific_kwargs)
    size = (int(doc["image_size_2d"][0]), int(doc["image_size_2d"][1]))
    handed = policy.input_size(size)
    seen = policy.seen_size(handed)
    return handed, seen, stated_pixel_size(size, tuple(doc["pixel_size"]), seen), policy.name


@_shows_data_errors
def medvision_doc_to_visual(doc: Mapping, lmms_eval_specific_kwargs: dict | None = None) -> list[Image.Image]:
    """The slice as an RGB image at the size the image policy hands over, normalised as the protocol says."""
    where = f"doc {doc['doc_key']} in {docs_file(data_dir() or sample_dir(), doc['family'])}"
    try:
        raw = SLICES.get(doc["image_path"], doc["slice_dim"], doc["slice_idx"])
    except VolumeReadError as error:
        # The load checked the header; voxels damaged behind it are found here and stop the run.
        raise MedVisionDataError(f"{where}: {error}") from error
    if list(raw.shape) != [int(v) for v in doc["image_size_2d"]]:
        raise MedVisionDataError(
            f"{where}: slice of {doc['image_path']} is {list(raw.shape)} pixels "
            f"but image_size_2d says {list(doc['image_size_2d'])}"
        )
    handed, _, _, _ = _geometry(doc, lmms_eval_specific_kwargs)
    protocol = resolve_protocol()
    return [render_slice(raw, handed, protocol=protocol, normalization=normalization_for(doc, protocol))]


def medvision_doc_to_visual_none(doc: Mapping, lmms_eval_specific_kwargs: dict | None = None) -> list:
    """No image: the ``_no_visual`` controls withhold the slice (lmms-eval's ``<task>_no_visual`` convention)."""
    return []


def prompt_hook(kind: str, variant: Variant) -> str:
    """Name of a variant's hook of one kind: ``medvision_<kind><suffix>``, e.g. ``medvision_doc_to_text_cot``.

    Kinds: ``doc_to_text``, ``doc_to_messages``, ``process_results``, and ``doc_to_visual`` (the
    variants that withhold the image share :func:`medvision_doc_to_visual_none`).
    """
    if kind == "doc_to_visual":
        return "medvision_doc_to_visual" if variant.shows_image else "medvision_doc_to_visual_none"
    return f"medvision_{kind}{variant.suffix}"


def _prompt(doc: Mapping, lmms_eval_specific_kwargs: dict | None, variant: Variant) -> str:
    _, seen, pixel, policy_name = _geometry(doc, lmms_eval_specific_kwargs)
    protocol = resolve_protocol()
    family = doc["family"]
    # Detection prompts state no pixel size (relative coordinates).
    stated = Stated(seen, None if family == DETECTION else pixel, policy_name, protocol.name)
    LEDGER.note(family, doc["doc_key"], stated)
    image = SeenImage(seen, pixel)
    if variant.prompt == COORDINATES_PROMPT:
        return coordinates_prompt(doc, seen=image, protocol=protocol)
    return doc_prompt(doc, seen=image, cot=variant.cot, protocol=protocol)


def _messages(doc: Mapping, lmms_eval_specific_kwargs: dict | None, variant: Variant) -> list[dict]:
    """The chat turns lmms-eval would build itself, plus the MedVision-V0 system turn when asked.

    Server backends (vllm, sglang, openai) send only these turns; MedVision-V0 diverges from its
    training without its system prompt (model card 4.1), so ``MEDVISION_SYSTEM_PROMPT=1`` adds it.
    Variants that withhold the image send the text alone.
    """
    images = medvision_doc_to_visual(doc, lmms_eval_specific_kwargs) if variant.shows_image else []
    content = [{"type": "image", "url": image} for image in images]
    content.append({"type": "text", "text": _prompt(doc, lmms_eval_specific_kwargs, variant)})
    messages = [{"role": "user", "content": content}]
    if env_flag(SYSTEM_PROMPT_ENV):
        messages.insert(0, {"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPT}]})
    return messages


def _text_hook(variant: Variant) -> Callable[..., str]:
    def doc_to_text(doc: Mapping, lmms_eval_specific_kwargs: dict | None = None) -> str:
        return _prompt(doc, lmms_eval_specific_kwargs, variant)

    doc_to_text.__name__ = prompt_hook("doc_to_text", variant)
    doc_to_text.__doc__ = f"The prompt of the {variant.title} variant, under the run's protocol."
    return doc_to_text


def _messages_hook(variant: Variant) -> Callable[..., list[dict]]:
    def doc_to_messages(doc: Mapping, lmms_eval_specific_kwargs: dict | None = None) -> list[dict]:
        return _messages(doc, lmms_eval_specific_kwargs, variant)

    doc_to_messages.__name__ = prompt_hook("doc_to_messages", variant)
    doc_to_messages.__doc__ = f"Chat turns of the {variant.title} variant (chat-path models)."
    return doc_to_messages


class _KeyedBySettings:
    """A hook whose printed form names the run's settings that change what a doc's image shows.

    lmms-eval's ``--use_cache`` keys a stored answer by the prompt, the model's arguments and the
    task's config as printed, never by the image. The image policy, the protocol and the data
    directory come from the environment, so an answer stored under one of them would come back
    under another. One hook of every task prints them (:func:`run_settings`), which puts them in
    the task's part of the key.
    """

    def __init__(self, hook: Callable) -> None:
        self._hook = hook
        functools.update_wrapper(self, hook)

    def __call__(self, *args, **kwargs):
        return self._hook(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<medvision hook {self._hook.__name__} under {run_settings()}>"

    __str__ = __repr__


def run_settings() -> dict[str, str]:
    """The environment settings that change a doc's image, prompt or target (unset ones omitted)."""
    names = (PROTOCOL_ENV, POLICY_ENV_VAR, DATA_DIR_ENV, SYSTEM_PROMPT_ENV)
    settings = {name: os.environ[name].strip() for name in names if os.environ.get(name, "").strip()}
    if DATA_DIR_ENV in settings:
        settings[DATA_DIR_ENV] = str(Path(settings[DATA_DIR_ENV]).expanduser().resolve())
    return settings


@_KeyedBySettings
def medvision_doc_to_target(doc: Mapping) -> str:
    """The target values, comma separated (a relative box, two axes in mm, or one value)."""
    return ", ".join(f"{value:.4f}" for value in doc["target"])


# --- scoring ------------------------------------------------------------------------------------


def _protocol_of(stated: Stated) -> Protocol:
    """The protocol a prompt was written under; the run's when the ledger does not know the prompt."""
    return get_protocol(stated.protocol) if stated.protocol else resolve_protocol()


def _read_answer(doc: Mapping, response: str | None, variant: Variant, protocol: Protocol, stated: Stated):
    """``(prediction, steps)`` of a response: the numbers scored, and the step analysis (CoT, coordinates)."""
    family = get_family(doc["family"])
    metric_type = family.metric_type_of(doc.get("biometric_profile"))
    if variant.prompt == COORDINATES_PROMPT:
        frame = _frame(doc, stated)
        points = read_coordinates(response, metric_type)
        prediction = None if points is None else measure(points, metric_type, frame)
        if prediction is not None and not all(math.isfinite(value) for value in prediction):
            prediction = None  # points near 1e308 measure beyond floats: a failure
        steps = analyse(points, true_points(doc, metric_type), None, doc["target"], metric_type, frame)
        return (None if prediction is None else list(prediction)), steps
    prediction = parse_answer(
        response,
        family.answer.count,
        require_answer_tag=protocol.answer_scope(variant.cot) == ANSWER_TAG,
        allow_negative=family.name != ANGLE_DISTANCE or protocol.negative_measurements_scored,
    )
    if not variant.cot:
        return prediction, None
    status, points = read_steps(response, metric_type)
    frame = _frame(doc, stated)
    steps = analyse(points, true_points(doc, metric_type), prediction, doc["target"], metric_type, frame, status=status)
    return prediction, steps


def _frame(doc: Mapping, stated: Stated) -> Frame:
    """The extent the model's coordinates are measured on: the stated image and pixel size, else the slice's own."""
    if stated.image_size is not None and stated.pixel_size is not None:
        return Frame.of(stated.image_size, stated.pixel_size)
    return Frame.of(doc["image_size_2d"], doc["pixel_size"])


def score_response(doc: Mapping, response: str | None, *, variant: Variant | str = PLAIN) -> DocRecord:
    """The per-doc record of one model response; never raises on bad text (a parse failure is scored).

    The answer is read as the prompt's protocol says: inside the first ``<answer>...</answer>`` or in
    the whole response; a negative angle/distance is an error to score (or a failure). An answer
    whose error is not a finite float (a number near 1e308) is a failure: no record holds a
    non-finite number. A coordinate-only answer is the points inside ``<answer>``, measured by
    :func:`medvision_tasks.steps.measure`; CoT and coordinate-only answers get a step analysis
    (:mod:`medvision_tasks.steps`).
    """
    variant = get_variant(variant) if isinstance(variant, str) else variant
    family = get_family(doc["family"])
    stated = LEDGER.stated(family.name, doc["doc_key"])
    protocol = _protocol_of(stated)
    prediction, steps = _read_answer(doc, response, variant, protocol, stated)
    record = _record(doc, family, variant, protocol, stated, prediction, steps)
    if record.parsed and not metrics.has_finite_values(record):
        # An answer whose errors or percentages overflow a float (numbers near 1e308) is a failure.
        record = _record(doc, family, variant, protocol, stated, None, steps)
    return record


def _scores(doc: Mapping, family_name: str, prediction: list[float] | None) -> dict[str, float | None]:
    """The record's per-doc scores of a prediction (None: the scores of a failure)."""
    if family_name == DETECTION:
        box = metrics.box_scores(prediction, doc["target"]) if prediction is not None else {}
        scores: dict[str, float | None] = {name: float(box.get(name, 0.0)) for name in BOX_SCORES}
        scores["box_area_fraction"] = doc.get("box_area_fraction")
        return scores
    errors = metrics.measurement_errors(prediction, doc["target"]) if prediction is not None else (None, None)
    return {"abs_error": errors[0], "rel_error": errors[1]}


def _record(
    doc: Mapping,
    family: Family,
    variant: Variant,
    protocol: Protocol,
    stated: Stated,
    prediction: list[float] | None,
    steps: StepAnalysis | None,
) -> DocRecord:
    """The record of a doc's answer read as ``prediction`` (None: a failure)."""
    profile = doc.get("biometric_profile") or {}
    return DocRecord(
        doc_key=doc["doc_key"],
        dataset=doc["dataset_name"],
        family=family.name,
        task_id=doc.get("taskID"),
        label=doc.get("label"),
        label_name=doc.get("label_name") or doc.get("measurement_name"),
        plane=doc["plane"],
        modality=doc.get("modality") or "",
        metric_type=family.metric_type_of(profile),
        # The canonical unit: the loader checked the doc's (which the public export may store as ["mm"]).
        unit=METRIC_UNITS.get(family.metric_type_of(profile)),
        image_policy=stated.image_policy,
        protocol=protocol.name,
        slice_size=(int(doc["image_size_2d"][0]), int(doc["image_size_2d"][1])),
        image_size=stated.image_size,
        pixel_size=stated.pixel_size,
        parsed=prediction is not None,
        prediction=None if prediction is None else tuple(prediction),
        target=tuple(doc["target"]),
        versions=score_relevant_versions(),
        upstream_task=doc.get("upstream_task"),
        variant=variant.name,
        steps=steps,
        **_scores(doc, family.name, prediction),
    )


def _results_hook(variant: Variant) -> Callable[[Mapping, list], dict[str, object]]:
    def process_results(doc: Mapping, results: list) -> dict[str, object]:
        """Per metric key the doc's value (:func:`medvision_tasks.metrics.doc_value`); the record once, under RECORD_KEY.

        lmms-eval aggregates only the keys of ``metric_list`` and logs every key on the samples line,
        so the record is written once per line and each metric key carries one number (or null).
        """
        record = score_response(doc, results[0] if results else None, variant=variant)
        values: dict[str, object] = {
            metric: metrics.doc_value(record, metric) for metric in get_family(doc["family"]).metrics
        }
        values[RECORD_KEY] = record.to_dict()
        return values

    process_results.__name__ = prompt_hook("process_results", variant)
    return process_results


# The hooks of every variant (medvision_doc_to_text, medvision_doc_to_text_cot, ...,
# medvision_process_results_coords), under the names the generated task YAMLs use.
for _variant in VARIANTS.values():
    for _kind, _factory in (("doc_to_text", _text_hook), ("doc_to_messages", _messages_hook)):
        globals()[prompt_hook(_kind, _variant)] = _factory(_variant)
    globals()[prompt_hook("process_results", _variant)] = _results_hook(_variant)
del _variant, _kind, _factory


# --- aggregation: one per metric key ------------------------------------------------------------


def aggregation_hook(metric: str) -> str:
    """Name of the aggregation hook of a metric, e.g. ``medvision_aggregate_iou_above_half`` for ``iou>0.5``."""
    return f"medvision_aggregate_{_METRIC_SPELLING.get(metric, metric)}"


def _aggregation(metric: str) -> Callable[[list[float | None]], float]:
    def aggregate(values: list[float | None]) -> float:
        return metrics.mean_of_doc_values(values, f"{metric} value of doc")

    aggregate.__name__ = aggregation_hook(metric)
    return aggregate


for _metric in ALL_METRICS:
    globals()[aggregation_hook(_metric)] = _aggregation(_metric)
del _metric
