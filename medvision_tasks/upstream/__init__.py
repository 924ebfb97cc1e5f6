"""The MedVision tasks as an lmms-eval pull request (``medvision-tasks upstream CHECKOUT``).

Everything is derived from what the plugin itself runs, so the pull request never drifts from it:

- :mod:`.task_folder`: ``lmms_eval/tasks/medvision/`` from the task YAML generator's configs
  (``yaml_tasks/_generate_configs.py``): the YAMLs name ``utils.<hook>``, a generated ``utils.py``
  re-exports those hooks from the installed ``medvision_tasks`` package and points the YAMLs at
  its bundled sample, and the task README reuses ``yaml_tasks/README.md``;
- :mod:`.checkout`: what the pull request changes outside the task folder (the
  ``docs/advanced/current_tasks.md`` entry, the ``medvision`` optional dependency in
  ``pyproject.toml``) and the model names the checkout's lmms-eval knows;
- :mod:`.plugins_fix`: the ``LMMS_EVAL_PLUGINS`` fix (the plugin's task folder is indexed before
  the task manager is built) as a patch with its own test;
- :mod:`.cli`: the command line.

``templates/`` holds the test files the pull request adds and the task README's frame.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """``medvision-tasks upstream CHECKOUT``.

    Args:
        argv: the arguments after ``upstream``; default ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 2 when the checkout cannot take the files (nothing written).
    """
    from medvision_tasks.upstream.cli import main as cli_main

    return cli_main(argv)


__all__ = ["main"]
