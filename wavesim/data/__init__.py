"""PyTorch datasets of retinal waves: clips from stores, live waves, contrastive pairs.

torch is an optional dependency of wavesim; this subpackage needs it
(``pip install wavesim[torch]``).

- :class:`WaveClips`: clips from stores, sharded over DataLoader workers and
  distributed ranks, every clip once per epoch, resumable mid-epoch.
- :class:`LiveWaves`: retinas simulated in the training process, on the GPU
  with no copy to the host.
- :class:`WavePairs`: pairs of nearby frames of one wave, for contrastive
  pre-training, from stores or from :class:`UserMovie` (a calcium-imaging
  movie of one's own).
"""

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError("wavesim.data needs PyTorch: pip install 'wavesim[torch]' (torch>=2.3).") from exc

from ._clips import WaveClips, pixel_statistics
from ._frames import FrameTransform
from ._live import LiveWaves, draw_retina_params
from ._movies import UserMovie
from ._pairs import WavePairs
from ._plan import EpochPlan
from ._sharded import BatchLoader

__all__ = [
    "BatchLoader",
    "EpochPlan",
    "FrameTransform",
    "LiveWaves",
    "UserMovie",
    "WaveClips",
    "WavePairs",
    "draw_retina_params",
    "pixel_statistics",
]
