"""``medvision-tasks upstream CHECKOUT``: write the MedVision pull request into an lmms-eval checkout."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from medvision_tasks import __version__, messages
from medvision_tasks.families import TASK_PREFIX
from medvision_tasks.upstream import checkout as lmms_checkout
from medvision_tasks.upstream.plugins_fix import PATCH_FILE, plugins_fix_patch
from medvision_tasks.upstream.task_folder import TASK_FOLDER, UpstreamError, task_folder, template

_WRITES = (
    (f"{TASK_FOLDER}/", "task and group YAMLs, utils.py (hooks from medvision-tasks), README.md"),
    (lmms_checkout.TASK_TEST, "the tasks' test (synthetic, offline)"),
    (lmms_checkout.CURRENT_TASKS, "the MedVision entry"),
    (lmms_checkout.PYPROJECT, f"the optional dependency `{lmms_checkout.EXTRA}`"),
    (PATCH_FILE, "the LMMS_EVAL_PLUGINS fix and its test, for a pull request of its own"),
)
_WIDTH = max(len(path) for path, _ in _WRITES)
DESCRIPTION = (
    "Write the MedVision tasks into a checkout of lmms-eval, as a pull request needs them:\n\n"
    + "".join(f"  {path:<{_WIDTH}}  {what}\n" for path, what in _WRITES)
    + """
Everything is derived from the table the plugin's task folder is generated from; run it again after
the table changed. Nothing is written unless all of it can be. How to open the pull requests: the
README's "Contributing upstream" and docs/upstream.md.
"""
)


def write_pull_request(root: Path) -> list[Path]:
    """Write every file of the pull request into the lmms-eval checkout at ``root``.

    Returns:
        The paths written.

    Raises:
        UpstreamError: the checkout cannot take the files; nothing has been written.
    """
    checkout = lmms_checkout.Checkout(root)
    checkout.check()
    folder = task_folder(lmms_checkout.model_names(checkout.path(lmms_checkout.MODELS_INIT)))
    if folder.left_out_models:
        messages.info(
            "left out of the upstream model-policy table, as lmms-eval has no such --model: "
            + ", ".join(folder.left_out_models)
        )
    current_tasks = checkout.path(lmms_checkout.CURRENT_TASKS)
    pyproject = checkout.path(lmms_checkout.PYPROJECT)
    main_module = checkout.path(lmms_checkout.MAIN_MODULE)
    outputs = {
        current_tasks: lmms_checkout.with_current_tasks_entry(
            current_tasks.read_text(encoding="utf-8"),
            lmms_checkout.current_tasks_entry(TASK_PREFIX, folder.listed_tasks()),
            str(current_tasks),
        ),
        pyproject: lmms_checkout.with_optional_dependency(
            pyproject.read_text(encoding="utf-8"), lmms_checkout.package_requirement(__version__), str(pyproject)
        ),
        checkout.path(lmms_checkout.TASK_TEST): template("test_medvision.py"),
    }
    patch = plugins_fix_patch(main_module.read_text(encoding="utf-8"), str(main_module))
    if patch is None:
        messages.info(f"{main_module} already indexes LMMS_EVAL_PLUGINS task folders first: no patch needed")
        checkout.path(PATCH_FILE).unlink(missing_ok=True)  # an earlier run's patch no longer applies
    else:
        outputs[checkout.path(PATCH_FILE)] = patch
    target = checkout.path(TASK_FOLDER)
    if target.exists():
        shutil.rmtree(target)  # checked to hold only generated files: a removed task leaves no stale YAML
    target.mkdir(parents=True)
    outputs |= {target / name: content for name, content in folder.files.items()}
    for path, content in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return list(outputs)


def main(argv: list[str] | None = None) -> int:
    """Run ``medvision-tasks upstream``; returns 0, or 2 when nothing could be written."""
    parser = argparse.ArgumentParser(
        prog="medvision-tasks upstream", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkout", type=Path, metavar="LMMS_EVAL_CHECKOUT", help="root of an lmms-eval clone")
    args = parser.parse_args(argv)
    try:
        written = write_pull_request(args.checkout)
    except UpstreamError as error:
        messages.error(f"{error}; nothing was written")
        return 2
    for path in written:
        print(path)
    messages.info(f"wrote {len(written)} files into {args.checkout}; next steps: docs/upstream.md")
    return 0
