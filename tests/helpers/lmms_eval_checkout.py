"""A stand-in lmms-eval checkout: a copy of the installed lmms-eval package plus the two repository files
the pull request edits, written small and by hand in lmms-eval's own layout (main ``75571cfe``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import lmms_eval

PYPROJECT = """\
[project]
name = "lmms_eval"
version = "0.7.3"

[project.optional-dependencies]
qwen = [
    "qwen_vl_utils",
]
all = [
    "lmms_eval[qwen]",
]

[tool.black]
line-length = 240
"""

CURRENT_TASKS = """\
# Current Tasks

## 1. Image Tasks

### Core VQA & Understanding Benchmarks
- [AI2D](https://arxiv.org/abs/1603.07396) (ai2d)

### Specialized Vision Tasks
- [LSD-Bench](https://github.com/LSD-Bench/LSD-Bench) (lsdbench)
- [MIA-Bench](https://github.com/MIA-Bench/MIA-Bench) (mia_bench)

---

## 2. Multi-image Tasks
"""


def write_repository_files(root: Path) -> Path:
    """``pyproject.toml`` and ``docs/advanced/current_tasks.md`` under ``root``; returns ``root``."""
    (root / "docs" / "advanced").mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "docs" / "advanced" / "current_tasks.md").write_text(CURRENT_TASKS)
    return root


def copy_of_installed_lmms_eval(root: Path) -> Path:
    """``root/lmms_eval``: a copy of the installed package (no bytecode), and the repository files; returns ``root``."""
    shutil.copytree(Path(lmms_eval.__file__).parent, root / "lmms_eval", ignore=shutil.ignore_patterns("__pycache__"))
    return write_repository_files(root)
