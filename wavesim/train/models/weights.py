"""Operations on a network's weights: count them, or shuffle them (the "shuffled weights" controls)."""

import copy

import torch
from torch import nn

from wavesim.errors import ParameterError
from wavesim.validate import check_choice, check_seed

__all__ = ["SHUFFLE_SCOPES", "count_parameters", "shuffle_weights"]

#: The two shuffled-weights controls of :func:`shuffle_weights`.
SHUFFLE_SCOPES = ("entries", "filters")


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
    seed = check_seed("seed", seed)
    check_choice("scope", scope, SHUFFLE_SCOPES)
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
