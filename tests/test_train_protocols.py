"""The pre-training protocols, checkpoints and CLI end to end on tiny sizes."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skimage")
pytest.importorskip("sklearn")

from wavesim.cli import main  # noqa: E402
from wavesim.data import WaveClips, WavePairs  # noqa: E402
from wavesim.errors import CheckpointError, ParameterError  # noqa: E402
from wavesim.analysis import AnalysisParams  # noqa: E402
from wavesim.train.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from wavesim.train.targets import target_clips  # noqa: E402
from wavesim.train.models import ContrastiveNet, RecurrentPredictor  # noqa: E402
from wavesim.train.protocols import (NEXT_FRAME_CONDITIONS, RunLog, TrainSettings,  # noqa: E402
                                     next_frame_experiment, wave_clip_batches)

TINY = dict(size_px=16, n_movies=5, n_frames=16)


@pytest.fixture(scope="module")
def corridor():
    return target_clips("corridor", seed=0, validation_fraction=0.2, **TINY)


@pytest.mark.parametrize("condition", NEXT_FRAME_CONDITIONS)
def test_next_frame_protocol_runs_every_condition(small_store, corridor, condition):
    path, _ = small_store
    train, validation = corridor
    waves = WaveClips(path, clip_frames=11, batch_size=4, size_px=16, seed=0)
    log = RunLog()
    result = next_frame_experiment(condition, waves, train, validation, pretrain_updates=3, target_epochs=1,
                                   settings=TrainSettings(batch_size=4, device="cpu"),
                                   model_kwargs={"hidden_channels": 4}, log=log)
    assert len(result["validation_error_by_epoch"]) == 2 and np.isfinite(result["validation_error_by_epoch"]).all()
    updates_per_epoch = -(-len(train) // 4)
    if condition == "random_init":
        assert result["pretrain_updates"] == 0
    elif condition == "time_matched":
        assert result["pretrain_updates"] + result["updates"] == updates_per_epoch
    else:
        assert result["pretrain_updates"] == 3 and result["updates"] == updates_per_epoch
    assert {r["phase"] for r in log.rows} == ({"target"} if condition == "random_init" else {"pretrain", "target"})


def test_shuffled_frames_keep_the_frames_and_lose_their_order(small_store):
    path, _ = small_store
    waves = WaveClips(path, clip_frames=11, batch_size=4, shuffle=False)
    plain = next(wave_clip_batches(waves, torch.device("cpu")))
    shuffled = next(wave_clip_batches(waves, torch.device("cpu"), shuffle_frames=True, seed=1))
    assert torch.equal(plain.sum(1), shuffled.sum(1)) and not torch.equal(plain, shuffled)


def test_early_stopping_restores_the_best_weights(corridor):
    from wavesim.train.protocols import train_next_frame_target

    train, validation = corridor
    torch.manual_seed(0)
    model = RecurrentPredictor(hidden_channels=4)
    result = train_next_frame_target(model, train, validation, TrainSettings(batch_size=8, patience_epochs=1,
                                                                             learning_rate=0.5), RunLog(), max_epochs=6)
    errors = result["validation_error_by_epoch"]
    assert result["best_validation_error"] == min(errors)
    assert len(errors) < 8  # stopped after an epoch without improvement, or ran all 6


def test_contrastive_pretraining_reduces_nt_xent(small_store):
    from wavesim.train.protocols import pair_batches, pretrain_contrastive

    path, _ = small_store
    pairs = WavePairs(path, batch_size=4, size_px=32, analysis=AnalysisParams(min_size_fraction=0.02))
    torch.manual_seed(0)
    net = ContrastiveNet()
    log = RunLog()
    pretrain_contrastive(net, pair_batches(pairs, torch.device("cpu")), 6,
                         TrainSettings(batch_size=4, learning_rate=1e-3, weight_decay=1e-6), log, log_every=3)
    losses = [r["value"] for r in log.rows]
    assert len(losses) == 2 and losses[1] < losses[0]


def test_checkpoint_round_trips_and_refuses_foreign_files(tmp_path):
    torch.manual_seed(0)
    model = RecurrentPredictor(cell="gru", hidden_channels=4)
    path = save_checkpoint(tmp_path / "m.pt", model, task="next_frame", model_config={"cell": "gru", "hidden_channels": 4},
                           metadata={"updates": 3})
    loaded, payload = load_checkpoint(path)
    assert payload["metadata"] == {"updates": 3} and payload["task"] == "next_frame"
    x = torch.rand(2, 10, 16, 16)
    assert torch.equal(model.eval()(x), loaded.eval()(x))
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a wavesim checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "none.pt")


def test_cli_pretrain_then_evaluate(small_store, tmp_path, capsys):
    path, _ = small_store
    ckpt = tmp_path / "nf.pt"
    assert main(["pretrain", "--store", str(path), "--updates", "2", "--batch-size", "4", "--size-px", "16",
                 "--hidden-channels", "4", "--out", str(ckpt), "--device", "cpu"]) == 0
    assert ckpt.is_file() and (tmp_path / "nf" / "log.csv").is_file() and (tmp_path / "nf" / "learning_curves.png").is_file()
    out = tmp_path / "eval"
    assert main(["evaluate", str(ckpt), "--target", "corridor", "--movies", "5", "--frames", "16", "--size-px", "16",
                 "--batch-size", "4", "--out", str(out), "--device", "cpu"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "next_frame" and len(metrics["validation_error_by_epoch"]) == 2
    assert main(["evaluate", "--out", str(out)]) == 2
    assert "give a checkpoint, or --random-init" in capsys.readouterr().err
    assert main(["pretrain", "--task", "contrastive", "--live", "--out", str(ckpt)]) == 2
    assert "needs a store" in capsys.readouterr().err
