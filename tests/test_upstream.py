"""``medvision-tasks upstream``: the upstream task folder is the plugin's, rewritten; the checkout edits; the fix."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import lmms_eval
import lmms_eval.models
import pytest
from medvision_tasks.models import AVAILABLE_MODELS
from medvision_tasks.tasks import _generate_configs

import medvision_tasks.utils as hooks
from medvision_tasks import __version__
from medvision_tasks.cli import main as medvision_tasks_main
from medvision_tasks.documents import sample_dir
from medvision_tasks.upstream import checkout, plugins_fix
from medvision_tasks.upstream import task_folder as task_folder_module
from medvision_tasks.upstream.task_folder import (
    HEADER,
    UpstreamError,
    _Rewriter,
    changelog_versions,
    plugin_readme,
    readme_sections,
    task_folder,
    template,
)
from tests.helpers.lmms_eval_checkout import CURRENT_TASKS, PYPROJECT, write_repository_files

REPO = Path(__file__).resolve().parents[1]
INSTALLED_MAIN = Path(lmms_eval.__file__).with_name("__main__.py")
BUILT_IN_MODELS = (
    set(lmms_eval.models.AVAILABLE_SIMPLE_MODELS)
    | set(lmms_eval.models.AVAILABLE_CHAT_TEMPLATE_MODELS)
    | {alias for aliases in lmms_eval.models.MODEL_ALIASES.values() for alias in aliases}
)


@pytest.fixture(scope="module")
def folder():
    return task_folder(checkout.model_names(Path(lmms_eval.models.__file__)))


def _as_upstream(plugin_yaml: str) -> str:
    """The plugin's committed YAML rewritten by hand, line by line, as the upstream folder must hold it."""
    text = plugin_yaml.replace(_generate_configs.HEADER, HEADER).replace("'medvision_tasks.utils.", "'utils.")
    text = re.sub(
        r"data_files: sample/(\w+)\.jsonl",
        lambda m: f"data_files: !function 'utils.MEDVISION_SAMPLE_{m[1].upper()}'",
        text,
    )
    return re.sub(r"  medvision_\w+:\n    image_policy: \w+\n", "", text)  # the plugin's own --model names


def test_every_yaml_is_the_plugins_with_hooks_from_utils_and_the_sample_from_the_package(folder):
    plugin_files = _generate_configs.generated_files()
    assert set(folder.files) == set(plugin_files) | {"utils.py", "README.md"}
    for name in plugin_files:
        assert folder.files[name] == _as_upstream((REPO / "yaml_tasks" / name).read_text()), name
    assert "  data_files: !function 'utils.MEDVISION_SAMPLE_TL'\n" in folder.files["_tl_yaml"]
    assert "process_docs: !function 'utils.medvision_process_docs_tl_axial'\n" in folder.files["medvision_tl_cot.yaml"]


def test_model_policy_table_names_only_lmms_eval_models(folder):
    table = folder.configs["_default_template_yaml"]["lmms_eval_specific_kwargs"]
    assert set(table) - {"default"} <= BUILT_IN_MODELS
    # exactly this package's wrappers; medvision_resume takes the policy of the model inside it
    assert set(folder.left_out_models) == set(AVAILABLE_MODELS) - {"medvision_resume"}
    assert table["qwen2_5_vl"] == {"image_policy": "qwen2_5_vl"} and table["default"] == {
        "image_policy": "unmapped_native"
    }


def test_model_names_are_read_from_lmms_eval_without_importing_it():
    assert checkout.model_names(Path(lmms_eval.models.__file__)) == BUILT_IN_MODELS


def test_utils_module_re_exports_the_hooks_and_points_at_the_installed_sample(folder, tmp_path):
    # Loaded as lmms-eval loads a task folder's utils.py for `!function utils.<name>`.
    (tmp_path / "utils.py").write_text(folder.files["utils.py"])
    spec = importlib.util.spec_from_file_location("utils", tmp_path / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    namespace = vars(module)

    named = set()
    for content in folder.files.values():
        named |= set(re.findall(r"!function 'utils\.(\w+)'", content))
    assert set(namespace["__all__"]) == named
    for name in named - {"MEDVISION_SAMPLE_DETECTION", "MEDVISION_SAMPLE_TL", "MEDVISION_SAMPLE_AD"}:
        assert namespace[name] is getattr(hooks, name), name
    for family in ("detection", "tl", "ad"):
        path = namespace[f"MEDVISION_SAMPLE_{family.upper()}"]
        assert path == str(sample_dir() / f"{family}.jsonl") and Path(path).is_file()


def test_configs_in_a_subfolder_get_a_utils_module_beside_them(monkeypatch):
    configs = _generate_configs.generated_configs()
    configs["no_image/medvision_tl_no_image.yaml"] = {**configs["medvision_tl.yaml"], "task": "medvision_tl_no_image"}
    monkeypatch.setattr(task_folder_module, "generated_configs", lambda: configs)

    files = task_folder_module.task_folder(BUILT_IN_MODELS).files

    assert files["no_image/utils.py"] == files["utils.py"]
    assert "task: medvision_tl_no_image\n" in files["no_image/medvision_tl_no_image.yaml"]


def test_generated_python_passes_lmms_evals_lint_settings(folder, tmp_path):
    # lmms-eval's pre-commit: black --line-length=240, isort --profile black (lmms_eval first-party
    # in its own checkout); then pyflakes' and pycodestyle's errors as ruff reports them.
    files = {"utils.py": folder.files["utils.py"]} | {
        name: template(name) for name in ("test_medvision.py", "test_plugins_task_path.py")
    }
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    checks = {
        "black": ["black", "--check", "--diff", "--line-length=240", *files],
        "isort": ["isort", "--check-only", "--diff", "--profile", "black", "--project", "lmms_eval", *files],
        "ruff": ["ruff", "check", "--isolated", "--line-length", "240", "--select", "E,F,W", *files],
    }
    for name, command in checks.items():
        ran = subprocess.run(
            [sys.executable, "-m", *command], check=False, cwd=tmp_path, capture_output=True, text=True
        )
        assert ran.returncode == 0, f"{name}: {ran.stdout}{ran.stderr}"


def test_a_hook_from_outside_the_package_or_data_outside_the_sample_is_refused():
    with pytest.raises(UpstreamError, match=r"x\.yaml: !function mypkg\.fn is not a hook of the medvision_tasks"):
        _Rewriter(set()).config({"doc_to_text": _generate_configs._Function("mypkg.fn")}, "x.yaml")
    with pytest.raises(
        UpstreamError, match=r"x\.yaml: data_files '/data/tl\.jsonl' is not a file of the bundled sample"
    ):
        _Rewriter(set()).config({"dataset_kwargs": {"data_files": "/data/tl.jsonl"}}, "x.yaml")


def test_task_readme_carries_the_plugin_readme_sections_and_the_policy_table(folder):
    readme = folder.files["README.md"]
    sections = readme_sections(plugin_readme(), ("Metrics", "Changelog"), "yaml_tasks/README.md")
    assert sections["Metrics"] in readme and sections["Changelog"] in readme
    assert "| `qwen2_5_vl` | `qwen2_5_vl` | Qwen2.5-VL / Lingshu" in readme
    assert "medvision_random" not in readme
    assert "](../" not in readme  # links into this repository are plain text there
    assert "$" not in readme.replace("$(", "")  # every placeholder filled


def test_every_task_version_has_a_changelog_entry(folder):
    assert folder.versions() == {str(_generate_configs.TASK_VERSION)}
    changelog = readme_sections(plugin_readme(), ("Changelog",), "yaml_tasks/README.md")["Changelog"]
    assert folder.versions() <= changelog_versions(changelog)
    assert changelog_versions("- **1.0** first\n- **1.1** (x): second\n  - **9** nested, not an entry") == {
        "1.0",
        "1.1",
    }


def test_current_tasks_lists_the_group_tasks_first_then_the_others(folder):
    group = _generate_configs.group_config()["task"]
    listed = folder.listed_tasks()
    assert list(listed)[: len(group)] == group
    assert set(listed) == {name.removesuffix(".yaml") for name in folder.files if name.startswith("medvision_")}
    assert listed["medvision_tl_cot_coronal"] == "Tumor/lesion size (CoT, coronal)"


def test_current_tasks_entry_goes_in_alphabetical_place_once():
    entry = checkout.current_tasks_entry("medvision", {"medvision_tl": "T/L (plain)", "medvision_ad": "A/D (plain)"})
    expected = CURRENT_TASKS.replace(
        "- [MIA-Bench]",
        "- [MedVision](https://arxiv.org/abs/2511.18676) (medvision)\n"
        "  - T/L (plain) (medvision_tl)\n"
        "  - A/D (plain) (medvision_ad)\n"
        "- [MIA-Bench]",
    )
    once = checkout.with_current_tasks_entry(CURRENT_TASKS, entry, "current_tasks.md")
    assert once == expected
    shorter = entry[:2]  # a rerun after the table changed replaces the entry
    assert checkout.with_current_tasks_entry(once, shorter, "current_tasks.md") == CURRENT_TASKS.replace(
        "- [MIA-Bench]", "\n".join(shorter) + "\n- [MIA-Bench]"
    )
    last = "### Specialized Vision Tasks\n- [AV-SpeakerBench](https://x) (av)\n\n---\n"
    assert checkout.with_current_tasks_entry("## 1. Image Tasks\n" + last, entry[:1], "c.md") == (
        "## 1. Image Tasks\n### Specialized Vision Tasks\n- [AV-SpeakerBench](https://x) (av)\n"
        + entry[0]
        + "\n\n---\n"
    )
    with pytest.raises(UpstreamError, match="c.md has no section '### Specialized Vision Tasks'"):
        checkout.with_current_tasks_entry("## 1. Image Tasks\n", entry, "c.md")


def test_optional_dependency_goes_before_the_all_bundle_once():
    requirement = "medvision-tasks>=0.1.0,<0.2"
    expected = PYPROJECT.replace("all = [", f'medvision = [\n    "{requirement}",\n]\nall = [')
    once = checkout.with_optional_dependency(PYPROJECT, requirement, "pyproject.toml")
    assert once == expected
    assert checkout.with_optional_dependency(once, requirement, "pyproject.toml") == expected
    no_bundle = "[project]\nname = 'x'\n\n[project.optional-dependencies]\nqwen = ['a']\n\n[tool.x]\ny = 1\n"
    assert checkout.with_optional_dependency(no_bundle, requirement, "p.toml") == no_bundle.replace(
        "qwen = ['a']\n", f"qwen = ['a']\nmedvision = [\n    \"{requirement}\",\n]\n"
    )
    with pytest.raises(UpstreamError, match=r"p\.toml has no \[project\.optional-dependencies\] table"):
        checkout.with_optional_dependency("[project]\nname = 'x'\n", requirement, "p.toml")
    assert checkout.package_requirement("0.1.0") == requirement
    assert checkout.package_requirement("1.12.3") == "medvision-tasks>=1.12.3,<1.13"


MAIN_BEFORE = """\
import os


def cli_evaluate_single(args):
    selected = args.tasks

    if args.include_path is not None:
        log(args.include_path)
    task_manager = TaskManager(args.verbosity, include_path=args.include_path)

    if args.limit:
        check(args.limit)

    if os.environ.get("LMMS_EVAL_PLUGINS", None):
        args.include_path = [args.include_path] if args.include_path else []
        for plugin in os.environ["LMMS_EVAL_PLUGINS"].split(","):
            args.include_path.append(plugin)

    if args.tasks is None:
        return None


def other():
    task_manager = TaskManager()
"""

MAIN_AFTER = """\
import os


def cli_evaluate_single(args):
    selected = args.tasks

    if os.environ.get("LMMS_EVAL_PLUGINS", None):
        args.include_path = [args.include_path] if args.include_path else []
        for plugin in os.environ["LMMS_EVAL_PLUGINS"].split(","):
            args.include_path.append(plugin)

    if args.include_path is not None:
        log(args.include_path)
    task_manager = TaskManager(args.verbosity, include_path=args.include_path)

    if args.limit:
        check(args.limit)

    if args.tasks is None:
        return None


def other():
    task_manager = TaskManager()
"""


def _git_apply(root: Path, patch: str) -> None:
    (root / "fix.patch").write_text(patch)
    subprocess.run(["git", "apply", "fix.patch"], cwd=root, check=True, capture_output=True)


def test_plugin_block_moves_above_the_task_manager(tmp_path):
    assert plugins_fix.fixed_main_module(MAIN_BEFORE, "m.py") == MAIN_AFTER
    assert plugins_fix.fixed_main_module(MAIN_AFTER, "m.py") is None  # already fixed
    with pytest.raises(UpstreamError, match="m.py: the LMMS_EVAL_PLUGINS block not found"):
        plugins_fix.fixed_main_module(MAIN_BEFORE.replace("LMMS_EVAL_PLUGINS", "OTHER"), "m.py")

    (tmp_path / "lmms_eval").mkdir()
    (tmp_path / "lmms_eval" / "__main__.py").write_text(MAIN_BEFORE)
    _git_apply(tmp_path, plugins_fix.plugins_fix_patch(MAIN_BEFORE, "m.py"))
    assert (tmp_path / "lmms_eval" / "__main__.py").read_text() == MAIN_AFTER
    assert (tmp_path / plugins_fix.FIX_TEST).read_text() == template("test_plugins_task_path.py")


def test_patch_applies_to_the_installed_lmms_eval(tmp_path):
    original = INSTALLED_MAIN.read_text()
    (tmp_path / "lmms_eval").mkdir()
    (tmp_path / "lmms_eval" / "__main__.py").write_text(original)
    _git_apply(tmp_path, plugins_fix.plugins_fix_patch(original, str(INSTALLED_MAIN)))
    fixed = (tmp_path / "lmms_eval" / "__main__.py").read_text()

    block = '    if os.environ.get("LMMS_EVAL_PLUGINS", None):\n'
    manager = "    task_manager = TaskManager(args.verbosity, include_path=args.include_path, model_name=args.model)\n"
    assert original.index(block) > original.index(manager)
    assert fixed.index("def cli_evaluate_single(") < fixed.index(block) < fixed.index(manager)
    assert sorted(fixed.splitlines()) == sorted(original.splitlines())  # lines moved, none changed
    compile(fixed, "__main__.py", "exec")


def test_command_refuses_what_is_not_a_checkout_and_writes_nothing(tmp_path, capsys):
    write_repository_files(tmp_path)
    assert medvision_tasks_main(["upstream", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"MedVision error: {tmp_path} is not an lmms-eval checkout: no lmms_eval/tasks/, ")
    assert "lmms_eval/models/__init__.py, lmms_eval/__main__.py" in err and err.rstrip().endswith("nothing was written")
    assert (tmp_path / "pyproject.toml").read_text() == PYPROJECT
    assert medvision_tasks_main(["upstream", str(tmp_path / "absent")]) == 2
    assert capsys.readouterr().err == (
        f"MedVision error: {tmp_path / 'absent'} is not a folder; pass the root of an lmms-eval clone; nothing was written\n"
    )


def test_command_writes_the_pull_request_and_keeps_foreign_files(tmp_path, capsys):
    write_repository_files(tmp_path)
    (tmp_path / "lmms_eval" / "tasks").mkdir(parents=True)
    (tmp_path / "lmms_eval" / "models").mkdir()
    (tmp_path / "lmms_eval" / "models" / "__init__.py").write_text(Path(lmms_eval.models.__file__).read_text())
    (tmp_path / "lmms_eval" / "__main__.py").write_text(MAIN_BEFORE)

    assert medvision_tasks_main(["upstream", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    folder = tmp_path / "lmms_eval" / "tasks" / "medvision"
    assert (folder / "medvision_tl_cot.yaml").is_file() and (tmp_path / "test" / "eval" / "test_medvision.py").is_file()
    assert f"medvision-tasks>={__version__}" in (tmp_path / "pyproject.toml").read_text()
    assert "(medvision_tl_cot)" in (tmp_path / "docs" / "advanced" / "current_tasks.md").read_text()
    assert (tmp_path / plugins_fix.PATCH_FILE).is_file()
    assert str(folder / "utils.py") in captured.out.splitlines()
    assert "MedVision: left out of the upstream model-policy table" in captured.err

    (folder / "my_notes.txt").write_text("mine")
    assert medvision_tasks_main(["upstream", str(tmp_path)]) == 2
    assert "holds files this command did not write (my_notes.txt)" in capsys.readouterr().err
    assert (folder / "my_notes.txt").read_text() == "mine"
