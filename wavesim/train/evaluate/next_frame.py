"""The next-frame error of a predictor on held-out clips (May et al. 2025's measure on the target)."""

from wavesim.errors import ParameterError
from wavesim.validate import check_int

from ..losses import next_frame_loss
from .features import as_float_tensor, evaluating

__all__ = ["next_frame_error"]


def next_frame_error(model, clips, batch_size=32, device=None):
    """Mean :func:`~wavesim.train.losses.next_frame_loss` of ``model`` over held-out clips.

    Each clip's last frame is the target and the frames before it the input
    (11 frames: 10 inputs and a target in May et al. 2025).

    Parameters
    ----------
    model : callable
        Maps (B, T - 1, H, W) clips to (B, 1, H, W) predictions, e.g. a
        :class:`~wavesim.train.models.RecurrentPredictor`; run in eval mode.
    clips : numpy.ndarray or torch.Tensor
        Clips of shape (N, T, H, W) or (N, T, 1, H, W) with T >= 2, values in [0, 1].
    batch_size : int
        Clips per forward pass.
    device : str, torch.device or None
        See :func:`extract_features`.

    Returns
    -------
    float
        Squared error summed over pixels, averaged over all N clips.
    """
    if not callable(model):
        raise ParameterError(f"model must be callable, got {type(model).__name__}")
    batch_size = check_int("batch_size", batch_size, low=1)
    clips = as_float_tensor("clips", clips)
    if clips.dim() == 5 and clips.shape[2] == 1:
        clips = clips.squeeze(2)
    if clips.dim() != 4 or clips.shape[0] < 1 or clips.shape[1] < 2:
        raise ParameterError(
            f"clips must have shape (N, T, H, W) or (N, T, 1, H, W) with N >= 1 and T >= 2, "
            f"got {tuple(clips.shape)}"
        )
    total = 0.0
    with evaluating(model, device) as device:
        for start in range(0, clips.shape[0], batch_size):
            batch = clips[start : start + batch_size].to(device)
            prediction = model(batch[:, :-1])
            total += next_frame_loss(prediction, batch[:, -1:]).item() * batch.shape[0]
    return total / clips.shape[0]
