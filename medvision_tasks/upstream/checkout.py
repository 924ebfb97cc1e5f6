"""An lmms-eval checkout: the files the pull request touches outside the task folder, and its models.

- ``docs/advanced/current_tasks.md``: the hand-kept task list gets a MedVision entry (the group, then
  one line per task) in its section ``### Specialized Vision Tasks``, in alphabetical place;
- ``pyproject.toml``: ``[project.optional-dependencies]`` gets ``medvision = ["medvision-tasks..."]``,
  the package the task folder's ``utils.py`` imports its hooks from;
- ``lmms_eval/models/__init__.py``: read (never written) for the ``--model`` names lmms-eval has.

Every edit replaces what an earlier run wrote, so the command can run again after the table changed.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from medvision_tasks.upstream.task_folder import TASK_FOLDER, UpstreamError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

MODELS_INIT = "lmms_eval/models/__init__.py"
MAIN_MODULE = "lmms_eval/__main__.py"
CURRENT_TASKS = "docs/advanced/current_tasks.md"
PYPROJECT = "pyproject.toml"
TASK_TEST = "test/eval/test_medvision.py"
CURRENT_TASKS_SECTION = ("## 1. Image Tasks", "### Specialized Vision Tasks")
"""The chapter and section of ``current_tasks.md`` the entry goes into (next to SLAKE's and other specialised ones)."""
DISPLAY_NAME = "MedVision"
PAPER_URL = "https://arxiv.org/abs/2511.18676"
EXTRA = "medvision"
"""Name of the optional dependency: ``pip install "lmms_eval[medvision]"``."""
_MODEL_TABLES = ("AVAILABLE_SIMPLE_MODELS", "AVAILABLE_CHAT_TEMPLATE_MODELS", "MODEL_ALIASES")
_ENTRY = re.compile(r"^- \[(?P<name>[^\]]+)\]")


@dataclass(frozen=True)
class Checkout:
    """A checkout of the lmms-eval repository (``git clone https://github.com/EvolvingLMMs-Lab/lmms-eval``)."""

    root: Path

    def path(self, relative: str) -> Path:
        return self.root / relative

    def check(self) -> None:
        """Fail before anything is written if a file the pull request touches or reads is missing.

        Raises:
            UpstreamError: naming every missing file.
        """
        if not self.root.is_dir():
            raise UpstreamError(f"{self.root} is not a folder; pass the root of an lmms-eval clone")
        needed = (MODELS_INIT, MAIN_MODULE, CURRENT_TASKS, PYPROJECT)
        missing = [relative for relative in needed if not self.path(relative).is_file()]
        if not self.path("lmms_eval/tasks").is_dir():
            missing.insert(0, "lmms_eval/tasks/")
        if missing:
            raise UpstreamError(
                f"{self.root} is not an lmms-eval checkout: no {', '.join(missing)} "
                "(clone https://github.com/EvolvingLMMs-Lab/lmms-eval and pass its root)"
            )
        folder = self.path(TASK_FOLDER)
        foreign = [str(path.relative_to(folder)) for path in _files(folder) if not _is_generated(path)]
        if foreign:
            raise UpstreamError(
                f"{folder} holds files this command did not write ({', '.join(sorted(foreign))}); "
                "move them away, the folder is regenerated as a whole"
            )


def _files(folder: Path) -> list[Path]:
    """Every file below ``folder``, bytecode caches left out."""
    if not folder.is_dir():
        return []
    return [path for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts]


def _is_generated(path: Path) -> bool:
    # Every file the command writes into the task folder names the command (YAML header, docstring, README).
    return path.is_file() and "medvision-tasks upstream" in path.read_text(encoding="utf-8", errors="replace")


def model_names(models_init: Path) -> set[str]:
    """The ``--model`` names lmms-eval registers: simple and chat models and their aliases.

    Read from the dict literals ``AVAILABLE_SIMPLE_MODELS``, ``AVAILABLE_CHAT_TEMPLATE_MODELS`` and
    ``MODEL_ALIASES`` (values: alias tuples) of ``lmms_eval/models/__init__.py``, without importing it.

    Raises:
        UpstreamError: none of those tables is found.
    """
    tree = ast.parse(models_init.read_text(encoding="utf-8"), filename=str(models_init))
    names: set[str] = set()
    found = False
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        target = node.target if isinstance(node, ast.AnnAssign) else target
        if not (isinstance(target, ast.Name) and target.id in _MODEL_TABLES and isinstance(node.value, ast.Dict)):
            continue
        found = True
        for key, value in zip(node.value.keys, node.value.values, strict=True):
            names.update(_strings(key))
            if target.id == "MODEL_ALIASES":
                names.update(_strings(value))
    if not found:
        raise UpstreamError(f"{models_init}: no {', '.join(_MODEL_TABLES)} dict found; cannot tell lmms-eval's models")
    return names


def _strings(node: ast.AST | None) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [item for element in node.elts for item in _strings(element)]
    return []


def current_tasks_entry(group: str, tasks: Mapping[str, str]) -> list[str]:
    """The ``current_tasks.md`` lines: ``- [MedVision](paper) (group)`` and ``  - <alias> (<task>)`` per task."""
    return [f"- [{DISPLAY_NAME}]({PAPER_URL}) ({group})"] + [f"  - {alias} ({task})" for task, alias in tasks.items()]


def with_current_tasks_entry(text: str, entry: Sequence[str], source: str) -> str:
    """``current_tasks.md`` with ``entry`` in its section, alphabetically, replacing an earlier MedVision entry.

    Raises:
        UpstreamError: the section is missing (the message names ``source``).
    """
    lines = _without_entry(text.split("\n"), entry[0])
    chapter, section = CURRENT_TASKS_SECTION
    try:
        start = lines.index(section, lines.index(chapter)) + 1
    except ValueError:
        raise UpstreamError(f"{source} has no section {section!r} under {chapter!r}") from None
    end = start
    while end < len(lines) and not lines[end].startswith(("#", "---")):
        end += 1
    while end > start and not lines[end - 1].strip():
        end -= 1  # the section's list ends before its trailing blank lines
    position = end
    for index in range(start, end):
        match = _ENTRY.match(lines[index])
        if match and match.group("name").casefold() > DISPLAY_NAME.casefold():
            position = index
            break
    return "\n".join(lines[:position] + list(entry) + lines[position:])


def _without_entry(lines: list[str], head: str) -> list[str]:
    """``lines`` without an entry starting with ``head`` and its indented sub-lines."""
    if head not in lines:
        return lines
    start = lines.index(head)
    end = start + 1
    while end < len(lines) and lines[end].startswith("  - "):
        end += 1
    return lines[:start] + lines[end:]


def with_optional_dependency(text: str, requirement: str, source: str) -> str:
    """``pyproject.toml`` with ``medvision = ["<requirement>"]`` in ``[project.optional-dependencies]``.

    An earlier ``medvision`` entry is replaced; every other value is checked unchanged.

    Raises:
        UpstreamError: no such table, or the edit would change anything else (the message names ``source``).
    """
    lines = text.split("\n")
    table = "[project.optional-dependencies]"
    if table not in lines:
        raise UpstreamError(f"{source} has no {table} table")
    start = lines.index(table) + 1
    end = next((index for index in range(start, len(lines)) if lines[index].startswith("[")), len(lines))
    own = next((index for index in range(start, end) if re.match(rf"{EXTRA}\s*=", lines[index])), None)
    if own is not None:
        close = own if lines[own].rstrip().endswith("]") else lines.index("]", own)
        del lines[own : close + 1]
        end -= close + 1 - own
    # In front of the `all` bundle when there is one, else at the end of the table's entries.
    position = next((index for index in range(start, end) if re.match(r"all\s*=", lines[index])), None)
    if position is None:
        position = end
        while position > start and not lines[position - 1].strip():
            position -= 1
    lines[position:position] = [f"{EXTRA} = [", f'    "{requirement}",', "]"]
    edited = "\n".join(lines)
    before, after = tomllib.loads(text), tomllib.loads(edited)
    after_extras = after["project"]["optional-dependencies"]
    if after_extras.pop(EXTRA) != [requirement]:
        raise UpstreamError(f"{source}: the {EXTRA} extra did not come out as written")
    before["project"]["optional-dependencies"].pop(EXTRA, None)
    if before != after:
        raise UpstreamError(f"{source}: adding the {EXTRA} extra would change other values; add it by hand")
    return edited


def package_requirement(version: str) -> str:
    """``medvision-tasks>=X.Y.Z,<X.(Y+1)``: the hook names the YAMLs use are stable within a minor version."""
    major, minor = (int(part) for part in version.split(".")[:2])
    return f"medvision-tasks>={version},<{major}.{minor + 1}"
