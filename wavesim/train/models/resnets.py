"""ResNet encoders of Ligeralde et al. (2023): their ResNet-9, and torchvision's ResNet-18 and -50 layouts.

Layouts read from the authors' released code (repository
chung-neuroai-lab/retinal_waves_learning, ``src/models.py`` and
``src/resnet9.py``); no classifier heads: every encoder returns features.
"""

from torch import nn

from wavesim.errors import ParameterError
from wavesim.validate import check_int

from ..weight_init import initialise
from ._layers import conv3x3

__all__ = ["ENCODERS", "STEMS", "BasicBlock", "Bottleneck", "ResNet18", "ResNet50", "ResNet9", "resnet18"]


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 conv-BN layers and a (projected when needed) shortcut.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out.
    stride : int
        Stride of the first convolution (2 halves the resolution).
    """

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, bias=False, stride=stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        # one ReLU module, called twice, registered where torchvision's is: forward hooks on ReLU modules
        # (Ligeralde et al.'s layer analysis) then see the layers theirs see
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(out_channels, out_channels, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


#: Stems of the ResNet-18 and -50: ``"cifar"`` a 3x3 convolution with stride 1 and no max-pool (32 x 32 inputs);
#: ``"imagenet"`` torchvision's 7x7 convolution with stride 2 and a 3x3 max-pool with stride 2, which
#: Ligeralde et al.'s code keeps on its 32 x 32 frames (a quarter of the resolution after the stem).
STEMS = ("cifar", "imagenet")


def initial_weights(module, init, generator):
    """Draw ``module``'s weights by ``init``, unless its layers already hold them (torch's, from the global state)."""
    if init != "torch" or generator is not None:
        initialise(module, init, generator=generator)
    return module


def _stem(in_channels, stem):
    if stem not in STEMS:
        raise ParameterError(f"stem must be one of {STEMS}, got {stem!r}")
    if stem == "cifar":
        return nn.Sequential(conv3x3(in_channels, 64, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True))
    return nn.Sequential(nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64),
                         nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1))


class _StagedResNet(nn.Module):
    """A stem, stages of residual blocks and global average pooling; no classifier head."""

    def __init__(self, in_channels, stem):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, low=1)
        self.stem = _stem(self.in_channels, stem)

    def _check(self, x):
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ParameterError(
                f"expected images of shape (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )

    def forward(self, x):
        """Return the (B, feature_dim) features of (B, in_channels, H, W) images."""
        self._check(x)
        return self.stages(self.stem(x)).mean(dim=(2, 3))

    def layer_responses(self, x):
        """Every layer's activity on images ``x`` (B, in_channels, H, W), for the manifold analysis.

        Returns
        -------
        dict of str -> torch.Tensor
            ``"stem"``; ``"stage1"`` ... ``"stage4"``, each stage's output
            after its last block's ReLU; ``"pooled"`` (B, feature_dim), the
            features :meth:`forward` returns.
        """
        self._check(x)
        responses = {"stem": self.stem(x)}
        out = responses["stem"]
        for index, stage in enumerate(self.stages):
            out = stage(out)
            responses[f"stage{index + 1}"] = out
        responses["pooled"] = out.mean(dim=(2, 3))
        return responses


class ResNet18(_StagedResNet):
    """ResNet-18 returning 512-d pooled features; by default Ligeralde et al.'s (torchvision's, no classifier).

    Stem (see :data:`STEMS`): by default torchvision's 7x7 convolution with
    stride 2, BN, ReLU and a 3x3 max-pool with stride 2, as in Ligeralde et
    al.'s code on 32 x 32 frames; ``stem="cifar"``: a 3x3 convolution with
    stride 1 and no max-pool. Then four stages of two :class:`BasicBlock`
    each with 64, 128, 256 and 512 channels; then global average pooling.
    No classifier head. With the CIFAR stem, :meth:`layer_responses` on
    H x W images gives ``"stem"`` (B, 64, H, W), ``"stage1"`` ... ``"stage4"``
    (B, 64, H, W), (B, 128, H/2, W/2), (B, 256, H/4, W/4), (B, 512, H/8, W/8)
    and ``"pooled"`` (B, 512); the ImageNet stem divides H and W by 4 first.
    The defaults build their network: torchvision's ``resnet18`` with its
    ``conv1`` replaced, initialised as theirs (``init="ligeralde2023"``).

    Parameters
    ----------
    in_channels : int
        Channels of the input images.
    stem : {"imagenet", "cifar"}
        The stem (:data:`STEMS`).
    init : {"ligeralde2023", "torchvision", "torch"}
        Initial weights (:func:`wavesim.train.weight_init.initialise`).
    generator : torch.Generator, optional
        Source of the initial weights; None: torch's global generator.
    """

    feature_dim = 512

    def __init__(self, in_channels=3, stem="imagenet", init="ligeralde2023", generator=None):
        super().__init__(in_channels, stem)
        stages, channels = [], 64
        for width, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages.append(nn.Sequential(BasicBlock(channels, width, stride), BasicBlock(width, width)))
            channels = width
        self.stages = nn.Sequential(*stages)
        initial_weights(self, init, generator)


class Bottleneck(nn.Module):
    """ResNet-50 bottleneck block: 1x1, 3x3 (with the stride, as torchvision's v1.5) and 1x1 conv-BN layers.

    Parameters
    ----------
    in_channels : int
        Channels in.
    width : int
        Channels of the 3x3 convolution; ``4 * width`` come out.
    stride : int
        Stride of the 3x3 convolution.
    """

    expansion = 4

    def __init__(self, in_channels, width, stride=1):
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, bias=False, stride=stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)  # called three times, registered where torchvision's is (see BasicBlock)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


class ResNet50(_StagedResNet):
    """ResNet-50 returning 2048-d pooled features; torchvision's layout without its classifier.

    Stem (see :data:`STEMS`, default ``"imagenet"`` as in Ligeralde et al.'s
    code), then stages of 3, 4, 6 and 3 :class:`Bottleneck` blocks of width
    64, 128, 256 and 512 (256 ... 2048 channels out), then global average
    pooling. :meth:`layer_responses` as :class:`ResNet18`'s.

    Parameters
    ----------
    in_channels : int
        Channels of the input images.
    stem : {"imagenet", "cifar"}
    init : {"ligeralde2023", "torchvision", "torch"}
        Initial weights (:func:`wavesim.train.weight_init.initialise`); the
        default is theirs.
    generator : torch.Generator, optional
        Source of the initial weights; None: torch's global generator.
    """

    feature_dim = 2048

    def __init__(self, in_channels=3, stem="imagenet", init="ligeralde2023", generator=None):
        super().__init__(in_channels, stem)
        stages, channels = [], 64
        for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            layers = [Bottleneck(channels, width, stride)]
            channels = width * Bottleneck.expansion
            layers += [Bottleneck(channels, width) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        initial_weights(self, init, generator)


class _ResNet9Block(nn.Module):
    """Ligeralde et al.'s residual block: ``x + relu(bn(conv(relu(bn(conv(x))))))``.

    Their block applies the second ReLU before adding the shortcut (not
    after, as He et al.'s does); kept, so that their weights run unchanged.
    """

    def __init__(self, channels, momentum):
        super().__init__()
        self.conv1 = conv3x3(channels, channels, bias=False)
        self.bn1 = nn.BatchNorm2d(channels, momentum=momentum)
        self.conv2 = conv3x3(channels, channels, bias=False)
        self.bn2 = nn.BatchNorm2d(channels, momentum=momentum)
        self.relu = nn.ReLU()  # called twice, registered last as in their block (see BasicBlock)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return x + self.relu(self.bn2(self.conv2(out)))


class ResNet9(nn.Module):
    """The ResNet-9 of Ligeralde et al.'s code (their ``src/resnet9.py``), returning 1024-d features on 32x32.

    Layer for layer: conv 3x3 to 64 channels, BN, ReLU; conv 3x3 to 128, BN,
    ReLU, 2x2 max-pool; a residual block of 128; conv to 256, BN, ReLU,
    max-pool; conv to 256, BN, ReLU, max-pool; a residual block of 256; a
    last max-pool; the (256, H/16, W/16) map flattened (1024 values for
    32 x 32 inputs; their ``fc`` classifier is dropped, as their SimCLR
    model drops it). No biases before batch norms. Their batch norms use
    ``momentum=0.9`` (torch's convention: running statistics mostly from
    the last batch), kept as theirs. 2,437,696 parameters for 3 input channels.
    Their weights are torch's layer defaults (``init="torch"``).

    Parameters
    ----------
    in_channels : int
        Channels of the input images (3 in their code: grayscale frames repeated).
    width : int
        Channels of the first layer (64 in theirs); the others scale with it
        (``2 * width``, ``4 * width``), and so do the features (``16 * width``
        on 32 x 32). Narrower networks are for CPU-sized runs.
    init : {"torch", "torchvision", "ligeralde2023"}
        Initial weights (:func:`wavesim.train.weight_init.initialise`).
    generator : torch.Generator, optional
        Source of the initial weights; None: torch's global generator.
    """

    #: torch momentum of the batch norms, as in their code.
    bn_momentum = 0.9

    def __init__(self, in_channels=3, width=64, init="torch", generator=None):
        super().__init__()
        in_channels = check_int("in_channels", in_channels, low=1)
        width = check_int("width", width, low=1, high=4096,
                          what="channels of the first layer; 64 in Ligeralde et al.'s ResNet-9")
        self.in_channels = in_channels
        self.width = width
        self.feature_dim = 16 * width
        m = self.bn_momentum

        def conv_bn(n_in, n_out):
            return [conv3x3(n_in, n_out, bias=False), nn.BatchNorm2d(n_out, momentum=m), nn.ReLU(inplace=True)]

        w1, w2, w4 = width, 2 * width, 4 * width
        self.prep = nn.Sequential(*conv_bn(in_channels, w1), *conv_bn(w1, w2), nn.MaxPool2d(2))
        self.res1 = _ResNet9Block(w2, m)
        self.conv2 = nn.Sequential(*conv_bn(w2, w4), nn.MaxPool2d(2))
        self.conv3 = nn.Sequential(*conv_bn(w4, w4), nn.MaxPool2d(2))
        self.res2 = _ResNet9Block(w4, m)
        self.pool = nn.MaxPool2d(2)
        initial_weights(self, init, generator)

    def _check(self, x):
        if x.dim() != 4 or x.shape[1] != self.in_channels or min(x.shape[-2:]) < 16:
            raise ParameterError(
                f"expected images of shape (B, {self.in_channels}, H, W) with H, W >= 16, got {tuple(x.shape)}"
            )

    def forward(self, x):
        """Return the (B, 256 * (H/16) * (W/16)) features of (B, in_channels, H, W) images (1024 on 32 x 32)."""
        return self.layer_responses(x)["pooled"]

    def layer_responses(self, x):
        """Every layer's activity on images ``x``, for the manifold analysis.

        Returns
        -------
        dict of str -> torch.Tensor
            ``"prep"`` (B, 128, H/2, W/2), ``"res1"`` (same), ``"conv2"``
            (B, 256, H/4, W/4), ``"conv3"`` (B, 256, H/8, W/8), ``"res2"``
            (same) and ``"pooled"``, the flattened (B, 256 * H/16 * W/16)
            features :meth:`forward` returns.
        """
        self._check(x)
        responses = {"prep": self.prep(x)}
        responses["res1"] = self.res1(responses["prep"])
        responses["conv2"] = self.conv2(responses["res1"])
        responses["conv3"] = self.conv3(responses["conv2"])
        responses["res2"] = self.res2(responses["conv3"])
        responses["pooled"] = self.pool(responses["res2"]).flatten(1)
        return responses


#: The encoders of :class:`~wavesim.train.models.ContrastiveNet` by name.
ENCODERS = {"resnet9": ResNet9, "resnet18": ResNet18, "resnet50": ResNet50}


def resnet18(in_channels=3):
    """Return a freshly initialised :class:`ResNet18` feature extractor, Ligeralde et al.'s.

    Parameters
    ----------
    in_channels : int
        Channels of the input images.

    Returns
    -------
    ResNet18
        Module mapping (B, in_channels, H, W) images to (B, 512) features
        (11,176,512 parameters for 3 input channels: torchvision's resnet18 without its classifier).
    """
    return ResNet18(in_channels)

