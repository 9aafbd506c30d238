"""Named contrastive set-ups: wavesim's default and Ligeralde et al.'s (2023) ``ligeralde2023``.

Importing this module does not load torch, so the command line can read
the configurations.

``ligeralde2023`` is the set-up of the authors' released code (repository
chung-neuroai-lab/retinal_waves_learning: ``README.md``'s pre-training
command, ``configs/default_configs.py``, ``src/models.py``, ``src/losses.py``):
SimCLR on wave frames whose positives are frames exactly one frame apart
within one wave ("chopped" wave segments, ``FRAME_SEPARATION 1``) and
whose negatives are frames of other waves; a ResNet-9 encoder on 32 x 32
grayscale frames repeated to three channels; a projector of three layers
8192-8192-8192 (Linear without bias, BatchNorm1d, ReLU between them);
NT-Xent at temperature 0.5; Adam, learning rate 1e-4, weight decay 1e-6;
100 epochs. ``docs/paper_experiments.md`` lists what wavesim does
differently (one pair per wave and batch; batch size).
"""

from __future__ import annotations

import dataclasses
import numbers

from ..errors import ParameterError
from ..parameters import ValidatedParams, choice_field, field
from ..validate import check_bool, is_bool
from .settings import TrainSettings

ENCODER_NAMES = ("resnet9", "resnet18", "resnet50")
STEM_NAMES = ("default", "cifar", "imagenet")
#: "default" and :data:`wavesim.train.weight_init.INIT_SCHEMES` (not imported: that module loads torch).
INIT_NAMES = ("default", "torch", "torchvision", "ligeralde2023")


@dataclasses.dataclass(frozen=True)
class ContrastiveConfig(ValidatedParams):
    """A contrastive pre-training set-up: network, pairs and optimiser.

    Parameters
    ----------
    encoder : {"resnet9", "resnet18", "resnet50"}
        The encoder (:data:`wavesim.train.models.ENCODERS`).
    stem : {"default", "cifar", "imagenet"}
        Stem of a ResNet-18 or -50 ("default": ImageNet, as Ligeralde et
        al.'s; the ResNet-9 has its own).
    init : {"default", "torch", "torchvision", "ligeralde2023"}
        Initial weights of the encoder (:func:`wavesim.train.weight_init.initialise`;
        "default": theirs, torch's for the ResNet-9, "ligeralde2023" for the ResNet-18 and -50).
    encoder_width : int or None
        Width of a ResNet-9 (channels of its first layer); None: theirs, 64.
    in_channels : int
        Channels the encoder takes: 3 repeats grayscale frames, 1 keeps them.
    projector_dims : tuple of int
        Widths of the projector's layers after the encoder's features; the last is the output.
    projector_batch_norm : bool
        Batch-normed hidden layers and no biases (their projector) instead of plain Linear layers.
    temperature : float
        NT-Xent temperature.
    learning_rate, weight_decay : float
        Adam's.
    batch_size : int
        Pairs per update (each from another wave).
    epochs : int or None
        Passes over the waves (one pair per wave each); None: give updates instead.
    frame_separation_frames : int or None
        Positives exactly this many frames from their anchor, within one wave;
        None: anywhere up to ``max_offset_frames`` away.
    max_offset_frames : int
        Largest anchor-positive distance when ``frame_separation_frames`` is None.
    """

    encoder: str = choice_field("resnet18", choices=ENCODER_NAMES, doc="encoder")
    stem: str = choice_field("default", choices=STEM_NAMES, doc="stem of a ResNet-18 or -50")
    init: str = choice_field("default", choices=INIT_NAMES, doc="initial weights of the encoder")
    encoder_width: int | None = field(None, unit="channels", low=1, high=4096, integer=True, optional=True,
                                      doc="width of a ResNet-9; None: 64, theirs")
    in_channels: int = field(3, unit="1", low=1, high=3, integer=True, doc="channels the encoder takes")
    projector_dims: tuple = (512, 128)
    projector_batch_norm: bool = False
    temperature: float = field(0.5, unit="1", low=1e-3, high=100.0, doc="NT-Xent temperature")
    learning_rate: float = field(1e-4, unit="1", low=1e-9, high=10.0, doc="Adam's learning rate")
    weight_decay: float = field(1e-6, unit="1", low=0.0, high=1.0, doc="Adam's weight decay")
    batch_size: int = field(256, unit="1", low=2, high=1_000_000, integer=True, doc="pairs per update")
    epochs: int | None = field(None, unit="1", low=1, high=1_000_000, integer=True, optional=True,
                               doc="passes over the waves; None: a number of updates is given instead")
    frame_separation_frames: int | None = field(None, unit="frames", low=1, high=1_000_000, integer=True,
                                                optional=True, doc="exact anchor-positive distance")
    max_offset_frames: int = field(2, unit="frames", low=1, high=1_000_000, integer=True,
                                   doc="largest anchor-positive distance without an exact separation")

    def _check_relations(self) -> None:
        dims = self.projector_dims
        if isinstance(dims, str):
            try:
                dims = tuple(int(d) for d in dims.replace("-", ",").split(",") if d.strip())
            except ValueError:
                raise ParameterError(f"ContrastiveConfig.projector_dims must be widths such as '8192-8192-8192' "
                                     f"or (512, 128), got {self.projector_dims!r}.") from None
        dims = tuple(dims) if isinstance(dims, (list, tuple)) else (dims,)
        if not dims or not all(isinstance(d, numbers.Integral) and not is_bool(d) and 1 <= d <= 1_000_000
                               for d in dims):
            raise ParameterError(f"ContrastiveConfig.projector_dims must be one or more widths in [1, 1000000], "
                                 f"got {self.projector_dims!r}.")
        object.__setattr__(self, "projector_dims", tuple(int(d) for d in dims))
        object.__setattr__(self, "projector_batch_norm",
                           check_bool("ContrastiveConfig.projector_batch_norm", self.projector_batch_norm))
        if self.encoder == "resnet9" and self.stem != "default":
            raise ParameterError(f"ContrastiveConfig.stem = {self.stem!r}: the ResNet-9 has its own stem; "
                                 f"use stem='default' with encoder='resnet9'.")
        if self.encoder != "resnet9" and self.encoder_width is not None:
            raise ParameterError(f"ContrastiveConfig.encoder_width = {self.encoder_width} sets the width of a "
                                 f"ResNet-9; leave it None with encoder={self.encoder!r}.")

    def model_config(self) -> dict:
        """Keyword arguments of :class:`~wavesim.train.models.ContrastiveNet` for this set-up.

        :meth:`ContrastiveNet.from_config <wavesim.train.models.ContrastiveNet.from_config>` builds the network.
        """
        return {"encoder": self.encoder, "stem": None if self.stem == "default" else self.stem,
                "in_channels": self.in_channels, "projector_dims": list(self.projector_dims),
                "projector_batch_norm": self.projector_batch_norm,
                "init": None if self.init == "default" else self.init, "encoder_width": self.encoder_width}

    def pair_options(self) -> dict:
        """Keyword arguments of :class:`~wavesim.data.WavePairs` that set its positives."""
        return {"frame_separation": self.frame_separation_frames, "max_offset_frames": self.max_offset_frames}

    def settings(self, **overrides):
        """:class:`~wavesim.train.settings.TrainSettings` with this set-up's optimiser and batch size."""
        values = {"learning_rate": self.learning_rate, "weight_decay": self.weight_decay,
                  "batch_size": self.batch_size}
        values.update(overrides)
        return TrainSettings(**values)

    def replace(self, **changes) -> "ContrastiveConfig":
        """A copy with ``changes`` (validated again)."""
        return dataclasses.replace(self, **changes)


#: The named set-ups (:func:`contrastive_config`).
CONTRASTIVE_CONFIGS = {
    # wavesim's own: a ResNet-18 (Ligeralde et al.'s, torchvision's layout) and the 512 -> 128 projector
    "default": ContrastiveConfig(),
    "ligeralde2023": ContrastiveConfig(encoder="resnet9", projector_dims=(8192, 8192, 8192), projector_batch_norm=True,
                                       epochs=100, frame_separation_frames=1),
}


def contrastive_config(name: str = "default", **changes) -> ContrastiveConfig:
    """The named set-up of :data:`CONTRASTIVE_CONFIGS`, with ``changes`` to its fields.

    Examples
    --------
    >>> contrastive_config("ligeralde2023").projector_dims
    (8192, 8192, 8192)
    >>> contrastive_config("ligeralde2023", encoder="resnet18").encoder
    'resnet18'
    """
    if name not in CONTRASTIVE_CONFIGS:
        raise ParameterError(f"contrastive config must be one of {tuple(CONTRASTIVE_CONFIGS)}, got {name!r}.")
    config = CONTRASTIVE_CONFIGS[name]
    return config.replace(**changes) if changes else config
