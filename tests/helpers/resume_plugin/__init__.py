"""A test-only lmms-eval plugin (``LMMS_EVAL_PLUGINS=tests.helpers.resume_plugin``): a model killed midway.

lmms-eval imports ``<plugin>.models`` (its ``AVAILABLE_MODELS``) and looks up ``<plugin>.tasks``
(an empty folder here: the MedVision tasks come from ``--include_path``).
"""
