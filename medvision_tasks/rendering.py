"""Slice rendering exactly as upstream MedVision did it, per protocol (docs/fidelity.md).

The steps, in upstream's order (``medvision_utils.doc_to_visual`` / ``_load_nifti_2d``):

1. the 2D slice of the RAS+ volume, no transpose, flip or rotation, as float32
   (``get_fdata().astype("float32")``);
2. a reshape, when the image policy hands the model another size than the slice's
   (:mod:`medvision_tasks.spacing`): ``scipy.ndimage.zoom`` on the raw intensities, ``order=1``
   (first release) or ``order=0`` for slices with at most two distinct values (later pipeline);
3. conversion to 0..255 by the protocol's normalisation rule (:func:`normalization_for`), in
   float32 arithmetic, then ``.astype(np.uint8)``: **truncation**, not rounding;
4. grey to RGB.

Normalisation rules (:mod:`medvision_tasks.protocols`):

- ``minmax`` (first release): ``(x - min) / (max - min) * 255`` per slice; a constant slice is 0.
- ``adaptive`` (``normalize_img``, ``sft_utils.py`` from ``eadae72``): a CT slice of a detection
  or T/L doc whose label's group (``label_map_regroup``) has a CT window is clipped to that
  window ``[L - W/2, L + W/2]`` and scaled to 0..255; every other slice is clipped to its 0.5 and
  99.5 percentiles (numpy's default linear interpolation) and scaled (a slice whose percentiles
  are equal is 0). CT slices keep the percentile rule when the label's group is ``"Others"`` and
  for KiPA22 task 01 (upstream's ``TASK_LIST_FORCE_STANDARD_IMAGE_NORMALIZATION``, contrast CT).

Where upstream would stop or produce undefined pixels, this module decides, and says so once:
an A/D doc on CT (upstream: ``KeyError`` on its missing label; its comment intends the general
rule) and a CT label that upstream's map does not hold (upstream: ``KeyError``) take the
percentile rule; non-finite voxels are left out of every range and shown as 0 (upstream: NaN
made min-max slices black and percentile/window pixels undefined).

Speed without changing a byte (docs/performance.md): the rules run their float32 operations in
place on the one buffer the renderer owns (the slice's float32 copy, or the zoom's output), where
a temporary per operation cost several times the arithmetic (fresh memory for each 512x512
image); numpy's percentiles come from the two order statistics around each (selected near the
ends of the slice's values, :func:`percentile_limits`) instead of two sorts of every voxel; and
whether a slice has at most two values (the later pipeline's nearest zoom) is read from its
minimum and maximum instead of ``np.unique``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.ndimage
from PIL import Image

from medvision_tasks import messages
from medvision_tasks.documents import whole_number
from medvision_tasks.families import ANGLE_DISTANCE, DETECTION, TUMOR_LESION
from medvision_tasks.label_groups import CT_WINDOWS, KNEE_SPLIT, OTHERS_GROUP, UnknownLabelError, label_group
from medvision_tasks.protocols import ADAPTIVE, MINMAX, NEAREST_FOR_BINARY, Protocol

PERCENTILE_RANGE = (0.5, 99.5)
"""``normalize_general_img``'s clipping percentiles."""

FORCE_PERCENTILE_TASKS = frozenset({("KiPA22", 1, DETECTION), ("KiPA22", 1, TUMOR_LESION)})
"""``(dataset_name, taskID, family)`` that keep the percentile rule on CT: upstream's
``TASK_LIST_FORCE_STANDARD_IMAGE_NORMALIZATION`` (``c6b60d8``, 2026-02-24; it also lists KiPA22's
mask-size task, which this package does not have)."""
ORDER_STATISTIC_PERCENTILES = np.lib.NumpyVersion(np.__version__) >= "2.0.0"
"""Whether :func:`percentile_limits` repeats ``np.percentile``'s arithmetic: numpy 2's float32 one (NEP 50
promotion); numpy 1 interpolates a float32 slice in float64, so there the slice goes to ``np.percentile``."""

_said: set[str] = set()


def _say_once(message: str) -> None:
    if message not in _said:
        _said.add(message)
        messages.info(message)


def zoom_slice(image: np.ndarray, size_hw: Sequence[int], interpolation: str) -> np.ndarray:
    """Reshape a float32 slice to ``size_hw`` = (H, W) pixels with ``scipy.ndimage.zoom``, as upstream.

    Args:
        image: 2D float32 intensities.
        size_hw: the new ``(H, W)`` in pixels.
        interpolation: a protocol's ``reshape_interpolation``: ``linear`` (``order=1``) or
            ``nearest_for_binary`` (``order=0`` when the slice has at most 2 distinct values).

    Raises:
        ValueError: zoom did not produce ``size_hw`` (its output size is ``round(H * h/H)``).
    """
    height, width = int(size_hw[0]), int(size_hw[1])
    if image.shape == (height, width):
        return image
    binary = interpolation == NEAREST_FOR_BINARY and _at_most_two_values(image)
    zoomed = scipy.ndimage.zoom(image, (height / image.shape[0], width / image.shape[1]), order=0 if binary else 1)
    if zoomed.shape != (height, width):
        raise ValueError(f"zoom of a {image.shape} slice gave {zoomed.shape}, not the requested {(height, width)}")
    return zoomed


def _at_most_two_values(image: np.ndarray) -> bool:
    """``len(np.unique(image)) <= 2`` without sorting: every value is the minimum or the maximum."""
    low, high = image.min(), image.max()
    if np.isnan(low) or np.isnan(high):
        return len(np.unique(image)) <= 2  # NaNs count as one value there
    return bool(np.logical_or(image == low, image == high).all())


def _work(image: np.ndarray, overwrite: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """``(float32 buffer the rule may change in place, mask of finite voxels or None when all are)``."""
    work = image if overwrite and image.dtype == np.float32 else image.astype(np.float32)
    finite = np.isfinite(work)
    return work, None if finite.all() else finite


def _to_uint8(scaled: np.ndarray, finite: np.ndarray | None) -> np.ndarray:
    """Truncate 0..255 floats to uint8 (``.astype(np.uint8)``), non-finite voxels shown as 0."""
    pixels = scaled.astype(np.uint8)
    if finite is not None:
        pixels[~finite] = 0
    return pixels


def minmax_uint8(image: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
    """First-release min-max: ``((x - min) / (max - min) * 255).astype(uint8)`` in float32; constant -> 0.

    Args:
        image: 2D float32 intensities.
        overwrite: the rule may use ``image`` as its buffer (its values are lost).
    """
    work, finite = _work(image, overwrite)
    values = work if finite is None else work[finite]
    if values.size == 0:
        return np.zeros(image.shape, dtype=np.uint8)
    low, high = values.min(), values.max()
    if not high > low:
        return np.zeros(image.shape, dtype=np.uint8)
    if finite is not None:
        work[~finite] = low
    work -= low
    work /= high - low
    work *= 255
    return _to_uint8(work, finite)


def ct_window_uint8(image: np.ndarray, width: float, level: float, *, overwrite: bool = False) -> np.ndarray:
    """``normalize_ct_img``: clip to ``[level - width/2, level + width/2]`` HU, scale to 0..255, truncate.

    Args:
        image: 2D float32 intensities in HU.
        width: window width in HU.
        level: window level (centre) in HU.
        overwrite: the rule may use ``image`` as its buffer (its values are lost).
    """
    work, finite = _work(image, overwrite)
    return _window_uint8(work, finite, level - (width / 2), level + (width / 2))


def _window_uint8(work: np.ndarray, finite: np.ndarray | None, v_min: float, v_max: float) -> np.ndarray:
    """Clip ``work`` in place to ``[v_min, v_max]``, scale to 0..255, truncate: upstream's operations.

    The bounds keep their own types: ``normalize_ct_img`` passes Python floats (weak: the arithmetic
    stays float32), the percentile rule ``np.float32``, as ``np.percentile`` of a float32 slice
    returns.
    """
    if finite is not None:
        work[~finite] = v_min
    np.clip(work, v_min, v_max, out=work)
    work -= v_min
    work /= v_max - v_min
    work *= 255.0
    return _to_uint8(work, finite)


def _percentile_ranks(count: int, q: float) -> tuple[int, int, float]:
    """numpy's linear method: the two order statistics around ``(count - 1) q / 100`` and the upper one's weight."""
    virtual = (count - 1) * (q / 100)
    if virtual >= count - 1:  # numpy takes the largest value
        return count - 1, count - 1, 0.0
    lower = math.floor(virtual)
    return lower, lower + 1, virtual - lower


def _lerp(low: np.float32, high: np.float32, weight: float) -> np.float32:
    """numpy's ``_lerp`` of two float32 order statistics: the same float32 operations, from the nearer end."""
    step = high - low
    return high - step * (1 - weight) if weight >= 0.5 else low + step * weight


def percentile_limits(values: np.ndarray) -> tuple[np.float32, np.float32]:
    """``np.percentile(values, 0.5)`` and ``np.percentile(values, 99.5)`` of 1D float32 values, bit for bit.

    numpy's default (linear) method interpolates between two order statistics; only those four
    are needed (:func:`_order_statistics`), not two sorts of every value.

    Args:
        values: at least one float32 value, none NaN.
    """
    if not ORDER_STATISTIC_PERCENTILES:
        return np.percentile(values, PERCENTILE_RANGE[0]), np.percentile(values, PERCENTILE_RANGE[1])
    ranks = [_percentile_ranks(values.size, q) for q in PERCENTILE_RANGE]
    stats = _order_statistics(values, [rank for lower, upper, _ in ranks for rank in (lower, upper)])
    low, high = (_lerp(stats[2 * n], stats[2 * n + 1], weight) for n, (_, _, weight) in enumerate(ranks))
    return low, high


def _order_statistics(values: np.ndarray, ranks: list[int]) -> list[np.float32]:
    """Order statistics of a 1D float32 array without NaN: each end's few from the values beyond a sampled bound."""
    count = values.size
    if count < 1 << 13:
        return list(np.partition(values, ranks)[ranks])
    sample = np.sort(values[:: count >> 12])
    found: dict[int, np.float32] = {}
    for from_top, wanted in (
        (False, [r for r in ranks if r < count // 2]),
        (True, [r for r in ranks if r >= count // 2]),
    ):
        if not wanted:
            continue
        # Values beyond a bound placed at twice the needed share of the sample, plus a margin.
        needed = (count - min(wanted)) if from_top else (max(wanted) + 1)
        position = min(sample.size - 1, 2 * needed * sample.size // count + 8)
        bound = sample[sample.size - 1 - position] if from_top else sample[position]
        part = values[values >= bound] if from_top else values[values <= bound]
        if part.size < needed:  # the sample misled: select over every value
            return list(np.partition(values, ranks)[ranks])
        offset = count - part.size if from_top else 0
        local = [r - offset for r in wanted]
        found.update(zip(wanted, np.partition(part, local)[local]))
    return [found[r] for r in ranks]


def percentile_uint8(image: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
    """``normalize_general_img``: clip to the slice's 0.5 and 99.5 percentiles, scale to 0..255, truncate.

    Percentiles are numpy's default (linear interpolation) over the finite voxels
    (:func:`percentile_limits`); equal percentiles give an all-zero image.

    Args:
        image: 2D float32 intensities.
        overwrite: the rule may use ``image`` as its buffer (its values are lost).
    """
    work, finite = _work(image, overwrite)
    values = work.ravel() if finite is None else work[finite]
    if values.size == 0:
        return np.zeros(image.shape, dtype=np.uint8)
    v_min, v_max = percentile_limits(values)
    if v_max - v_min == 0:
        return np.zeros(image.shape, dtype=np.uint8)
    return _window_uint8(work, finite, v_min, v_max)


@dataclass(frozen=True)
class Normalization:
    """How one slice is brought to 0..255.

    Attributes:
        rule: ``"minmax"``, ``"ct_window"`` or ``"percentile"``.
        window: ``(width, level)`` in HU for ``ct_window``, else None.
    """

    rule: str
    window: tuple[float, float] | None = None

    def apply(self, image: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
        """The uint8 image of a 2D float32 slice (``overwrite``: the rule may use ``image`` as its buffer)."""
        if self.rule == "ct_window":
            return ct_window_uint8(image, *self.window, overwrite=overwrite)  # type: ignore[misc]
        if self.rule == "percentile":
            return percentile_uint8(image, overwrite=overwrite)
        return minmax_uint8(image, overwrite=overwrite)


MINMAX_NORMALIZATION = Normalization("minmax")
PERCENTILE_NORMALIZATION = Normalization("percentile")


def normalization_for(doc: Mapping, protocol: Protocol) -> Normalization:
    """The normalisation rule of a doc's slice under a protocol (module doc).

    Args:
        doc: a loaded doc: ``family``, ``modality``, ``dataset_name``, ``taskID``, ``label_name``.
        protocol: the run's protocol.
    """
    if protocol.normalization == MINMAX:
        return MINMAX_NORMALIZATION
    if protocol.normalization != ADAPTIVE:
        raise ValueError(f"protocol {protocol.name!r} has an unknown normalization {protocol.normalization!r}")
    if str(doc.get("modality") or "").strip().lower() != "ct":
        return PERCENTILE_NORMALIZATION
    family = doc.get("family")
    if family == ANGLE_DISTANCE:
        _say_once(
            "an angle/distance doc on CT has no label to choose an HU window by: its slice is clipped at "
            "the 0.5/99.5 percentiles (upstream's code would stop on it; none exists in MedVision's data)"
        )
        return PERCENTILE_NORMALIZATION
    if (doc.get("dataset_name"), whole_number(doc.get("taskID")), family) in FORCE_PERCENTILE_TASKS:
        return PERCENTILE_NORMALIZATION
    label = doc.get("label_name")
    try:
        group = label_group(label, KNEE_SPLIT)
    except UnknownLabelError:
        _say_once(
            f"CT label {label!r} is not in upstream's label_map_regroup, so no HU window is known for it: its "
            "slices are clipped at the 0.5/99.5 percentiles (upstream's code would stop on it)"
        )
        return PERCENTILE_NORMALIZATION
    if group == OTHERS_GROUP:
        return PERCENTILE_NORMALIZATION
    return Normalization("ct_window", CT_WINDOWS[group])


def render_slice(
    raw: np.ndarray, size_hw: Sequence[int] | None, *, protocol: Protocol, normalization: Normalization
) -> Image.Image:
    """The RGB PIL image a model is handed.

    Args:
        raw: the 2D slice as stored (any numeric dtype).
        size_hw: the ``(H, W)`` in pixels to hand over (None or the slice's own: no reshape).
        protocol: the run's protocol (its reshape interpolation).
        normalization: the slice's rule (:func:`normalization_for`).
    """
    image = np.asarray(raw).astype(np.float32)
    if size_hw is not None:
        image = zoom_slice(image, size_hw, protocol.reshape_interpolation)
    return Image.fromarray(normalization.apply(image, overwrite=True)).convert("RGB")
