"""How and where to train: the optimiser and schedule settings the protocols share, and the device.

Importing this module does not load torch (the command line reads the
settings' fields); torch is imported when a device is resolved or an
optimiser built.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ..errors import ParameterError
from ..parameters import ValidatedParams, field

if TYPE_CHECKING:
    import torch

__all__ = ["TrainSettings", "resolve_device"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"`` or None: the GPU when torch sees one, else the CPU; otherwise a torch device name.

    Raises
    ------
    ParameterError
        For a name torch does not know, or a CUDA device where torch sees none.
    """
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ParameterError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N' (any torch device), got {device!r}.") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device {device!r}: torch sees no CUDA GPU here; use 'cpu' or 'auto'.")
    return resolved


@dataclasses.dataclass(frozen=True)
class TrainSettings(ValidatedParams):
    """Optimiser and schedule settings shared by the protocols (defaults from the papers).

    Parameters
    ----------
    learning_rate : float
        Adam's learning rate (1e-4 in both papers).
    weight_decay : float
        Adam's weight decay (0 for next-frame; Ligeralde et al. use 1e-6).
    batch_size : int
        Clips or pairs per update (16 in May et al.).
    patience_epochs : int
        Early stopping: epochs without a better validation error before stopping.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    seed : int
        Seeds the initial weights and every shuffle.
    """

    learning_rate: float = field(1e-4, unit="1", low=1e-9, high=10.0, doc="Adam's learning rate")
    weight_decay: float = field(0.0, unit="1", low=0.0, high=1.0, doc="Adam's weight decay")
    batch_size: int = field(16, unit="1", low=1, high=1_000_000, integer=True, doc="clips or pairs per update")
    patience_epochs: int = field(5, unit="1", low=1, high=1_000_000, integer=True,
                                 doc="epochs without improvement before stopping")
    device: str = "auto"
    seed: int = field(0, unit="1", low=0, high=2**63 - 1, integer=True, doc="seed of weights and shuffles")

    def _check_relations(self) -> None:
        import torch

        if self.device != "auto":
            try:
                torch.device(self.device)
            except (RuntimeError, TypeError):
                raise ParameterError(f"TrainSettings.device must be 'auto' or a torch device such as 'cpu', "
                                     f"'cuda' or 'cuda:1', got {self.device!r}.") from None

    def optimizer(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        """Adam over ``model``'s parameters with these settings' learning rate and weight decay."""
        import torch

        return torch.optim.Adam(model.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)

