"""MedVision (arXiv 2511.18676) as an lmms-eval task plugin.

Quantitative medical image analysis for vision-language models: detection boxes, tumor/lesion
axis lengths in millimetres, and landmark distances and angles.
"""

__version__ = "0.2.0"
