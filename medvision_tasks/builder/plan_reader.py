"""Reading a public MedVision benchmark plan: its tasks' headers and test cases, one case at a time.

A plan (``Datasets/<dataset>/benchmark_plan_{detection,segmentation,biometry}_v<version>.json.gz``)
is gzip JSON ``{"dataset_info", "tasks": [task, ...], "tasks_number"}``; a task holds its fields
(``labels_map``, ``target_label``, ``biometrics_map``, ...) and its ``train_cases`` and
``test_cases``, each case carrying every slice's boxes or measurements. The largest plans are tens
of GB of JSON once decompressed, so they are not parsed whole:

- The public planner writes plans with ``json.dump(..., indent=4)``. In that layout a value's
  extent is known from indentation alone (a container opened on a line of ``n`` spaces closes on
  the first later line of exactly ``n`` spaces; strings hold no raw newline), so the reader skips
  unwanted tasks and every ``train_cases`` list at the speed of ``bytes.find`` and parses only the
  test cases it is handed, one by one, stopping as soon as the visitor needs nothing more.
- A plan in any other layout (e.g. written compactly) is parsed whole with :func:`json.load`.

Either way the visitor sees the same calls, in file order.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, Protocol

PLAN_KINDS = ("detection", "segmentation", "biometry")
TRAIN_CASES, TEST_CASES = "train_cases", "test_cases"
_CHUNK = 1 << 22  # bytes of decompressed plan read at a time
_INDENT = 4


class PlanError(ValueError):
    """A plan that cannot be read (missing, corrupt, truncated, not a plan); the message names the file."""


class _LayoutError(Exception):
    """The stream is not in the planner's indented layout (the caller parses the file whole instead)."""


class PlanVisitor(Protocol):
    """What a plan reader reports to, in file order."""

    def wants(self, task_index: int) -> bool:
        """Whether the test cases of task ``task_index`` (1-based) are needed."""

    def start_task(self, task_index: int, header: Mapping[str, Any]) -> None:
        """A wanted task begins: its fields before ``test_cases`` (all but the case lists)."""

    def test_case(self, task_index: int, case: Mapping[str, Any]) -> bool:
        """One test case of a wanted task; returns whether more cases of this task are needed."""

    def done(self) -> bool:
        """Whether nothing more is needed from the plan (reading stops)."""


def plan_file_name(kind: str, version: str) -> str:
    """``benchmark_plan_<kind>_v<version>.json.gz``."""
    return f"benchmark_plan_{kind}_v{version}.json.gz"


class _Stream:
    """Decompressed plan bytes with look-ahead, search and bounded memory while skipping."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._buf = b""
        self._pos = 0
        self._eof = False

    def _more(self) -> bool:
        if self._eof:
            return False
        data = self._raw.read(_CHUNK)
        if not data:
            self._eof = True
            return False
        self._buf = self._buf[self._pos :] + data
        self._pos = 0
        return True

    def skip(self, n: int) -> None:
        self._pos += n

    def peek(self, n: int) -> bytes:
        while len(self._buf) - self._pos < n and self._more():
            pass
        return self._buf[self._pos : self._pos + n]

    def expect(self, token: bytes) -> None:
        if self.peek(len(token)) != token:
            raise _LayoutError(f"expected {token!r}, found {self.peek(len(token) + 20)!r}")
        self._pos += len(token)

    def find(self, pattern: bytes, *, keep: bool) -> bytes:
        """Move to the next ``pattern``; the bytes passed over when ``keep`` (else dropped as it goes)."""
        start = self._pos
        while True:
            index = self._buf.find(pattern, start)
            if index >= 0:
                taken = self._buf[self._pos : index] if keep else b""
                self._pos = index
                return taken
            resume = max(start, len(self._buf) - len(pattern) + 1) - self._pos
            if not keep:
                self._pos += resume
                resume = 0
            if not self._more():
                raise PlanError("the plan ends early (truncated file?)")
            start = self._pos + resume

    def value(self, indent: int, *, keep: bool) -> bytes:
        """The JSON value at the stream, written on a line of ``indent`` spaces; the stream moves past it."""
        head = self.peek(2)
        if head[:1] in (b"{", b"[") and head[1:2] == b"\n":
            closer = b"}" if head[:1] == b"{" else b"]"
            body = self.find(b"\n" + b" " * indent + closer, keep=keep)
            self._pos += indent + 2
            return body + closer
        text = self.find(b"\n", keep=True)
        if text.endswith(b","):
            text = text[:-1]
            self._pos -= 1
        return text

    def items(self, indent: int):
        """Iterate a multi-line array whose items sit at ``indent`` spaces: the stream is at each item in turn."""
        if self.peek(2) == b"[]":
            self.skip(2)
            return
        self.expect(b"[")
        while True:
            self.expect(b"\n" + b" " * indent)
            yield
            if self.peek(1) == b",":
                self._pos += 1
                continue
            self.expect(b"\n" + b" " * (indent - _INDENT) + b"]")
            return

    def keys(self, indent: int):
        """Iterate a multi-line object whose keys sit at ``indent`` spaces: yields each key, the stream at its value."""
        self.expect(b"{")
        while True:
            self.expect(b"\n" + b" " * indent)
            key = json.loads(self.find(b": ", keep=True))
            self._pos += 2
            yield key
            if self.peek(1) == b",":
                self._pos += 1
                continue
            self.expect(b"\n" + b" " * (indent - _INDENT) + b"}")
            return


def _visit_cases(stream: _Stream, index: int, visitor: PlanVisitor, indent: int) -> None:
    """The ``test_cases`` list at the stream (items at ``indent`` spaces), parsed while the visitor wants them."""
    wanted = True
    for _ in stream.items(indent):
        if wanted:
            wanted = visitor.test_case(index, json.loads(stream.value(indent, keep=True)))
        else:  # not needed: skipped by its closing line, unparsed
            stream.value(indent, keep=False)


def _read_task(stream: _Stream, index: int, visitor: PlanVisitor, indent: int) -> None:
    """A wanted task at the stream (keys at ``indent`` spaces): its header, then its test cases."""
    header: dict[str, Any] = {}
    started = False
    for key in stream.keys(indent):
        if key == TRAIN_CASES:
            stream.value(indent, keep=False)
        elif key == TEST_CASES:
            visitor.start_task(index, header)
            started = True
            _visit_cases(stream, index, visitor, indent + _INDENT)
        else:
            header[key] = json.loads(stream.value(indent, keep=True))
    if not started:  # a task without test cases
        visitor.start_task(index, header)


def _stream_plan(raw: BinaryIO, visitor: PlanVisitor) -> dict:
    stream = _Stream(raw)
    if stream.peek(len(b'{\n    "')) != b'{\n    "':
        raise _LayoutError("not indented")
    info: dict[str, Any] = {}
    for key in stream.keys(_INDENT):
        if key != "tasks":
            info[key] = json.loads(stream.value(_INDENT, keep=True))
            continue
        task_indent = 2 * _INDENT
        for index, _ in enumerate(stream.items(task_indent), start=1):
            if visitor.done():
                # Stop reading: the rest of the file is not needed (nor checked).
                return info
            if visitor.wants(index):
                _read_task(stream, index, visitor, task_indent + _INDENT)
            else:
                stream.value(task_indent, keep=False)
    return info


def _walk_loaded(plan: Any, visitor: PlanVisitor) -> dict:
    if not isinstance(plan, dict) or not isinstance(plan.get("tasks"), list):
        raise PlanError("not a benchmark plan (no 'tasks' list)")
    for index, task in enumerate(plan["tasks"], start=1):
        if visitor.done():
            break
        if not visitor.wants(index) or not isinstance(task, dict):
            continue
        visitor.start_task(index, {k: v for k, v in task.items() if k not in (TRAIN_CASES, TEST_CASES)})
        for case in task.get(TEST_CASES) or []:
            if not visitor.test_case(index, case):
                break
    return {k: v for k, v in plan.items() if k != "tasks"}


def read_plan(path: Path, visitor_factory) -> tuple[dict, PlanVisitor]:
    """Read one plan, handing its wanted tasks' test cases to a visitor.

    Args:
        path: the ``.json.gz`` (or plain ``.json``) plan.
        visitor_factory: makes the :class:`PlanVisitor`; called again for a whole-file parse when
            the file turns out not to be in the planner's layout (so no half-visited state is kept).

    Returns:
        The plan's top-level fields other than ``tasks`` (``dataset_info``, ``tasks_number``) as far
        as read, and the visitor.

    Raises:
        PlanError: a missing, corrupt or truncated file, or one that is not a plan; the message
            names the file.
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        visitor = visitor_factory()
        try:
            with opener(path, "rb") as raw:
                return _stream_plan(raw, visitor), visitor
        except _LayoutError:
            visitor = visitor_factory()
            with opener(path, "rb") as raw:
                return _walk_loaded(json.load(raw), visitor), visitor
    except PlanError as error:
        raise PlanError(f"{path}: {error}") from None
    except FileNotFoundError:
        raise PlanError(f"{path}: plan file not found") from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PlanError(f"{path}: corrupt plan file ({type(error).__name__}: {error})") from None
