"""lmms-eval model wrappers shipped with medvision-tasks (installed as ``medvision_tasks.models``).

This folder is ``models/`` in the repository and installs as ``medvision_tasks.models``
(``package_dir`` in setup.cfg), so ``medvision_tasks.models.medvision_v0`` is ``models/medvision_v0.py``
and no top-level package named ``models`` is installed.

One module per ``--model`` name, as in lmms-eval's own ``lmms_eval/models/simple/``:
- ``medvision_qwen2_5_vl``: any Qwen2.5-VL checkpoint (Qwen2.5-VL, Lingshu), lossless images,
  greedy decoding, per-request check that the model saw the size the prompt states.
- ``medvision_v0``: the same wrapper with MedVision-V0-7B's defaults (checkpoint, system prompt).
- ``medvision_random``: the random-box / random-value baseline.
- ``medvision_resume``: any lmms-eval model (``model_args=model=<name>,...``) with answer
  checkpoints, so a killed run resumes (``medvision_tasks.checkpoints``).
None shadows a built-in lmms-eval name.

lmms-eval finds them two ways, both read from :data:`AVAILABLE_MODELS`:
- the ``lmms_eval.models`` entry-point group (setup.cfg) points at :func:`manifests`;
- ``LMMS_EVAL_PLUGINS=medvision_tasks`` (deprecated in lmms-eval 0.7.3, still honoured) reads
  ``AVAILABLE_MODELS`` and imports ``medvision_tasks.models.<name>.<class>``.
"""

AVAILABLE_MODELS = {
    "medvision_qwen2_5_vl": "MedVisionQwen2_5_VL",
    "medvision_v0": "MedVisionV0",
    "medvision_random": "MedVisionRandom",
    "medvision_resume": "MedVisionResume",
}
"""``--model`` name -> class name in the module of that name (the shape LMMS_EVAL_PLUGINS requires)."""


def manifests() -> list:
    """The lmms-eval model manifests of this package (one per ``--model`` name).

    Built lazily: lmms-eval loads entry points while its own ``lmms_eval.models`` package is still
    initialising, so importing it at module top would be circular.
    """
    from lmms_eval.models.registry_v2 import ModelManifest

    return [
        ModelManifest(model_id=name, simple_class_path=f"{__name__}.{name}.{class_name}")
        for name, class_name in AVAILABLE_MODELS.items()
    ]
