"""``medvision_v0``: MedVision-V0-7B through the MedVision Qwen2.5-VL wrapper, with its model card's defaults."""

from __future__ import annotations

from medvision_tasks.models.medvision_qwen2_5_vl import MedVisionQwen2_5_VL

MEDVISION_V0_CHECKPOINT = "YongchengYAO/MedVision-V0-7B"


class MedVisionV0(MedVisionQwen2_5_VL):
    """MedVision-V0-7B as its model card runs it: the checkpoint and the system prompt by default.

    The task side (``image_policy: medvision_v0``) hands it 512x512 images, as it was trained and
    benchmarked, which its processor sees as 504x504 (the size the prompts state, checked per
    request); use the ``*_cot`` tasks, which carry the CoT prompts it was trained on.
    """

    model_name = "medvision_v0"

    def __init__(
        self,
        pretrained: str = MEDVISION_V0_CHECKPOINT,
        use_system_prompt: bool | str = True,
        **kwargs,
    ) -> None:
        super().__init__(pretrained=pretrained, use_system_prompt=use_system_prompt, **kwargs)
