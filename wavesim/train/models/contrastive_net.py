"""The SimCLR network of Ligeralde et al. (2023): a ResNet encoder and a projector."""

import numbers

import torch
import torch.nn.functional as F
from torch import nn

from wavesim.errors import ParameterError
from wavesim.validate import check_bool, check_int, is_bool

from ..contrastive import ContrastiveConfig
from .resnets import ENCODERS, initial_weights

__all__ = ["ContrastiveNet"]


def _projector(feature_dim, dims, batch_norm):
    """Linear layers ``feature_dim -> dims[0] -> ... -> dims[-1]`` with ReLUs between them.

    With ``batch_norm`` (Ligeralde et al.'s projector, after the Barlow Twins
    code): every hidden layer is Linear without bias, BatchNorm1d, ReLU, and
    the last Linear has no bias either; without it, plain Linear with bias.
    """
    widths = [feature_dim, *dims]
    layers = []
    for n_in, n_out in zip(widths[:-2], widths[1:-1]):
        layers.append(nn.Linear(n_in, n_out, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(nn.ReLU(inplace=True))
    layers.append(nn.Linear(widths[-2], widths[-1], bias=not batch_norm))
    return nn.Sequential(*layers)


class ContrastiveNet(nn.Module):
    """SimCLR network of Ligeralde et al. (2023): a ResNet encoder and a projector.

    By default a ResNet-18 as Ligeralde et al.'s (:class:`~wavesim.train.models.ResNet18`'s
    defaults) and a 512-512-128 projector with biases. ``encoder``, ``stem``,
    ``init``, ``encoder_width``, ``projector_dims`` and
    ``projector_batch_norm`` select their other set-ups, e.g. their
    ResNet-9 with a 8192-8192-8192 projector of batch-normed layers
    (:data:`wavesim.train.contrastive.CONTRASTIVE_CONFIGS`). Grayscale inputs,
    (B, H, W) or (B, 1, H, W), are repeated to the encoder's channels (their
    "three channels" frames are grayscale frames repeated); inputs of another
    size are resized to 32x32 with area interpolation. Trained with
    :func:`wavesim.train.losses.nt_xent_loss`.

    Parameters
    ----------
    backbone : torch.nn.Module or None
        Module mapping (B, in_channels, 32, 32) images to (B, feature_dim)
        features (``feature_dim`` attribute, else 512); None: a fresh encoder
        of ``encoder``.
    projection_dim : int
        Output dimension of the default projector (feature_dim -> feature_dim -> projection_dim),
        used when ``projector_dims`` is None.
    encoder : {"resnet9", "resnet18", "resnet50"}
        The encoder built when ``backbone`` is None (:data:`~wavesim.train.models.ENCODERS`).
    stem : {"imagenet", "cifar"} or None
        Stem of a ResNet-18 or -50 (:data:`~wavesim.train.models.STEMS`); None: the encoder's default
        (ImageNet, as theirs). The ResNet-9 has its own.
    in_channels : int
        Channels the encoder takes (3: grayscale repeated; 1: grayscale as it is).
    projector_dims : sequence of int or None
        Widths of the projector's layers after the features, the last one
        the output; e.g. (8192, 8192, 8192) for their three-layer projector.
    projector_batch_norm : bool
        Their projector's layout (see ``_projector``).
    init : {"torch", "torchvision", "ligeralde2023"} or None
        Initial weights of the encoder (:func:`wavesim.train.weight_init.initialise`);
        None: the encoder's default (theirs: ``"torch"`` for the ResNet-9,
        ``"ligeralde2023"`` for the ResNet-18 and -50). The projector's are
        torch's layer defaults, as theirs.
    encoder_width : int or None
        Width of a ResNet-9 (:class:`~wavesim.train.models.ResNet9`'s ``width``); None: theirs, 64.
    generator : torch.Generator, optional
        Source of all initial weights; the global random state is then
        neither used nor changed. None: torch's global generator.

    Attributes
    ----------
    config : dict
        The keyword arguments that rebuild this network (without ``backbone``),
        what checkpoints store.
    """

    image_size = 32

    def __init__(self, backbone=None, projection_dim=128, *, encoder="resnet18", stem=None, in_channels=3,
                 projector_dims=None, projector_batch_norm=False, init=None, encoder_width=None, generator=None):
        super().__init__()
        projection_dim = check_int("projection_dim", projection_dim, low=1)
        if encoder not in ENCODERS:
            raise ParameterError(f"encoder must be one of {tuple(ENCODERS)}, got {encoder!r}")
        if stem is not None and encoder == "resnet9":
            raise ParameterError("the ResNet-9 has its own stem; leave stem=None for encoder='resnet9'")
        if encoder_width is not None and encoder != "resnet9":
            raise ParameterError(f"encoder_width sets the width of a ResNet-9; leave it None for encoder={encoder!r}")
        in_channels = check_int("in_channels", in_channels, low=1)
        if projector_dims is not None:
            projector_dims = tuple(projector_dims)
            if not projector_dims or not all(isinstance(d, numbers.Integral) and not is_bool(d) and d >= 1
                                             for d in projector_dims):
                raise ParameterError(f"projector_dims must be positive integers (the widths of the projector's "
                                     f"layers), got {projector_dims!r}")
            projector_dims = tuple(int(d) for d in projector_dims)
        projector_batch_norm = check_bool("projector_batch_norm", projector_batch_norm)
        if encoder == "resnet9":
            init = init or "torch"
            kwargs = {"width": 64 if encoder_width is None else encoder_width}
        else:
            stem, init = stem or "imagenet", init or "ligeralde2023"
            kwargs = {"stem": stem}
        # with a generator, the layers' own draws at construction must not move the global random state
        with torch.random.fork_rng(devices=[], enabled=generator is not None):
            if backbone is None:
                backbone = ENCODERS[encoder](in_channels, init=init, generator=generator, **kwargs)
            feature_dim = getattr(backbone, "feature_dim", 512)
            projector = _projector(feature_dim, projector_dims or (feature_dim, projection_dim), projector_batch_norm)
        self.backbone = backbone
        self.in_channels = getattr(backbone, "in_channels", in_channels)
        self.projector = initial_weights(projector, "torch", generator)
        self.config = {"projection_dim": projection_dim, "encoder": encoder, "stem": stem,
                       "in_channels": in_channels,
                       "projector_dims": None if projector_dims is None else list(projector_dims),
                       "projector_batch_norm": projector_batch_norm, "init": init,
                       "encoder_width": kwargs.get("width")}

    @classmethod
    def from_config(cls, config: ContrastiveConfig, *, generator=None) -> "ContrastiveNet":
        """A freshly initialised network of a contrastive set-up.

        Parameters
        ----------
        config : ContrastiveConfig
            The set-up (:func:`~wavesim.train.contrastive.contrastive_config`).
        generator : torch.Generator, optional
            Draws all initial weights; None: torch's global generator.

        Examples
        --------
        >>> from wavesim.train.contrastive import contrastive_config
        >>> config = contrastive_config("ligeralde2023", encoder_width=4, projector_dims=(16, 8))
        >>> net = ContrastiveNet.from_config(config, generator=torch.Generator().manual_seed(0))
        >>> net(torch.rand(2, 32, 32)).shape
        torch.Size([2, 8])
        """
        if not isinstance(config, ContrastiveConfig):
            raise ParameterError(f"config must be a ContrastiveConfig (wavesim.train.contrastive.contrastive_config), "
                                 f"got {type(config).__name__}")
        return cls(**config.model_config(), generator=generator)

    def _prepare(self, x):
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.dim() != 4 or x.shape[1] not in (1, self.in_channels):
            raise ParameterError(
                f"expected images of shape (B, H, W), (B, 1, H, W) or (B, {self.in_channels}, H, W), "
                f"got {tuple(x.shape)}"
            )
        if x.shape[1] != self.in_channels:
            x = x.expand(-1, self.in_channels, -1, -1)
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="area")
        return x

    def features(self, x):
        """Return the backbone's (B, feature_dim) features, the representation that is evaluated."""
        return self.backbone(self._prepare(x))

    def layer_responses(self, x):
        """Every layer's activity of the backbone on images ``x`` (as :meth:`features` takes them).

        Returns
        -------
        dict of str -> torch.Tensor
            The backbone's ``layer_responses`` (for the ResNet-18: ``"stem"``,
            ``"stage1"`` ... ``"stage4"`` and ``"pooled"``, see
            :class:`~wavesim.train.models.ResNet18`; for the ResNet-9,
            :meth:`~wavesim.train.models.ResNet9.layer_responses`).
        """
        if not hasattr(self.backbone, "layer_responses"):
            raise ParameterError(f"the backbone {type(self.backbone).__name__} has no layer_responses method")
        return self.backbone.layer_responses(self._prepare(x))

    def forward(self, x):
        """Return the (B, output width) projections fed to the contrastive loss."""
        return self.projector(self.features(x))

