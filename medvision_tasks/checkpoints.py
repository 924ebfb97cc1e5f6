"""Answer checkpoints: a run killed midway resumes, losing at most the answers in flight.

lmms-eval 0.7.3's ``--use_cache`` writes its answers only after the whole request list has been
answered, and task hooks cannot skip generation; a model wrapper can. With
``MEDVISION_CHECKPOINT_DIR`` set, this package's wrappers (``medvision_qwen2_5_vl``,
``medvision_v0``, ``medvision_random``) and the generic ``medvision_resume`` wrapper (any lmms-eval
model inside) append every answer to a checkpoint the moment it exists, and answer a request from
the checkpoint when one holds an answer to exactly the same inputs ([reliability](../docs/reliability.md#resume)).

Layout: ``<dir>/<model>-<identity>/<task>/<host>-<pid>.jsonl``, one JSON line per answer, flushed
and fsync'd. Each process appends to a file of its own (ranks and nodes never share a file, no
lock is needed) and a resumed run reads every file of the task; a torn last line (the process was
killed while writing it) is ignored.

An answer is reused only when its key, a SHA-256 of everything that makes the request's inputs,
is the same:

- the model: its ``--model`` name and the model_args that change answers (``identity.json``);
- the request: task, split, doc id, the prompt (context) text byte for byte, the generation
  settings;
- the doc: all of its fields (images in a doc by their pixels);
- for a MedVision doc, what the model is shown: the prompt ledger's statement (image policy,
  protocol, image and pixel size), the volume file's size and modification time, the
  ``MEDVISION_SYSTEM_PROMPT`` switch, and this package's code (rendering), so that a changed
  volume, policy, protocol or renderer is generated afresh rather than answered from another image.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from medvision_tasks import messages

CHECKPOINT_DIR_ENV = "MEDVISION_CHECKPOINT_DIR"
KEY_VERSION = 1
# MedVision switches that change what a model is shown but are not in the prompt ledger's statement.
SHOWN_SWITCHES = ("MEDVISION_SYSTEM_PROMPT",)


@dataclass(frozen=True)
class Answer:
    """One checkpointed answer: its text and, when the model reported them, its token counts."""

    text: str
    token_counts: dict | None = None


def _default(value: Any) -> Any:
    """JSON stand-in for values of a doc or of generation settings that JSON cannot hold."""
    if hasattr(value, "tobytes") and hasattr(value, "mode") and hasattr(value, "size"):  # a PIL image
        return {"image": [value.mode, list(value.size), hashlib.sha256(value.tobytes()).hexdigest()]}
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": hashlib.sha256(value).hexdigest()}
    if hasattr(value, "tobytes") and hasattr(value, "shape"):  # a numpy array
        return {"array": [str(value.dtype), list(value.shape), hashlib.sha256(value.tobytes()).hexdigest()]}
    if isinstance(value, (set, frozenset)):
        return sorted(map(repr, value))
    return repr(value)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=_default).encode("utf-8")).hexdigest()


def request_fields(args: Sequence) -> tuple[str, Mapping, int, str, str]:
    """``(context, gen_kwargs, doc_id, task, split)`` of a ``generate_until`` request's arguments.

    Simple models get ``(context, gen_kwargs, doc_to_visual, doc_id, task, split)``, chat models
    ``(context, doc_to_messages, gen_kwargs, doc_id, task, split)``.
    """
    if len(args) != 6:
        raise ValueError(f"MedVision error: answer checkpoints expect 6 request arguments, got {len(args)}")
    gen_kwargs = args[1] if isinstance(args[1], Mapping) else args[2]
    return args[0], gen_kwargs, args[3], args[4], args[5]


def _shown(doc: Mapping) -> dict | None:
    """What decides the image and turns of a MedVision doc beyond its fields; None for other docs."""
    if not (isinstance(doc, Mapping) and "doc_key" in doc and "family" in doc):
        return None
    from medvision_tasks.docs_cache import code_fingerprint
    from medvision_tasks.ledger import LEDGER
    from medvision_tasks.volumes import VolumeReadError, volume_identity

    volume = None
    path = doc.get("image_path")
    if path:
        try:
            # The slice cache's identity: also sees a volume rewritten with the same size and time.
            volume = volume_identity(path)
        except VolumeReadError:
            volume = "missing"
    return {
        "stated": asdict(LEDGER.stated(doc["family"], doc["doc_key"])),
        "volume": volume,
        "switches": {name: os.environ.get(name) for name in SHOWN_SWITCHES},
        "code": code_fingerprint(),
    }


def _token_counts(output: Any) -> tuple[str, dict | None]:
    from lmms_eval.api.instance import unwrap_generation_output

    text, counts = unwrap_generation_output(output)
    if not isinstance(text, str):
        raise TypeError(f"MedVision error: answer checkpoints hold text answers, got {type(text).__name__}")
    return text, (counts.to_dict() if counts is not None else None)


def as_output(answer: Answer) -> Any:
    """The answer as the model returned it: its text, or a ``GenerationResult`` with its token counts."""
    if answer.token_counts is None:
        return answer.text
    from lmms_eval.api.instance import GenerationResult, TokenCounts

    return GenerationResult(text=answer.text, token_counts=TokenCounts(**answer.token_counts))


class AnswerCheckpoint:
    """The answers of one model configuration, on disk, by request key.

    Args:
        root: the checkpoint directory (``MEDVISION_CHECKPOINT_DIR``).
        model: the ``--model`` name.
        model_args: the model arguments that change its answers (JSON-able values).
        task_dict: the model's ``task_dict`` (lmms-eval fills it: task -> split -> docs).
    """

    def __init__(self, root: Path, model: str, model_args: Mapping[str, Any], task_dict: Mapping) -> None:
        self.model_args = {key: model_args[key] for key in sorted(model_args)}
        self.identity = {"model": model, "model_args": self.model_args}
        self.folder = Path(root) / f"{model}-{_digest(self.identity)[:12]}"
        self.task_dict = task_dict
        self.writer_name = f"{socket.gethostname()}-{os.getpid()}.jsonl"
        self._answers: dict[str, dict[str, Answer]] = {}  # task -> key -> answer
        self._handles: dict[str, Any] = {}

    @classmethod
    def from_environment(cls, model: str, model_args: Mapping[str, Any], task_dict: Mapping) -> AnswerCheckpoint | None:
        """The checkpoint under ``MEDVISION_CHECKPOINT_DIR``; None (no checkpointing) when it is unset."""
        root = os.environ.get(CHECKPOINT_DIR_ENV, "").strip()
        if not root:
            return None
        checkpoint = cls(Path(root).expanduser(), model, model_args, task_dict)
        try:  # before any answer is generated: a checkpoint that cannot be written is a loss found too late
            checkpoint.folder.mkdir(parents=True, exist_ok=True)
            if not os.access(checkpoint.folder, os.W_OK):
                raise PermissionError("not writable")
        except OSError as error:
            raise ValueError(
                f"MedVision error: {CHECKPOINT_DIR_ENV}={root}: cannot write answer checkpoints in {checkpoint.folder} "
                f"({error})"
            ) from error
        return checkpoint

    # --- keys -------------------------------------------------------------------------------------

    def key(self, args: Sequence) -> str:
        """The key of one request: a SHA-256 of the model identity and everything the request shows the model."""
        context, gen_kwargs, doc_id, task, split = request_fields(args)
        doc = self.task_dict[task][split][doc_id]
        return _digest(
            {
                "v": KEY_VERSION,
                "identity": self.identity,
                "task": task,
                "split": split,
                "doc_id": int(doc_id),
                "context": context,
                "gen_kwargs": gen_kwargs,
                "doc": _digest(dict(doc) if isinstance(doc, Mapping) else repr(doc)),
                "shown": _shown(doc),
            }
        )

    # --- reading ----------------------------------------------------------------------------------

    def _task_folder(self, task: str) -> Path:
        return self.folder / str(task).replace(os.sep, "_")

    def _load(self, task: str) -> dict[str, Answer]:
        if task in self._answers:
            return self._answers[task]
        answers: dict[str, Answer] = {}
        for path in sorted(self._task_folder(task).glob("*.jsonl")):
            lines = path.read_bytes().split(b"\n")
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    answer = Answer(entry["answer"], entry.get("token_counts"))
                    key = entry["key"]
                    if not isinstance(key, str) or not isinstance(answer.text, str):
                        raise TypeError("key and answer must be strings")
                except (ValueError, KeyError, TypeError) as error:
                    if number < len(lines):  # a torn last line is what a kill leaves; others are damage
                        messages.info(f"answer checkpoint {path} line {number} is unreadable ({error}); ignored")
                    continue
                answers.setdefault(key, answer)
        self._answers[task] = answers
        return answers

    def lookup(self, args: Sequence) -> tuple[str, Answer | None]:
        """The request's key and its checkpointed answer (None when there is none)."""
        key = self.key(args)
        return key, self._load(request_fields(args)[3]).get(key)

    # --- writing ----------------------------------------------------------------------------------

    def record(self, args: Sequence, key: str, output: Any) -> None:
        """Append one answer (flushed and fsync'd before returning), keyed by :meth:`key`."""
        _, _, doc_id, task, _ = request_fields(args)
        text, counts = _token_counts(output)
        entry = {"key": key, "task": task, "doc_id": int(doc_id), "answer": text}
        if counts is not None:
            entry["token_counts"] = counts
        handle = self._handle(task)
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
        self._load(task).setdefault(key, Answer(text, counts))

    def _handle(self, task: str):
        if task not in self._handles:
            folder = self._task_folder(task)
            folder.mkdir(parents=True, exist_ok=True)
            identity = self.folder / "identity.json"
            if not identity.exists():
                identity.write_text(json.dumps(self.identity, indent=2, default=repr) + "\n", encoding="utf-8")
            path = folder / self.writer_name
            _drop_torn_tail(path)
            self._handles[task] = _TextAppender(path.open("ab"))
        return self._handles[task]

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()


def _drop_torn_tail(path: Path) -> None:
    """Cut a torn last line (an earlier process of this name was killed while writing it) before appending."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


class _TextAppender:
    """A binary append handle written with UTF-8 text."""

    def __init__(self, handle) -> None:
        self._handle = handle

    def write(self, text: str) -> None:
        self._handle.write(text.encode("utf-8"))

    def flush(self) -> None:
        self._handle.flush()

    def fileno(self) -> int:
        return self._handle.fileno()

    def close(self) -> None:
        self._handle.close()


def answer_requests(
    requests: Sequence,
    generate: Callable[[list, Callable[[int, Any], None]], list],
    checkpoint: AnswerCheckpoint | None,
) -> list:
    """Answers to ``requests`` in order: checkpointed ones read back, the others generated and appended as they come.

    Args:
        requests: lmms-eval ``Instance`` objects (``generate_until``).
        generate: ``generate(missing, on_answer)`` answers the ``missing`` requests, in their order,
            and calls ``on_answer(i, output)`` as soon as the answer to ``missing[i]`` exists.
        checkpoint: the checkpoint, or None to generate everything.

    Returns:
        One output per request (text, or ``GenerationResult`` when token counts were kept).
    """
    if checkpoint is None:
        return generate(list(requests), lambda index, output: None)
    keys, outputs, missing = [], [], []
    for position, request in enumerate(requests):
        key, answer = checkpoint.lookup(request.args)
        keys.append(key)
        outputs.append(None if answer is None else as_output(answer))
        if answer is None:
            missing.append(position)
    messages.info(
        f"{len(requests) - len(missing)} of {len(requests)} answers read from the checkpoint {checkpoint.folder}; "
        f"generating {len(missing)}"
    )

    def on_answer(index: int, output: Any) -> None:
        position = missing[index]
        checkpoint.record(requests[position].args, keys[position], output)

    generated = generate([requests[position] for position in missing], on_answer)
    for position, output in zip(missing, generated):
        outputs[position] = output
    return outputs
