# The MedVision lmms-eval task folder. Installed as `medvision_tasks.tasks` so that
# `LMMS_EVAL_PLUGINS=medvision_tasks` can find it; `medvision-tasks path` prints its location.
