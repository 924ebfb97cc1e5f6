"""The plugin's models: ``--model`` name -> class name in the module of that name (LMMS_EVAL_PLUGINS' shape)."""

AVAILABLE_MODELS = {"medvision_killed": "KilledMidway"}
