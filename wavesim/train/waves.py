"""Where pre-training waves come from, and the wave model May et al. (2025) pre-trained on.

Importing this module does not load torch, so the command line can read
its defaults.
"""

from __future__ import annotations

import dataclasses

from ..errors import ParameterError
from ..models import get_model
from ..parameters import ValidatedParams, field

#: The waves May et al. (2025) pre-trained on, as a wave model, a preset and a warm-up (s): their
#: directional generator as its released script runs it (one wave at a time: no warm-up).
PAPER_WAVES = {"wave_model": "directional", "wave_preset": "may2025"}

#: May et al.'s limit on epochs; early stopping ends training well before it.
PAPER_MAX_EPOCHS = 200


@dataclasses.dataclass(frozen=True)
class WaveSource(ValidatedParams):
    """Where pre-training waves come from: a registered wave model and preset, simulated into fixed clip sets.

    As in May et al. (2025), pre-training sees a fixed training set and a
    fixed validation set of clips, epoch after epoch. :func:`~wavesim.train.clip_sets.make_clip_sets`
    simulates them with :class:`~wavesim.data.LiveWaves` (``n_retinas``
    retinas at once, each giving one clip after another), the validation
    clips from retinas of their own.

    Parameters
    ----------
    wave_model : str
        Registered wave model (:func:`wavesim.models.list_models`); default
        the paper's, :data:`PAPER_WAVES`.
    wave_preset : str or None
        Preset of that model; None: the paper's (may2025) for the paper's model, else the model's default preset.
    warmup_s : float (s) or None
        Simulated time before the first clip.
    size_px : int (pixels)
        Side of the square frames (64 in the paper).
    clip_frames : int
        Frames per clip: inputs and the target (11 in the paper).
    training_clips, validation_clips : int
        Clips in each set.
    n_retinas : int
        Retinas simulated together.
    """

    wave_model: str = PAPER_WAVES["wave_model"]
    wave_preset: str | None = None
    warmup_s: float | None = field(None, unit="s", low=0.0, high=1e6, optional=True,
                                   doc="simulated time before clips; None: the wave model's (0 for single waves)")
    size_px: int = field(64, unit="px", low=4, high=4096, integer=True, doc="side of the square frames")
    clip_frames: int = field(11, unit="1", low=2, high=10_000, integer=True, doc="frames per clip, target included")
    training_clips: int = field(2048, unit="1", low=1, high=10**8, integer=True, doc="clips in the training set")
    validation_clips: int = field(256, unit="1", low=1, high=10**8, integer=True, doc="clips in the validation set")
    n_retinas: int = field(16, unit="1", low=1, high=10**6, integer=True, doc="retinas simulated together")

    def _check_relations(self) -> None:
        for name in ("wave_model", "wave_preset"):
            value = getattr(self, name)
            if not isinstance(value, str) and not (name == "wave_preset" and value is None):
                raise ParameterError(f"WaveSource.{name} must be a name (a string), got {value!r}.")
        self.params()  # an unknown model or preset fails here, naming the choices

    def params(self):
        """The wave model's parameters: its preset ``wave_preset`` (None: see the class)."""
        preset = self.wave_preset
        if preset is None and self.wave_model == PAPER_WAVES["wave_model"]:
            preset = PAPER_WAVES["wave_preset"]
        return get_model(self.wave_model).preset(preset)

    def live_waves(self, *, batch_size: int, seed: int, backend: str = "auto", rank: int | None = None,
                   world_size: int | None = None):
        """A :class:`~wavesim.data.LiveWaves` stream of these waves (``n_retinas`` rounded up to ``batch_size``).

        ``rank`` and ``world_size`` as for LiveWaves (default from ``torch.distributed``).
        """
        from ..data import LiveWaves

        n_retinas = -(-self.n_retinas // batch_size) * batch_size
        return LiveWaves(self.params(), n_retinas=n_retinas, batch_size=batch_size, clip_frames=self.clip_frames,
                         size_px=self.size_px, warmup_s=self.warmup_s, seed=seed, backend=backend, rank=rank,
                         world_size=world_size)
