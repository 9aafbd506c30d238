"""The convolutional recurrent next-frame predictor of May, Dauphin & Gjorgjieva (2025) and its cells.

Layer for layer as in the authors' released code (PLoS Comput Biol,
doi:10.1371/journal.pcbi.1012830; repository
comp-neural-circuits/pre-training-ANNs-with-retinal-waves, ``model/``).
"""

import math
import numbers

import torch
from torch import nn

from wavesim.errors import ParameterError
from wavesim.validate import check_bool, check_choice, check_int, is_bool

from ._layers import conv3x3

__all__ = ["ConvGRUCell", "ConvLSTMCell", "ConvPeepholeLSTMCell", "ConvRNNCell", "RecurrentPredictor"]


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
        self.conv_x = conv3x3(in_channels, self.gates * hidden_channels)
        self.conv_h = conv3x3(hidden_channels, self.gates * hidden_channels)

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
    >>> from wavesim.train.models import count_parameters
    >>> count_parameters(model)
    186241
    """

    def __init__(self, cell="rnn", hidden_channels=64, in_channels=1, batch_norm=True, frame_shape=(64, 64),
                 generator=None):
        super().__init__()
        check_choice("cell", cell, _CELLS)
        hidden_channels = check_int("hidden_channels", hidden_channels, low=1)
        in_channels = check_int("in_channels", in_channels, low=1)
        batch_norm = check_bool("batch_norm", batch_norm)
        frame_shape = tuple(frame_shape)
        if len(frame_shape) != 2 or not all(isinstance(n, numbers.Integral) and not is_bool(n) and n >= 1
                                            for n in frame_shape):
            raise ParameterError(f"frame_shape must be two positive integers (H, W) in pixels, got {frame_shape!r}")
        frame_shape = tuple(int(n) for n in frame_shape)
        self.cell = cell
        self.in_channels = in_channels
        self.batch_norm = batch_norm
        self.frame_shape = frame_shape
        extra = {"frame_shape": frame_shape} if cell == "peephole_lstm" else {}
        channels = [in_channels, hidden_channels, hidden_channels, hidden_channels]
        # with a generator, the layers' own draws at construction must not move the global random state
        with torch.random.fork_rng(devices=[], enabled=generator is not None):
            self.layers = nn.ModuleList([_CELLS[cell](n_in, n_out, **extra)
                                         for n_in, n_out in zip(channels, channels[1:])])
            for layer in self.layers:
                layer.reset_parameters(generator)
            self.norms = nn.ModuleList([nn.BatchNorm3d(hidden_channels) if batch_norm else nn.Identity()
                                        for _ in self.layers])
            self.head = conv3x3(hidden_channels, in_channels)
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

