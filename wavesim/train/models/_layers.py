"""Layers the networks share."""

from torch import nn


def conv3x3(in_channels, out_channels, bias=True, stride=1):
    """A 3x3 convolution that keeps the frame size (padding 1) at stride 1."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=bias)
