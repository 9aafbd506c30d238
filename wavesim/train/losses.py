"""Training losses: next-frame prediction (May et al. 2025) and NT-Xent (SimCLR, Ligeralde et al. 2023)."""

import torch
import torch.nn.functional as F

from wavesim.errors import ParameterError
from wavesim.validate import check_number

__all__ = ["next_frame_loss", "nt_xent_loss"]


def next_frame_loss(prediction, target):
    """Squared error summed over pixels, averaged over clips (May et al. 2025).

    Parameters
    ----------
    prediction, target : torch.Tensor
        Predicted and true next frames of the same shape (B, ...), e.g. (B, 1, H, W).

    Returns
    -------
    torch.Tensor
        Scalar loss ``mean_b sum_pixels (prediction - target) ** 2``.

    Examples
    --------
    >>> next_frame_loss(torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2))
    tensor(4.)
    """
    if prediction.shape != target.shape:
        raise ParameterError(
            f"prediction and target must have the same shape, got {tuple(prediction.shape)} "
            f"and {tuple(target.shape)}"
        )
    if prediction.dim() < 1 or prediction.shape[0] < 1:
        raise ParameterError(f"expected a batch of at least one clip, got shape {tuple(prediction.shape)}")
    return (prediction - target).square().flatten(1).sum(dim=1).mean()


def nt_xent_loss(z_a, z_b, temperature=0.5):
    """Normalised temperature-scaled cross-entropy loss of SimCLR.

    The 2N embeddings of N positive pairs ``(z_a[i], z_b[i])`` are compared by
    cosine similarity divided by ``temperature``; for each of the 2N views the
    loss is the cross-entropy of picking its partner among the 2N - 1 other
    views (the 2N - 2 non-partners are negatives). Computed with log-softmax,
    so it is stable for any temperature.

    Parameters
    ----------
    z_a, z_b : torch.Tensor
        Embeddings of the two views, each (N, D) with N >= 2.
    temperature : float
        Softmax temperature (0.5 in Ligeralde et al. 2023).

    Returns
    -------
    torch.Tensor
        Scalar loss averaged over the 2N views.
    """
    if z_a.dim() != 2 or z_a.shape != z_b.shape:
        raise ParameterError(
            f"z_a and z_b must both have shape (N, D), got {tuple(z_a.shape)} and {tuple(z_b.shape)}"
        )
    n = z_a.shape[0]
    if n < 2:
        raise ParameterError(f"nt_xent_loss needs at least 2 pairs (1 pair has no negatives), got {n}")
    temperature = check_number("temperature", temperature, low=0, low_open=True)
    z = F.normalize(torch.cat([z_a, z_b]), dim=1)
    logits = z @ z.T / temperature
    # A view is not its own negative: drop the diagonal from the softmax.
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, partner)
