"""Networks pre-trained on retinal-wave movies.

- :mod:`~wavesim.train.models.recurrent`: :class:`RecurrentPredictor`, the
  next-frame predictor of May, Dauphin & Gjorgjieva (2025), and its
  convolutional recurrent cells;
- :mod:`~wavesim.train.models.resnets`: the encoders of Ligeralde et al.
  (2023): their ResNet-9 and torchvision's ResNet-18 and -50 layouts;
- :mod:`~wavesim.train.models.contrastive_net`: :class:`ContrastiveNet`, their
  SimCLR network (an encoder and a projector);
- :mod:`~wavesim.train.models.weights`: :func:`count_parameters` and
  :func:`shuffle_weights` (the shuffled-weights controls).
"""

from .contrastive_net import ContrastiveNet
from .recurrent import ConvGRUCell, ConvLSTMCell, ConvPeepholeLSTMCell, ConvRNNCell, RecurrentPredictor
from .resnets import ENCODERS, STEMS, BasicBlock, Bottleneck, ResNet9, ResNet18, ResNet50, resnet18
from .weights import SHUFFLE_SCOPES, count_parameters, shuffle_weights

__all__ = [
    "SHUFFLE_SCOPES",
    "STEMS",
    "BasicBlock",
    "Bottleneck",
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
