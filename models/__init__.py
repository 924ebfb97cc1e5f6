"""lmms-eval model wrappers shipped with medvision-tasks.

This folder is ``models/`` in the repository and installs as ``medvision_tasks.models``
(``package_dir`` in setup.cfg), so ``medvision_tasks.models.qwen2_5_vl`` is ``models/qwen2_5_vl.py``
and no top-level package named ``models`` is installed.

lmms-eval discovers the wrappers through the `lmms_eval.models` entry-point group (setup.cfg),
which points at `manifests`. The manifests are built lazily: lmms-eval loads entry points while
its own `lmms_eval.models` package is still initialising, so importing it at module top would be
circular.

`--model` names (none shadows a built-in lmms-eval name):
- `medvision_qwen2_5_vl`: any Qwen2.5-VL checkpoint (Qwen2.5-VL, Lingshu), lossless images,
  greedy decoding, per-request check that the model saw the size the prompt states.
- `medvision_v0`: the same wrapper with MedVision-V0-7B's defaults (checkpoint, system prompt).
- `medvision_random`: the random-box / random-value baseline.
"""


def manifests() -> list:
    """The lmms-eval model manifests of this package (one per `--model` name)."""
    from lmms_eval.models.registry_v2 import ModelManifest

    return [
        ModelManifest(
            model_id="medvision_qwen2_5_vl",
            simple_class_path="medvision_tasks.models.qwen2_5_vl.MedVisionQwen2_5_VL",
        ),
        ModelManifest(
            model_id="medvision_v0",
            simple_class_path="medvision_tasks.models.qwen2_5_vl.MedVisionV0",
        ),
        ModelManifest(
            model_id="medvision_random",
            simple_class_path="medvision_tasks.models.random_baseline.MedVisionRandom",
        ),
    ]
