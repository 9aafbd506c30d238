"""May et al. (2025): the sizes of a run and its conditions, as the authors' released code names them."""

from __future__ import annotations

import dataclasses

from ..errors import ParameterError
from ..parameters import ValidatedParams, choice_field, field


@dataclasses.dataclass(frozen=True)
class MayConfig(ValidatedParams):
    """The sizes and settings of one May et al. comparison (``wavesim reproduce may2025``).

    The defaults are the paper's (``--size paper``); :data:`SIZES` holds
    the CPU size. Counts the released code does not give (the wave sets'
    sizes) are wavesim's choices, listed in docs/paper_experiments.md.
    """

    size_px: int = field(64, unit="px", low=4, high=512, integer=True, doc="side of the square frames")
    hidden_channels: int = field(64, unit="1", low=1, high=1024, integer=True,
                                 doc="channels of each recurrent layer")
    cell: str = choice_field("rnn", choices=("rnn", "gru", "peephole_lstm"),
                             doc="recurrent cell: their vanilla RNN (the paper's main network), GRU or LSTM")
    wave_training_clips: int = field(2048, unit="1", low=1, high=10**7, integer=True,
                                     doc="clips in each fixed wave training set")
    wave_validation_clips: int = field(256, unit="1", low=1, high=10**7, integer=True,
                                       doc="clips in each fixed wave validation set")
    wave_retinas: int = field(16, unit="1", low=1, high=10**5, integer=True,
                              doc="retinas simulated together for the amacrine waves")
    amacrine_warmup_s: float = field(None, unit="s", low=0.0, high=10**5, optional=True,
                                     doc="simulated time before the first amacrine clip (None: the model's, 900 s)")
    fold_clips: int = field(1000, unit="1", low=2, high=10**7, integer=True,
                            doc="target clips shared among the folds (800 training + 200 validation per fold)")
    n_folds: int = field(5, unit="1", low=2, high=100, integer=True, doc="cross-validation folds")
    test_clips: int = field(500, unit="1", low=0, high=10**7, integer=True, doc="held-out target test clips")
    clips_per_segment: int = field(10, unit="1", low=1, high=10**4, integer=True,
                                   doc="consecutive clips of a movie kept together in one fold or the test set")
    repetitions: int = field(5, unit="1", low=1, high=100, integer=True,
                             doc="replicate networks per condition (replicate r validates on fold r mod n_folds)")
    pretrain_max_epochs: int = field(200, unit="1", low=4, high=10**4, integer=True,
                                     doc="wave epochs at most (early stopping ends sooner)")
    target_max_epochs: int = field(200, unit="1", low=5, high=10**4, integer=True,
                                   doc="target epochs at most (early stopping ends sooner)")
    patience_epochs: int = field(5, unit="1", low=1, high=1000, integer=True,
                                 doc="epochs without a better validation error before stopping")
    batch_size: int = field(16, unit="1", low=1, high=10**5, integer=True, doc="clips per update")
    learning_rate: float = field(1e-4, unit="1", low=1e-9, high=1.0, doc="Adam's learning rate")
    rf_trials: int = field(10, unit="1", low=1, high=1000, integer=True,
                           doc="activation-maximisation trials per network (receptive fields)")
    rf_steps: int = field(100, unit="1", low=1, high=10**5, integer=True, doc="gradient steps per trial")
    batch_norm: str = choice_field("train", choices=("train", "eval"),
                                   doc="batch-norm mode of the receptive-field and grating analyses (the paper: "
                                       "train, each clip normalised by its own statistics)")
    seed: int = field(0, unit="1", low=0, high=2**31 - 1, integer=True,
                      doc="root seed of the wave sets, target movies, split, weights and clip orders")

    def _check_relations(self) -> None:
        if self.fold_clips % (self.clips_per_segment * self.n_folds) or self.test_clips % self.clips_per_segment:
            raise ParameterError(
                f"MayConfig: fold_clips ({self.fold_clips}) must be a multiple of clips_per_segment x n_folds "
                f"({self.clips_per_segment} x {self.n_folds}) and test_clips ({self.test_clips}) a multiple of "
                f"clips_per_segment, so that folds and the test set hold whole segments.")

    def with_overrides(self, assignments) -> "MayConfig":
        """A copy with ``NAME=VALUE`` strings applied (``--set`` on the command line), each checked as a field."""
        specs = self.field_specs()
        changes = {}
        for text in assignments:
            name, sep, value = str(text).partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in specs:
                raise ParameterError(f"--set takes NAME=VALUE with NAME one of {sorted(specs)}, got {text!r}.")
            changes[name] = value.strip()
        return self.from_dict(changes, base=self)


#: ``--size``: the paper's sizes, and a size whose five repetitions run on 2 CPU cores within an hour.
SIZES = {
    "paper": MayConfig(),
    "cpu": MayConfig(size_px=16, hidden_channels=8, wave_training_clips=96, wave_validation_clips=32,
                     wave_retinas=4, fold_clips=200, test_clips=100, clips_per_segment=5, pretrain_max_epochs=12,
                     target_max_epochs=6, rf_trials=2, rf_steps=30),
}


@dataclasses.dataclass(frozen=True)
class Condition:
    """One condition of the comparison: where the target training starts from.

    Attributes
    ----------
    name : str
        Identifier (results, files).
    label : str
        The paper's name of the condition.
    start : {"fresh", "best", "epochs", "shuffled"}
        Fresh weights; the best weights of pre-training on ``waves``; the
        weights after ``pretrain_epochs`` whole wave epochs (the time-matched
        variants); the best directional weights shuffled (May et al.'s control).
    waves : str or None
        The wave set of pre-training (:data:`WAVE_SETS`).
    pretrain_epochs : int
        Wave epochs of the time-matched variants (0 otherwise).
    authors_folder : str
        The folder of the authors' outputs (their code's name of the condition).
    paper_epoch_1 : (float, float) or None
        Mean and SD of the validation error after one corridor epoch, from
        the authors' notebook outputs (evaluation/plot_performance_trajectories.ipynb).
    """

    name: str
    label: str
    start: str
    waves: str | None
    pretrain_epochs: int
    authors_folder: str
    paper_epoch_1: tuple[float, float] | None = None


#: The waves of each pre-training: a wave model and preset (the paper's Godfrey & Swindale waves are wavesim's
#: amacrine model, mouse preset).
WAVE_SETS = {
    "directional": ("directional", "may2025"),
    "undirectional": ("directional", "may2025-undirectional"),
    "amacrine": ("amacrine", None),
}

CONDITIONS = (
    Condition("directed_prop", "DirectedProp", "best", "directional", 0, "Pretrained_Directional", (48.7, 17.8)),
    Condition("not_directed_prop_amacrine", "NotDirectedProp (amacrine waves)", "best", "amacrine", 0,
              "Pretrained_Godfrey", (63.7, 9.6)),
    Condition("not_directed_prop_undirectional", "NotDirectedProp (may2025-undirectional waves)", "best",
              "undirectional", 0, "Pretrained_UNdirectional"),
    Condition("not_pretrained", "NotPretrained", "fresh", None, 0, "No_Pretraining", (123.2, 6.5)),
    Condition("directed_prop_shuffled", "DirectedProp Shuffled", "shuffled", "directional", 0,
              "Shuffled_Directional", (103.8, 13.2)),
    Condition("directed_prop_1_epoch", "DirectedProp one epoch", "epochs", "directional", 1,
              "Pretrained_Directional_ONE_EPOCH"),
    Condition("directed_prop_2_epochs", "DirectedProp two epochs", "epochs", "directional", 2,
              "Pretrained_Directional_TWO_EPOCHS"),
    Condition("directed_prop_4_epochs", "DirectedProp four epochs", "epochs", "directional", 4,
              "Pretrained_Directional_FOUR_EPOCHS"),
)

#: The paper's Fig 2 family of per-clip tests (6 comparisons, p x 6).
PAPER_FAMILY = ("directed_prop", "not_directed_prop_amacrine", "not_pretrained", "directed_prop_shuffled")

#: Epochs in all (waves and target) at which the time-matched variants meet NotPretrained.
MATCHED_TOTAL_EPOCHS = 5


def condition(name: str) -> Condition:
    """The condition named ``name`` (:data:`CONDITIONS`)."""
    for c in CONDITIONS:
        if c.name == name:
            return c
    raise ParameterError(f"condition must be one of {[c.name for c in CONDITIONS]}, got {name!r}.")


def matched_target_epoch(c: Condition) -> int:
    """The target epoch at which ``c`` has spent :data:`MATCHED_TOTAL_EPOCHS` epochs in all."""
    return MATCHED_TOTAL_EPOCHS - c.pretrain_epochs
