"""Networks pre-trained on retinal-wave movies.

``RecurrentPredictor`` is the next-frame predictor of May, Dauphin & Gjorgjieva
(2025, PLoS Comput Biol, doi:10.1371/journal.pcbi.1012830); ``ContrastiveNet``
is the SimCLR-style ResNet-18 of Ligeralde et al. (2023, arXiv:2312.02791).
"""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from wavesim.errors import ParameterError

__all__ = [
    "BasicBlock",
    "ContrastiveNet",
    "ConvGRUCell",
    "ConvLSTMCell",
    "ConvRNNCell",
    "RecurrentPredictor",
    "ResNet18",
    "count_parameters",
    "resnet18",
    "shuffle_weights",
]


def _conv3x3(in_channels, out_channels, bias=True, stride=1):
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=bias)


class _ConvCell(nn.Module):
    """Common part of the convolutional recurrent cells.

    Every cell has an input convolution ``conv_x`` and a recurrent convolution
    ``conv_h``, both 3x3 with bias, like ``torch.nn.RNN``/``LSTM``/``GRU`` with
    matrix products replaced by convolutions. Keeping them separate lets
    :meth:`input_drive` run ``conv_x`` on all time steps in one batched call;
    only ``conv_h`` has to run inside the time loop.
    """

    gates = 1

    def __init__(self, in_channels, hidden_channels):
        super().__init__()
        self.hidden_channels = hidden_channels
        self.conv_x = _conv3x3(in_channels, self.gates * hidden_channels)
        self.conv_h = _conv3x3(hidden_channels, self.gates * hidden_channels)

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

    The state is the pair ``(h, c)``.

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


class ConvGRUCell(_ConvCell):
    """Convolutional GRU cell; reset, update and candidate terms from 3x3 convolutions.

    Follows ``torch.nn.GRU``: the reset gate multiplies ``conv_h(h)`` (bias included)
    inside the candidate, ``n = tanh(x_n + r * h_n)``, and ``h' = (1 - z) n + z h``.

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


_CELLS = {"rnn": ConvRNNCell, "lstm": ConvLSTMCell, "gru": ConvGRUCell}


class RecurrentPredictor(nn.Module):
    """Convolutional recurrent next-frame predictor of May, Dauphin & Gjorgjieva (2025).

    Encoder: two recurrent 3x3 convolutional layers (1 -> C -> C channels);
    decoder: one recurrent 3x3 convolutional layer (C -> C), then a 3x3
    convolution to one channel on the last time step and a sigmoid. Layers run
    one after the other over the whole sequence, so each layer's input
    convolution is a single batched call and Python only loops over time.
    With ``cell="rnn"`` and 64 hidden channels it has 185,857 parameters.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}
        Recurrent cell of all three layers; ``"rnn"`` (tanh) as in the paper.
    hidden_channels : int
        Channels C of every recurrent layer (64 in the paper).
    in_channels : int
        Channels of the input frames (1: grayscale).

    Examples
    --------
    >>> model = RecurrentPredictor()
    >>> model(torch.rand(2, 10, 64, 64)).shape
    torch.Size([2, 1, 64, 64])
    """

    def __init__(self, cell="rnn", hidden_channels=64, in_channels=1):
        super().__init__()
        if cell not in _CELLS:
            raise ParameterError(f"cell must be one of {sorted(_CELLS)}, got {cell!r}")
        for name, value in (("hidden_channels", hidden_channels), ("in_channels", in_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ParameterError(f"{name} must be a positive integer, got {value!r}")
        cell_class = _CELLS[cell]
        self.cell = cell
        self.in_channels = in_channels
        self.layers = nn.ModuleList(
            [
                cell_class(in_channels, hidden_channels),  # encoder
                cell_class(hidden_channels, hidden_channels),  # encoder
                cell_class(hidden_channels, hidden_channels),  # decoder
            ]
        )
        self.head = _conv3x3(hidden_channels, in_channels)

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
        sequence = self._as_sequence(x)
        for index, layer in enumerate(self.layers):
            drive = layer.input_drive(sequence)
            state = layer.initial_state(drive[:, 0])
            last = index == len(self.layers) - 1
            outputs = []
            for t in range(drive.shape[1]):
                state = layer.step(drive[:, t], state)
                if not last:
                    outputs.append(layer.output(state))
            # The decoder's intermediate steps are never read: only its last state feeds the head.
            sequence = None if last else torch.stack(outputs, dim=1)
        return torch.sigmoid(self.head(layer.output(state)))


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
        self.conv2 = _conv3x3(out_channels, out_channels, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 for 32x32 inputs (CIFAR stem), returning 512-d pooled features.

    Stem: 3x3 convolution with stride 1, BN, ReLU and no max-pool; then four
    stages of two :class:`BasicBlock` each with 64, 128, 256 and 512 channels;
    then global average pooling. No classifier head.

    Parameters
    ----------
    in_channels : int
        Channels of the input images.
    """

    feature_dim = 512

    def __init__(self, in_channels=3):
        super().__init__()
        if not isinstance(in_channels, int) or isinstance(in_channels, bool) or in_channels < 1:
            raise ParameterError(f"in_channels must be a positive integer, got {in_channels!r}")
        self.in_channels = in_channels
        self.stem = nn.Sequential(
            _conv3x3(in_channels, 64, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True)
        )
        stages, channels = [], 64
        for width, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages.append(nn.Sequential(BasicBlock(channels, width, stride), BasicBlock(width, width)))
            channels = width
        self.stages = nn.Sequential(*stages)

    def forward(self, x):
        """Return the (B, 512) features of (B, in_channels, H, W) images."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ParameterError(
                f"expected images of shape (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        return self.stages(self.stem(x)).mean(dim=(2, 3))


def resnet18(in_channels=3):
    """Return a freshly initialised CIFAR-style :class:`ResNet18` feature extractor.

    Parameters
    ----------
    in_channels : int
        Channels of the input images.

    Returns
    -------
    ResNet18
        Module mapping (B, in_channels, H, W) images to (B, 512) features
        (11,168,832 parameters for 3 input channels).
    """
    return ResNet18(in_channels)


class ContrastiveNet(nn.Module):
    """SimCLR network of Ligeralde et al. (2023): ResNet-18 backbone and a 512-512-128 projector.

    Grayscale inputs, (B, H, W) or (B, 1, H, W), are repeated to three channels;
    inputs of another size are resized to 32x32 with area interpolation.
    Trained with :func:`wavesim.train.losses.nt_xent_loss` (temperature 0.5;
    the paper uses Adam, learning rate 1e-4, weight decay 1e-6).

    Parameters
    ----------
    backbone : torch.nn.Module or None
        Module mapping (B, 3, 32, 32) images to (B, 512) features; a fresh
        :func:`resnet18` when None.
    projection_dim : int
        Output dimension of the projector.
    """

    image_size = 32

    def __init__(self, backbone=None, projection_dim=128):
        super().__init__()
        if not isinstance(projection_dim, int) or isinstance(projection_dim, bool) or projection_dim < 1:
            raise ParameterError(f"projection_dim must be a positive integer, got {projection_dim!r}")
        self.backbone = resnet18() if backbone is None else backbone
        feature_dim = getattr(self.backbone, "feature_dim", 512)
        self.projector = nn.Sequential(
            nn.Linear(feature_dim, feature_dim), nn.ReLU(inplace=True), nn.Linear(feature_dim, projection_dim)
        )

    def _prepare(self, x):
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ParameterError(
                f"expected images of shape (B, H, W), (B, 1, H, W) or (B, 3, H, W), got {tuple(x.shape)}"
            )
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="area")
        return x

    def features(self, x):
        """Return the backbone's (B, 512) features, the representation that is evaluated."""
        return self.backbone(self._prepare(x))

    def forward(self, x):
        """Return the (B, projection_dim) projections fed to the contrastive loss."""
        return self.projector(self.features(x))


def shuffle_weights(model, seed):
    """Return a copy of ``model`` with the entries of every parameter tensor randomly permuted.

    The "shuffled weights" control: each tensor keeps its values (so their
    distribution and scale) while the learned structure is destroyed. Buffers,
    such as batch-norm running statistics, are copied unchanged.

    Parameters
    ----------
    model : torch.nn.Module
        Model to copy; it is not modified.
    seed : int
        Seed of the permutations; the same seed gives the same copy.

    Returns
    -------
    torch.nn.Module
        The shuffled copy.
    """
    if not isinstance(model, nn.Module):
        raise ParameterError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ParameterError(f"seed must be an integer, got {seed!r}")
    shuffled = copy.deepcopy(model)
    # Permutations drawn on the CPU so the result does not depend on the device.
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in shuffled.parameters():
            order = torch.randperm(parameter.numel(), generator=generator).to(parameter.device)
            parameter.copy_(parameter.flatten()[order].view_as(parameter))
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
