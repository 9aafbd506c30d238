"""Networks pre-trained on retinal-wave movies.

``RecurrentPredictor`` is the next-frame predictor of May, Dauphin & Gjorgjieva
(2025, PLoS Comput Biol, doi:10.1371/journal.pcbi.1012830), layer for layer as
in the authors' released code (repository
comp-neural-circuits/pre-training-ANNs-with-retinal-waves, ``model/``);
``ContrastiveNet`` is the SimCLR network of Ligeralde et al. (2023,
arXiv:2312.02791): a ResNet-9, -18 or -50 encoder and a projector, the
layouts read from the authors' released code (repository
chung-neuroai-lab/retinal_waves_learning, ``src/models.py`` and ``src/resnet9.py``).
"""

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from wavesim.errors import ParameterError

from .weight_init import initialise

__all__ = [
    "BasicBlock",
    "ContrastiveNet",
    "ConvGRUCell",
    "ConvLSTMCell",
    "ConvPeepholeLSTMCell",
    "ConvRNNCell",
    "RecurrentPredictor",
    "ENCODERS",
    "ResNet18",
    "ResNet50",
    "ResNet9",
    "count_parameters",
    "resnet18",
    "shuffle_weights",
]

#: The two shuffled-weights controls of :func:`shuffle_weights`.
SHUFFLE_SCOPES = ("entries", "filters")


def _conv3x3(in_channels, out_channels, bias=True, stride=1):
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=bias)


class _ConvCell(nn.Module):
    """Common part of the convolutional recurrent cells.

    Every cell has an input convolution ``conv_x`` and a recurrent convolution
    ``conv_h``, both 3x3 with bias, like ``torch.nn.RNN``/``LSTM``/``GRU`` with
    matrix products replaced by convolutions (May et al.'s ``x2h`` and
    ``h2h``). Keeping them separate lets :meth:`input_drive` run ``conv_x`` on
    all time steps in one batched call; only ``conv_h`` runs inside the time loop.

    Every parameter of a cell starts uniform in ``[-1/sqrt(hidden), 1/sqrt(hidden)]``,
    as in May et al.'s released cells, not by torch's fan-in rule (under
    which the 64 -> 64 recurrent weights would start three times smaller).
    """

    gates = 1

    def __init__(self, in_channels, hidden_channels):
        super().__init__()
        self.hidden_channels = hidden_channels
        self.conv_x = _conv3x3(in_channels, self.gates * hidden_channels)
        self.conv_h = _conv3x3(hidden_channels, self.gates * hidden_channels)

    def reset_parameters(self, generator=None):
        """Draw every parameter uniform in ``[-1/sqrt(hidden), 1/sqrt(hidden)]`` (May et al.), from ``generator``
        (a ``torch.Generator``; None: torch's global one)."""
        bound = 1.0 / math.sqrt(self.hidden_channels)
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.uniform_(-bound, bound, generator=generator)

    def input_drive(self, x):
        """Return ``conv_x`` of a (B, T, C, H, W) sequence, computed for all steps at once."""
        b, t = x.shape[:2]
        return self.conv_x(x.flatten(0, 1)).unflatten(0, (b, t))

    def initial_state(self, drive):
        """Return the zero state for a (B, gates * hidden, H, W) input drive."""
        b, _, h, w = drive.shape
        return drive.new_zeros(b, self.hidden_channels, h, w)

    @staticmethod
    def output(state):
        """Return the hidden map passed to the next layer."""
        return state


class ConvRNNCell(_ConvCell):
    """Vanilla convolutional RNN cell: ``h_t = tanh(conv_x(x_t) + conv_h(h_{t-1}))``.

    Parameters
    ----------
    in_channels, hidden_channels : int
        Channels of the input and of the hidden state.
    """

    gates = 1

    def step(self, drive, state):
        """Advance one time step given ``conv_x(x_t)`` and the previous hidden map."""
        return torch.tanh(drive + self.conv_h(state))


class ConvLSTMCell(_ConvCell):
    """Convolutional LSTM cell; input, forget, cell and output gates from 3x3 convolutions.

    The state is the pair ``(h, c)``; no peephole terms (see
    :class:`ConvPeepholeLSTMCell` for May et al.'s LSTM).

    Parameters
    ----------
    in_channels, hidden_channels : int
        Channels of the input and of the hidden state.
    """

    gates = 4

    def initial_state(self, drive):
        h = super().initial_state(drive)
        return h, torch.zeros_like(h)

    def step(self, drive, state):
        """Advance one time step given ``conv_x(x_t)`` and the previous ``(h, c)``."""
        h, c = state
        i, f, g, o = (drive + self.conv_h(h)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    @staticmethod
    def output(state):
        return state[0]


class ConvPeepholeLSTMCell(ConvLSTMCell):
    """May et al.'s convolutional LSTM: peephole weights of their own per pixel, on a fixed frame size.

    As in their released cell (after G. Yiasemis's Conv2dLSTMCell): the input
    and forget gates see the previous cell state and the output gate the new
    one through elementwise weights ``W_ci, W_cf, W_co`` of shape
    (hidden, H, W), one weight per channel and pixel, so the cell only runs
    on frames of the shape it was built for. Its candidate is squashed twice,
    ``c = f c + i tanh(tanh(g))``; kept, so that weights trained with their
    code run unchanged.

    Parameters
    ----------
    in_channels, hidden_channels : int
        Channels of the input and of the hidden state.
    frame_shape : (int, int)
        (H, W) of the frames, in pixels ((64, 64) in the paper).
    """

    def __init__(self, in_channels, hidden_channels, frame_shape):
        super().__init__(in_channels, hidden_channels)
        self.frame_shape = tuple(frame_shape)
        self.peephole = nn.Parameter(torch.zeros(1, 3 * hidden_channels, *self.frame_shape))

    def step(self, drive, state):
        """Advance one time step given ``conv_x(x_t)`` and the previous ``(h, c)``."""
        h, c = state
        if tuple(c.shape[-2:]) != self.frame_shape:
            raise ParameterError(f"this peephole LSTM was built for {self.frame_shape[0]} x {self.frame_shape[1]} "
                                 f"frames (its frame_shape), got {c.shape[-2]} x {c.shape[-1]}")
        i, f, g, o = (drive + self.conv_h(h)).chunk(4, dim=1)
        w_i, w_f, w_o = self.peephole.chunk(3, dim=1)
        i = torch.sigmoid(i + w_i * c)
        f = torch.sigmoid(f + w_f * c)
        c = f * c + i * torch.tanh(torch.tanh(g))
        o = torch.sigmoid(o + w_o * c)
        return o * torch.tanh(c), c


class ConvGRUCell(_ConvCell):
    """Convolutional GRU cell; reset, update and candidate terms from 3x3 convolutions.

    Follows ``torch.nn.GRU`` (and May et al.'s cell): the reset gate
    multiplies ``conv_h(h)`` (bias included) inside the candidate,
    ``n = tanh(x_n + r * h_n)``, and ``h' = (1 - z) n + z h``.

    Parameters
    ----------
    in_channels, hidden_channels : int
        Channels of the input and of the hidden state.
    """

    gates = 3

    def step(self, drive, state):
        """Advance one time step given ``conv_x(x_t)`` and the previous hidden map."""
        x_r, x_z, x_n = drive.chunk(3, dim=1)
        h_r, h_z, h_n = self.conv_h(state).chunk(3, dim=1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        return (1 - z) * n + z * state


_CELLS = {"rnn": ConvRNNCell, "lstm": ConvLSTMCell, "gru": ConvGRUCell, "peephole_lstm": ConvPeepholeLSTMCell}


class RecurrentPredictor(nn.Module):
    """Convolutional recurrent next-frame predictor of May, Dauphin & Gjorgjieva (2025).

    Layer for layer as in the authors' released code: three recurrent 3x3
    convolutional layers (1 -> C -> C -> C channels; the first two their
    encoder, the third their decoder), each run over the whole clip and
    followed by a 3-D batch norm (``BatchNorm3d`` over (B, C, T, H, W): one
    mean and variance per channel over batch, time and space); then a 3x3
    convolution of the last time step to one channel and a sigmoid. Each
    layer's input convolution is one batched call; Python loops over time only.

    With ``cell="rnn"`` and 64 channels it has 186,241 parameters (185,857 in
    the convolutions, 384 in the batch norms); ``"gru"`` 556,801;
    ``"peephole_lstm"`` (their LSTM, on 64 x 64 frames) 3,101,377.

    Parameters
    ----------
    cell : {"rnn", "gru", "peephole_lstm", "lstm"}
        Recurrent cell of all three layers: ``"rnn"`` (tanh; the paper's
        main network), ``"gru"`` and ``"peephole_lstm"`` as in the paper's
        comparisons, ``"lstm"`` a plain convolutional LSTM without peepholes.
    hidden_channels : int
        Channels C of every recurrent layer (64 in the paper).
    in_channels : int
        Channels of the input frames (1: grayscale).
    batch_norm : bool
        The batch norms after each recurrent layer (True in the paper; False
        rebuilds networks saved before wavesim had them).
    frame_shape : (int, int)
        (H, W) of the frames in pixels; only ``"peephole_lstm"`` depends on it.
    generator : torch.Generator, optional
        Draws the initial weights (the cells' as May et al., the head's as
        ``torch.nn.Conv2d`` does); None: torch's global generator.

    Examples
    --------
    >>> model = RecurrentPredictor()
    >>> model(torch.rand(2, 10, 64, 64)).shape
    torch.Size([2, 1, 64, 64])
    >>> count_parameters(model)
    186241
    """

    def __init__(self, cell="rnn", hidden_channels=64, in_channels=1, batch_norm=True, frame_shape=(64, 64),
                 generator=None):
        super().__init__()
        if cell not in _CELLS:
            raise ParameterError(f"cell must be one of {sorted(_CELLS)}, got {cell!r}")
        for name, value in (("hidden_channels", hidden_channels), ("in_channels", in_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ParameterError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(batch_norm, bool):
            raise ParameterError(f"batch_norm must be True or False, got {batch_norm!r}")
        frame_shape = tuple(frame_shape)
        if len(frame_shape) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1
                                            for n in frame_shape):
            raise ParameterError(f"frame_shape must be two positive integers (H, W) in pixels, got {frame_shape!r}")
        self.cell = cell
        self.in_channels = in_channels
        self.batch_norm = batch_norm
        self.frame_shape = frame_shape
        extra = {"frame_shape": frame_shape} if cell == "peephole_lstm" else {}
        channels = [in_channels, hidden_channels, hidden_channels, hidden_channels]
        self.layers = nn.ModuleList([_CELLS[cell](n_in, n_out, **extra) for n_in, n_out in zip(channels, channels[1:])])
        for layer in self.layers:
            layer.reset_parameters(generator)
        self.norms = nn.ModuleList([nn.BatchNorm3d(hidden_channels) if batch_norm else nn.Identity()
                                    for _ in self.layers])
        self.head = _conv3x3(hidden_channels, in_channels)
        if generator is not None:  # torch.nn.Conv2d's own initialisation, drawn from the generator
            bound = 1.0 / math.sqrt(hidden_channels * 9)
            nn.init.kaiming_uniform_(self.head.weight, a=math.sqrt(5), generator=generator)
            nn.init.uniform_(self.head.bias, -bound, bound, generator=generator)

    def _as_sequence(self, x):
        if x.dim() == 4 and self.in_channels == 1:
            x = x.unsqueeze(2)
        if x.dim() != 5 or x.shape[2] != self.in_channels:
            raise ParameterError(
                f"expected input of shape (B, T, H, W) or (B, T, {self.in_channels}, H, W), "
                f"got {tuple(x.shape)}"
            )
        if x.shape[1] < 1:
            raise ParameterError("input must have at least one time step")
        return x

    def _run(self, x, keep_layers):
        sequence = self._as_sequence(x)
        layer_outputs = []
        for layer, norm in zip(self.layers, self.norms):
            drive = layer.input_drive(sequence)
            state = layer.initial_state(drive[:, 0])
            outputs = []
            for t in range(drive.shape[1]):
                state = layer.step(drive[:, t], state)
                outputs.append(layer.output(state))
            hidden = torch.stack(outputs, dim=1)  # (B, T, C, H, W)
            if keep_layers:
                layer_outputs.append(hidden)
            # BatchNorm3d wants (B, C, T, H, W); in training its statistics span all time steps.
            sequence = norm(hidden.transpose(1, 2)).transpose(1, 2)
        return self.head(sequence[:, -1]), layer_outputs

    def logits(self, x):
        """The head's output before the sigmoid, (B, 1, H, W): the output units of the receptive-field analysis."""
        return self._run(x, keep_layers=False)[0]

    def layer_responses(self, x):
        """Every layer's activity on clip ``x``, for the grating analysis.

        Returns
        -------
        dict of str -> torch.Tensor
            ``"recurrent1"``... ``"recurrent3"``: each recurrent layer's hidden
            maps (B, T, C, H, W), after its nonlinearity and before its batch
            norm; ``"output"``: the head's (B, 1, H, W) output before the sigmoid.
        """
        logits, hidden = self._run(x, keep_layers=True)
        responses = {f"recurrent{i + 1}": h for i, h in enumerate(hidden)}
        responses["output"] = logits
        return responses

    def forward(self, x):
        """Predict the frame after the last input frame.

        Parameters
        ----------
        x : torch.Tensor
            Clip of shape (B, T, H, W) or (B, T, 1, H, W), values in [0, 1]
            (T = 10 in the paper).

        Returns
        -------
        torch.Tensor
            Predicted next frame, shape (B, 1, H, W), values in [0, 1].
        """
        return torch.sigmoid(self.logits(x))


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
        self.conv1 = _conv3x3(in_channels, out_channels, bias=False, stride=stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        # one ReLU module, called twice, registered where torchvision's is: forward hooks on ReLU modules
        # (Ligeralde et al.'s layer analysis) then see the layers theirs see
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(out_channels, out_channels, bias=False)
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


def _initial_weights(module, init, generator):
    """Draw ``module``'s weights by ``init``, unless its layers already hold them (torch's, from the global state)."""
    if init != "torch" or generator is not None:
        initialise(module, init, generator=generator)
    return module


def _check_in_channels(in_channels):
    if not isinstance(in_channels, int) or isinstance(in_channels, bool) or in_channels < 1:
        raise ParameterError(f"in_channels must be a positive integer, got {in_channels!r}")


def _stem(in_channels, stem):
    if stem not in STEMS:
        raise ParameterError(f"stem must be one of {STEMS}, got {stem!r}")
    if stem == "cifar":
        return nn.Sequential(_conv3x3(in_channels, 64, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True))
    return nn.Sequential(nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64),
                         nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1))


class _StagedResNet(nn.Module):
    """A stem, stages of residual blocks and global average pooling; no classifier head."""

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
        super().__init__()
        _check_in_channels(in_channels)
        self.in_channels = in_channels
        self.stem = _stem(in_channels, stem)
        stages, channels = [], 64
        for width, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages.append(nn.Sequential(BasicBlock(channels, width, stride), BasicBlock(width, width)))
            channels = width
        self.stages = nn.Sequential(*stages)
        _initial_weights(self, init, generator)


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
        self.conv2 = _conv3x3(width, width, bias=False, stride=stride)
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
        super().__init__()
        _check_in_channels(in_channels)
        self.in_channels = in_channels
        self.stem = _stem(in_channels, stem)
        stages, channels = [], 64
        for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            layers = [Bottleneck(channels, width, stride)]
            channels = width * Bottleneck.expansion
            layers += [Bottleneck(channels, width) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        _initial_weights(self, init, generator)


class _ResNet9Block(nn.Module):
    """Ligeralde et al.'s residual block: ``x + relu(bn(conv(relu(bn(conv(x))))))``.

    Their block applies the second ReLU before adding the shortcut (not
    after, as He et al.'s does); kept, so that their weights run unchanged.
    """

    def __init__(self, channels, momentum):
        super().__init__()
        self.conv1 = _conv3x3(channels, channels, bias=False)
        self.bn1 = nn.BatchNorm2d(channels, momentum=momentum)
        self.conv2 = _conv3x3(channels, channels, bias=False)
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
        _check_in_channels(in_channels)
        if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= 4096:
            raise ParameterError(f"width must be an integer in [1, 4096] (channels of the first layer; 64 in "
                                 f"Ligeralde et al.'s ResNet-9), got {width!r}")
        self.in_channels = in_channels
        self.width = width
        self.feature_dim = 16 * width
        m = self.bn_momentum

        def conv_bn(n_in, n_out):
            return [_conv3x3(n_in, n_out, bias=False), nn.BatchNorm2d(n_out, momentum=m), nn.ReLU(inplace=True)]

        w1, w2, w4 = width, 2 * width, 4 * width
        self.prep = nn.Sequential(*conv_bn(in_channels, w1), *conv_bn(w1, w2), nn.MaxPool2d(2))
        self.res1 = _ResNet9Block(w2, m)
        self.conv2 = nn.Sequential(*conv_bn(w2, w4), nn.MaxPool2d(2))
        self.conv3 = nn.Sequential(*conv_bn(w4, w4), nn.MaxPool2d(2))
        self.res2 = _ResNet9Block(w4, m)
        self.pool = nn.MaxPool2d(2)
        _initial_weights(self, init, generator)

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


#: The encoders of :class:`ContrastiveNet` by name.
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

    By default a ResNet-18 as Ligeralde et al.'s (:class:`ResNet18`'s
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
        The encoder built when ``backbone`` is None (:data:`ENCODERS`).
    stem : {"imagenet", "cifar"} or None
        Stem of a ResNet-18 or -50 (:data:`STEMS`); None: the encoder's default
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
        Width of a ResNet-9 (:class:`ResNet9`'s ``width``); None: theirs, 64.
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
        if not isinstance(projection_dim, int) or isinstance(projection_dim, bool) or projection_dim < 1:
            raise ParameterError(f"projection_dim must be a positive integer, got {projection_dim!r}")
        if encoder not in ENCODERS:
            raise ParameterError(f"encoder must be one of {tuple(ENCODERS)}, got {encoder!r}")
        if stem is not None and encoder == "resnet9":
            raise ParameterError("the ResNet-9 has its own stem; leave stem=None for encoder='resnet9'")
        if encoder_width is not None and encoder != "resnet9":
            raise ParameterError(f"encoder_width sets the width of a ResNet-9; leave it None for encoder={encoder!r}")
        _check_in_channels(in_channels)
        if projector_dims is not None:
            projector_dims = tuple(projector_dims)
            if not projector_dims or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1
                                             for d in projector_dims):
                raise ParameterError(f"projector_dims must be positive integers (the widths of the projector's "
                                     f"layers), got {projector_dims!r}")
        if not isinstance(projector_batch_norm, bool):
            raise ParameterError(f"projector_batch_norm must be True or False, got {projector_batch_norm!r}")
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
        self.projector = _initial_weights(projector, "torch", generator)
        self.config = {"projection_dim": projection_dim, "encoder": encoder, "stem": stem,
                       "in_channels": in_channels,
                       "projector_dims": None if projector_dims is None else list(projector_dims),
                       "projector_batch_norm": projector_batch_norm, "init": init,
                       "encoder_width": kwargs.get("width")}

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
            :class:`ResNet18`; for the ResNet-9, :meth:`ResNet9.layer_responses`).
        """
        if not hasattr(self.backbone, "layer_responses"):
            raise ParameterError(f"the backbone {type(self.backbone).__name__} has no layer_responses method")
        return self.backbone.layer_responses(self._prepare(x))

    def forward(self, x):
        """Return the (B, output width) projections fed to the contrastive loss."""
        return self.projector(self.features(x))


def shuffle_weights(model, seed, scope="entries"):
    """Return a copy of ``model`` with shuffled weights: the "shuffled weights" controls.

    Two controls, by ``scope``:

    ``"entries"``
        The entries of every parameter tensor are permuted as one flat
        list: each tensor keeps its values (so their distribution and scale)
        and loses all structure, within filters too. Buffers, such as
        batch-norm running statistics, are copied unchanged.
    ``"filters"``
        May et al.'s control (their ``shuffle_model_cli.py``): every
        floating-point tensor of the state dict (parameters and buffers:
        batch-norm running means and variances too; not the integer batch
        counters) is permuted along its first axis only, each tensor with a
        permutation of its own. A convolution's filters stay intact but
        move to other output channels, so the correspondence between a
        layer's filters, its biases and the next layer's input channels is
        broken. A tensor whose first axis has length 1 (the peephole weights
        of ``"peephole_lstm"``) and 0-d tensors are left as they are.

    Parameters
    ----------
    model : torch.nn.Module
        Model to copy; it is not modified.
    seed : int
        Seed of the permutations; the same seed gives the same copy.
    scope : {"entries", "filters"}
        Which control (above).

    Returns
    -------
    torch.nn.Module
        The shuffled copy.
    """
    if not isinstance(model, nn.Module):
        raise ParameterError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ParameterError(f"seed must be an integer, got {seed!r}")
    if scope not in SHUFFLE_SCOPES:
        raise ParameterError(f"scope must be one of {SHUFFLE_SCOPES}, got {scope!r}")
    shuffled = copy.deepcopy(model)
    # Permutations drawn on the CPU so the result does not depend on the device.
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if scope == "entries":
            for parameter in shuffled.parameters():
                order = torch.randperm(parameter.numel(), generator=generator).to(parameter.device)
                parameter.copy_(parameter.flatten()[order].view_as(parameter))
        else:
            for tensor in shuffled.state_dict(keep_vars=True).values():
                if not tensor.is_floating_point() or tensor.dim() == 0:
                    continue
                order = torch.randperm(tensor.shape[0], generator=generator).to(tensor.device)
                tensor.copy_(tensor[order])
    return shuffled


def count_parameters(model, trainable_only=False):
    """Return the number of parameter entries of ``model``.

    Parameters
    ----------
    model : torch.nn.Module
        Model to count.
    trainable_only : bool
        Count only parameters with ``requires_grad``.

    Returns
    -------
    int
        Total number of scalar parameters (shared tensors counted once).
    """
    if not isinstance(model, nn.Module):
        raise ParameterError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
