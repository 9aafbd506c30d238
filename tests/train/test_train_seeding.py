"""Seeds, not torch's global random state, decide a run: initial weights and shuffles come from generators."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from wavesim.train.checkpoint import build_model  # noqa: E402
from wavesim.train.clip_sets import ClipSet  # noqa: E402
from wavesim.train.contrastive import contrastive_config  # noqa: E402
from wavesim.train.models import ContrastiveNet, RecurrentPredictor  # noqa: E402
from wavesim.train.protocols import control_manifolds, next_frame_experiment  # noqa: E402
from wavesim.train.settings import TrainSettings  # noqa: E402
from wavesim.errors import ParameterError  # noqa: E402

TINY_CONTRASTIVE = contrastive_config("ligeralde2023", encoder_width=2, projector_dims=(8, 4))


def _same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("cell", ["rnn", "peephole_lstm"])
def test_a_generator_decides_the_predictor_and_leaves_the_global_state_alone(cell):
    kwargs = dict(cell=cell, hidden_channels=3, frame_shape=(8, 8))
    before = torch.random.get_rng_state()
    a = RecurrentPredictor(**kwargs, generator=torch.Generator().manual_seed(4))
    assert torch.equal(torch.random.get_rng_state(), before)
    torch.manual_seed(123)  # the global state has no say
    b = RecurrentPredictor(**kwargs, generator=torch.Generator().manual_seed(4))
    c = RecurrentPredictor(**kwargs, generator=torch.Generator().manual_seed(5))
    assert _same_weights(a, b) and not _same_weights(a, c)


def test_from_config_builds_the_set_up_from_a_generator():
    a = ContrastiveNet.from_config(TINY_CONTRASTIVE, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(99)
    b = ContrastiveNet.from_config(TINY_CONTRASTIVE, generator=torch.Generator().manual_seed(0))
    assert _same_weights(a, b) and (a.config["encoder"], a.config["projector_dims"]) == ("resnet9", [8, 4])
    assert ContrastiveNet.from_config(TINY_CONTRASTIVE).config["encoder_width"] == 2  # defaults: global generator
    with pytest.raises(ParameterError, match="config must be a ContrastiveConfig"):
        ContrastiveNet.from_config({"encoder": "resnet9"})


def test_build_model_draws_from_its_generator():
    a, b = (build_model("next_frame", {"hidden_channels": 2}, generator=torch.Generator().manual_seed(1))
            for _ in range(2))
    assert _same_weights(a, b)


def test_next_frame_experiment_does_not_depend_on_the_global_random_state():
    rng = np.random.default_rng(0)
    train, validation = (ClipSet(rng.random((n, 11, 8, 8), dtype=np.float32)) for n in (4, 2))
    settings = TrainSettings(batch_size=2, device="cpu", seed=3)
    results = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        result = next_frame_experiment("random_init", None, train, validation, settings=settings,
                                       model_kwargs={"hidden_channels": 2, "frame_shape": (8, 8)})
        results.append(result["validation_error_by_epoch"])
    assert results[0] == results[1]
    other = next_frame_experiment("random_init", None, train, validation, model_kwargs={"hidden_channels": 2},
                                  settings=TrainSettings(batch_size=2, device="cpu", seed=4))
    assert other["validation_error_by_epoch"] != results[0]


def test_the_random_init_control_is_the_seed_s_fresh_network(monkeypatch):
    import wavesim.train.protocols.contrastive as protocol

    built = []
    monkeypatch.setattr(protocol, "translation_manifolds", lambda layer_fn, **kwargs: built.append(layer_fn.__self__))
    net = ContrastiveNet.from_config(TINY_CONTRASTIVE, generator=torch.Generator().manual_seed(8))
    control_manifolds(net, seed=8)
    fresh = {condition: model for condition, model in zip(("random_init", "shuffled_entries", "shuffled_filters"),
                                                           built)}
    assert _same_weights(fresh["random_init"], net)  # the seed's initial weights, as contrastive_experiment draws
    assert not _same_weights(fresh["shuffled_entries"], net)
