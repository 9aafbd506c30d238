"""Initial weights: torch's layer defaults, torchvision's ResNet scheme, and Ligeralde et al.'s mix of both.

Every scheme draws from a ``torch.Generator`` when one is given, so that a
network's initial weights are a function of a seed and of nothing else (not
of the global random state, nor of what was built before it).

``"torch"``
    What each layer's ``reset_parameters`` draws: convolutions and linear
    layers ``kaiming_uniform_(a=sqrt(5))``, i.e. uniform in
    ``[-1/sqrt(fan_in), 1/sqrt(fan_in)]``, biases uniform in the same
    interval; batch norms weight 1, bias 0.
``"torchvision"``
    ``torchvision.models.resnet.ResNet``'s: every ``Conv2d`` weight
    ``kaiming_normal_(mode="fan_out", nonlinearity="relu")``, i.e. normal
    with sd ``sqrt(2 / (out_channels * kernel_h * kernel_w))``; batch norms
    (and group norms) weight 1, bias 0; linear layers as torch's
    (torchvision leaves its classifier to its own ``reset_parameters``);
    no zero-initialised residual batch norms (their ``zero_init_residual``
    is False, in Ligeralde et al.'s runs too).
``"ligeralde2023"``
    torchvision's, except the first convolution, which is torch's: Ligeralde
    et al.'s code builds torchvision's ``resnet18``/``resnet50`` and then
    replaces its ``conv1`` by a new ``nn.Conv2d`` (to set its input
    channels), whose weights are drawn by that layer's own rule.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from wavesim.errors import ParameterError

__all__ = ["INIT_SCHEMES", "initialise"]

#: The schemes of :func:`initialise`.
INIT_SCHEMES = ("torch", "torchvision", "ligeralde2023")

_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm)


def _torch_default(layer: nn.Module, generator: torch.Generator | None, *, weight: bool = True) -> None:
    """Conv/Linear ``reset_parameters``, drawn from ``generator`` (the bias only, without ``weight``)."""
    if weight:
        nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    if layer.bias is not None:
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(layer.weight)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


def initialise(module: nn.Module, scheme: str = "torch", *, generator: torch.Generator | None = None) -> nn.Module:
    """Draw every weight of ``module`` again by ``scheme``; returns ``module``.

    Convolutions, linear layers and norm layers are set; other parameters
    (e.g. recurrent cells with rules of their own) are left as they are.
    Batch-norm running statistics are reset to mean 0, variance 1.

    Parameters
    ----------
    module : torch.nn.Module
        The network; changed in place.
    scheme : {"torch", "torchvision", "ligeralde2023"}
        See the module's docstring.
    generator : torch.Generator, optional
        Source of the random draws (on the parameters' device type); None:
        torch's global generator.

    Returns
    -------
    torch.nn.Module
        ``module``.

    Examples
    --------
    >>> conv = nn.Conv2d(3, 8, 3)
    >>> _ = initialise(conv, "torchvision", generator=torch.Generator().manual_seed(0))
    """
    if not isinstance(module, nn.Module):
        raise ParameterError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if scheme not in INIT_SCHEMES:
        raise ParameterError(f"scheme must be one of {INIT_SCHEMES}, got {scheme!r}; 'torch' draws what each "
                             f"layer's reset_parameters draws.")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ParameterError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    first_conv = next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None)
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, _NORMS):
                if layer.weight is not None:
                    nn.init.ones_(layer.weight)
                    nn.init.zeros_(layer.bias)
                if getattr(layer, "track_running_stats", False) and layer.running_mean is not None:
                    layer.reset_running_stats()
            elif isinstance(layer, nn.Conv2d) and scheme != "torch" and not (
                    scheme == "ligeralde2023" and layer is first_conv):
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu", generator=generator)
                _torch_default(layer, generator, weight=False)  # torchvision leaves biases to the layer's rule
            elif isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
                _torch_default(layer, generator)
    return module
