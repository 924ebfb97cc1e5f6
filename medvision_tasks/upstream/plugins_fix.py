"""The ``LMMS_EVAL_PLUGINS`` fix for lmms-eval, as a patch with its own test.

lmms-eval's ``cli_evaluate_single`` (``lmms_eval/__main__.py``) builds its ``TaskManager``, which
indexes every task folder on the include path, and only further down appends the ``tasks`` folder of
each ``LMMS_EVAL_PLUGINS`` package to ``args.include_path``: a plugin's tasks are never found (0.7.3
and main ``75571cfe``). The fix moves that block above the ``TaskManager``. The patch is computed
against the checkout's own file, so it applies to the version the pull request targets, and adds
``templates/test_plugins_task_path.py`` as ``test/cli/test_plugins_task_path.py``, which fails
without the fix.
"""

from __future__ import annotations

import difflib
import re

from medvision_tasks.upstream.checkout import MAIN_MODULE
from medvision_tasks.upstream.task_folder import UpstreamError, template

PATCH_FILE = "lmms-eval-plugins-task-path.patch"
"""Written at the checkout's root; ``git apply`` it on a branch of its own."""
FIX_TEST = "test/cli/test_plugins_task_path.py"
SUBJECT = "fix: index the task folders of LMMS_EVAL_PLUGINS before building the TaskManager"
_FUNCTION = "def cli_evaluate_single("
_PLUGIN_BLOCK = re.compile(r'^(?P<indent>\s+)if os\.environ\.get\("LMMS_EVAL_PLUGINS"')
_TASK_MANAGER = re.compile(r"^\s+task_manager = TaskManager\(")
_INCLUDE_LOG = re.compile(r"^\s+if args\.include_path is not None:")


def fixed_main_module(text: str, source: str) -> str | None:
    """``lmms_eval/__main__.py`` with the plugin block moved above the ``TaskManager``.

    The block (the ``if os.environ.get("LMMS_EVAL_PLUGINS"...)`` statement and its body) goes in
    front of the ``if args.include_path is not None:`` log line that precedes the ``TaskManager``,
    so the log shows the plugin folders too.

    Args:
        text: the file's content.
        source: its path, for messages.

    Returns:
        The fixed content, or None when the block already comes before the ``TaskManager``.

    Raises:
        UpstreamError: ``cli_evaluate_single``, its ``TaskManager`` or the plugin block is not found.
    """
    lines = text.splitlines(keepends=True)
    start = next((index for index, line in enumerate(lines) if line.startswith(_FUNCTION)), None)
    if start is None:
        raise UpstreamError(f"{source}: no {_FUNCTION.rstrip('(')}(); the fix does not fit this lmms-eval")
    end = next(
        (index for index in range(start + 1, len(lines)) if lines[index].strip() and not lines[index][0].isspace()),
        len(lines),
    )
    manager = next((index for index in range(start, end) if _TASK_MANAGER.match(lines[index])), None)
    block = next((index for index in range(start, end) if _PLUGIN_BLOCK.match(lines[index])), None)
    if manager is None or block is None:
        missing = "the TaskManager construction" if manager is None else "the LMMS_EVAL_PLUGINS block"
        raise UpstreamError(f"{source}: {missing} not found in cli_evaluate_single(); the fix does not fit")
    if block < manager:
        return None
    indent = len(_PLUGIN_BLOCK.match(lines[block]).group("indent"))
    block_end = block + 1
    while block_end < end and (not lines[block_end].strip() or _indent(lines[block_end]) > indent):
        block_end += 1
    while not lines[block_end - 1].strip():
        block_end -= 1  # blank lines after the block stay where they are
    moved = lines[block:block_end]
    trailing_blank = block_end < len(lines) and not lines[block_end].strip()
    remaining = lines[:block] + lines[block_end + (1 if trailing_blank else 0) :]
    insert = manager
    if _INCLUDE_LOG.match(remaining[manager - 2]) and manager - 2 > start:
        insert = manager - 2
    return "".join(remaining[:insert] + moved + ["\n"] + remaining[insert:])


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def plugins_fix_patch(main_module: str, source: str) -> str | None:
    """A ``git apply`` patch: the fix of ``lmms_eval/__main__.py`` and its new test file.

    Args:
        main_module: the checkout's ``lmms_eval/__main__.py``.
        source: its path, for messages.

    Returns:
        The patch text (a description, then the diffs), or None when the checkout is already fixed.
    """
    fixed = fixed_main_module(main_module, source)
    if fixed is None:
        return None
    test_lines = template("test_plugins_task_path.py").splitlines(keepends=True)
    description = (
        f"{SUBJECT}\n\n"
        "cli_evaluate_single() built the TaskManager before appending each LMMS_EVAL_PLUGINS package's\n"
        "tasks folder to args.include_path, so the TaskManager never indexed them and `--tasks <plugin task>`\n"
        "failed with 'Tasks not found'. Append them first. The test runs cli_evaluate_single() up to the\n"
        "TaskManager and checks the include path it is given.\n\n"
        "Apply with `git apply " + PATCH_FILE + "` from the repository root.\n\n"
    )
    main_diff = difflib.unified_diff(
        main_module.splitlines(keepends=True),
        fixed.splitlines(keepends=True),
        f"a/{MAIN_MODULE}",
        f"b/{MAIN_MODULE}",
    )
    test_diff = [
        "--- /dev/null\n",
        f"+++ b/{FIX_TEST}\n",
        f"@@ -0,0 +1,{len(test_lines)} @@\n",
        *(f"+{line}" for line in test_lines),
    ]
    return (
        description
        + f"diff --git a/{MAIN_MODULE} b/{MAIN_MODULE}\n"
        + "".join(main_diff)
        + f"diff --git a/{FIX_TEST} b/{FIX_TEST}\nnew file mode 100644\n"
        + "".join(test_diff)
    )
