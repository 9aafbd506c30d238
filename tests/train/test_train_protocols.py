"""The pre-training protocols, checkpoints and CLI end to end on tiny sizes."""

import json

import numpy as np
import pytest

import wavesim as ws

torch = pytest.importorskip("torch")
pytest.importorskip("skimage")
pytest.importorskip("sklearn")

from wavesim.cli import main  # noqa: E402
from wavesim.data import WaveClips, WavePairs  # noqa: E402
from wavesim.errors import CheckpointError, ParameterError  # noqa: E402
from wavesim.analysis import AnalysisParams  # noqa: E402
from wavesim.train.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from wavesim.train.targets import target_clips  # noqa: E402
from wavesim.train.waves import PAPER_WAVES  # noqa: E402
from wavesim.train.models import ContrastiveNet, RecurrentPredictor  # noqa: E402
from wavesim.train.clip_sets import wave_clip_batches  # noqa: E402
from wavesim.train.protocols import NEXT_FRAME_CONDITIONS, next_frame_experiment  # noqa: E402
from wavesim.train.run_log import RunLog  # noqa: E402
from wavesim.train.settings import TrainSettings  # noqa: E402

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


def test_next_frame_protocol_pretrains_in_epochs_on_clip_sets(corridor):
    from wavesim.train.clip_sets import ClipSet

    train, validation = corridor
    rng = np.random.default_rng(0)
    waves = (ClipSet(rng.random((8, 11, 16, 16)) < 0.2), ClipSet(rng.random((4, 11, 16, 16)) < 0.2))
    result = next_frame_experiment("shuffled_filters", waves, train, validation, pretrain_epochs=2,
                                   settings=TrainSettings(batch_size=4, device="cpu"),
                                   model_kwargs={"hidden_channels": 2})
    pretraining = result["pretraining"]
    assert len(pretraining["validation_error_by_epoch"]) <= 3 and result["pretrain_updates"] == pretraining["updates"]
    assert len(result["validation_error_by_epoch"]) == 2
    with pytest.raises(ParameterError, match="time_matched"):
        next_frame_experiment("time_matched", waves, train, validation)


def test_shuffled_frames_keep_the_frames_and_lose_their_order(small_store):
    path, _ = small_store
    waves = WaveClips(path, clip_frames=11, batch_size=4, shuffle=False)
    plain = next(wave_clip_batches(waves, torch.device("cpu")))
    shuffled = next(wave_clip_batches(waves, torch.device("cpu"), shuffle_frames=True, seed=1))
    assert torch.equal(plain.sum(1), shuffled.sum(1)) and not torch.equal(plain, shuffled)


@pytest.mark.parametrize("learning_rate, patience", [(0.05, 1), (1e-3, 2)])
def test_fit_next_frame_follows_may_et_al(corridor, learning_rate, patience):
    """Epoch 0 only validates; training stops after `patience` epochs without a new best; the best weights return."""
    from wavesim.train.clip_sets import EpochBatches
    from wavesim.train.protocols import fit_next_frame, next_frame_validation

    train, validation = corridor
    torch.manual_seed(0)
    model = RecurrentPredictor(hidden_channels=4)
    settings = TrainSettings(batch_size=8, patience_epochs=patience, learning_rate=learning_rate, device="cpu")
    log = RunLog()
    result = fit_next_frame(model, train, validation, settings, log, max_epochs=3)
    errors = result["validation_error_by_epoch"]
    best = int(np.argmin(errors))
    assert result["best_epoch"] == best and result["best_validation_error"] == errors[best]
    assert len(result["train_loss_by_epoch"]) == len(errors) - 1
    if result["stopped"] == "early":
        assert len(errors) - 1 - best == patience and min(errors[best + 1:]) >= errors[best]
    else:
        assert result["stopped"] == "max_epochs" and len(errors) == 4
        assert len(errors) - 1 - best < patience
    assert not [r for r in log.rows if r["epoch"] == 0 and r["metric"] == "train loss"]
    assert result["updates"] == (len(errors) - 1) * -(-len(train) // 8)
    # the model now holds the best epoch's weights: its validation error is that epoch's
    again = next_frame_validation(model, EpochBatches(validation, settings.batch_size, 0, training=False)(0), torch.device("cpu"))
    assert again == pytest.approx(errors[best], rel=1e-5)


def test_fit_next_frame_keeps_the_starting_weights_when_no_epoch_improves(corridor):
    from wavesim.train.protocols import fit_next_frame

    train, validation = corridor
    torch.manual_seed(0)
    model = RecurrentPredictor(hidden_channels=4)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    # A step size that wrecks the network: every epoch is worse than epoch 0.
    settings = TrainSettings(batch_size=8, patience_epochs=2, learning_rate=5.0, device="cpu")
    result = fit_next_frame(model, train, validation, settings, RunLog(), max_epochs=10)
    assert result["best_epoch"] == 0 and result["stopped"] == "early"
    assert len(result["validation_error_by_epoch"]) == 3
    assert all(torch.equal(model.state_dict()[k], v) for k, v in start.items())


def test_fit_next_frame_reads_wave_stores_epoch_by_epoch(small_store):
    from wavesim.train.protocols import fit_next_frame

    path, _ = small_store
    train = WaveClips(path, clip_frames=11, batch_size=4, size_px=16, seed=0)
    validation = WaveClips(path, clip_frames=11, batch_size=4, size_px=16, seed=0, shuffle=False)
    torch.manual_seed(0)
    result = fit_next_frame(RecurrentPredictor(hidden_channels=2), train, validation,
                            TrainSettings(batch_size=4, device="cpu"), RunLog(), max_epochs=2, phase="pretrain",
                            shuffle_frames=True)
    assert len(result["validation_error_by_epoch"]) == 3 and result["updates"] == 2 * len(train)


def test_contrastive_pretraining_reduces_nt_xent(small_store):
    from wavesim.train.clip_sets import pair_batches
    from wavesim.train.protocols import pretrain_contrastive

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


def test_version_1_checkpoints_load_without_batch_norms(tmp_path):
    torch.manual_seed(0)
    old = RecurrentPredictor(hidden_channels=3, batch_norm=False)
    torch.save({"format": "wavesim-checkpoint", "format_version": 1, "wavesim_version": "0.1", "task": "next_frame",
                "model_config": {"cell": "rnn", "hidden_channels": 3}, "metadata": {},
                "state_dict": old.state_dict()}, tmp_path / "v1.pt")
    loaded, payload = load_checkpoint(tmp_path / "v1.pt")
    assert payload["model_config"]["batch_norm"] is False
    x = torch.rand(1, 4, 8, 8)
    assert torch.equal(loaded.eval()(x), old.eval()(x))


def test_wave_source_simulates_fixed_training_and_validation_sets():
    from wavesim.train.clip_sets import ClipSet, make_clip_sets
    from wavesim.train.waves import WaveSource

    source = WaveSource(size_px=16, training_clips=5, validation_clips=3, n_retinas=2, warmup_s=0.0)
    train, validation = make_clip_sets(source, 0, backend="cpu")
    assert isinstance(train, ClipSet) and train.clips.shape == (5, 11, 16, 16) and len(validation) == 3
    again, _ = make_clip_sets(source, 0, backend="cpu")
    assert torch.equal(again.clips, train.clips)
    # the paper's waves (PAPER_WAVES), the model's default preset when none is named
    assert source.params() == ws.preset(PAPER_WAVES["wave_preset"], model=PAPER_WAVES["wave_model"])
    with pytest.raises(ParameterError, match="Unknown model 'nope'"):
        WaveSource(wave_model="nope")
    with pytest.raises(ParameterError, match="Unknown preset"):
        WaveSource(wave_preset="nope")
    with pytest.raises(ParameterError, match="size_px"):
        WaveSource(size_px=2)


def test_wave_source_of_single_waves_cuts_the_waves_back_to_back_into_clips():
    from wavesim.simulate import wave_sequence
    from wavesim.train.clip_sets import make_clip_sets
    from wavesim.train.waves import WaveSource

    source = WaveSource(wave_model="directional", wave_preset="may2025", size_px=64, training_clips=4,
                        validation_clips=2)
    train, validation = make_clip_sets(source, 5, backend="cpu")
    frames = wave_sequence(ws.preset("may2025", model="directional"), 5, 44, backend="cpu")
    assert torch.equal(train.clips, torch.from_numpy(frames).float().reshape(4, 11, 64, 64))
    assert not torch.equal(validation.clips, train.clips[:2])  # waves of other seeds


def test_cli_pretrain_in_epochs_keeps_the_best_weights(small_store, tmp_path, capsys):
    path, _ = small_store
    ckpt = tmp_path / "epochs.pt"
    assert main(["pretrain", "--store", str(path), "--validation-store", str(path), "--max-epochs", "2",
                 "--batch-size", "4", "--size-px", "16", "--hidden-channels", "2", "--out", str(ckpt),
                 "--device", "cpu"]) == 0
    assert "best validation error" in capsys.readouterr().out
    model, payload = load_checkpoint(ckpt)
    meta = payload["metadata"]
    errors = meta["validation_error_by_epoch"]
    assert len(errors) == 3 and meta["best_epoch"] == int(np.argmin(errors))
    assert meta["waves"]["wave_model"] == PAPER_WAVES["wave_model"] and meta["waves"]["size_px"] == 16
    validation = WaveClips(path, clip_frames=11, batch_size=4, size_px=16, seed=0, shuffle=False)
    from wavesim.train.protocols import next_frame_validation

    assert next_frame_validation(model, validation, torch.device("cpu")) == pytest.approx(min(errors), rel=1e-5)
    assert main(["pretrain", "--store", str(path), "--out", str(ckpt)]) == 2
    assert "--validation-store" in capsys.readouterr().err
    assert main(["pretrain", "--live", "--out", str(ckpt)]) == 2
    assert "give --updates N" in capsys.readouterr().err
    assert main(["pretrain", "--wave-model", "nope", "--out", str(ckpt)]) == 2
    assert "Unknown model 'nope'" in capsys.readouterr().err


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
    assert main(["pretrain", "--task", "contrastive", "--live", "--updates", "2", "--out", str(ckpt)]) == 2
    assert "needs a store" in capsys.readouterr().err
    assert main(["pretrain", "--task", "contrastive", "--store", str(path), "--out", str(ckpt)]) == 2
    assert "give --updates N" in capsys.readouterr().err


def test_cli_evaluate_contrastive_reports_translation_manifolds_per_condition(tmp_path, monkeypatch):
    import wavesim.train.protocols.contrastive as contrastive_protocol

    # The digits probe runs 1797 images through the ResNet: too slow here, and tested on its own.
    monkeypatch.setattr(contrastive_protocol, "digits_probe", lambda features, seed: {"accuracy": None})
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "cl.pt", ContrastiveNet(), task="contrastive", model_config={})
    out = tmp_path / "eval_cl"
    assert main(["evaluate", str(ckpt), "--exemplars", "3", "--shifts", "5", "--out", str(out),
                 "--device", "cpu"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["manifold_controls"]) == {"random_init", "shuffled_entries", "shuffled_filters"}
    for result in [metrics["manifolds"], *metrics["manifold_controls"].values()]:
        assert list(result["layers"]) == ["stem", "stage1", "stage2", "stage3", "stage4", "pooled"]
        assert all(layer["capacity"] > 0 for layer in result["layers"].values())
    assert len(metrics["translation"]["shifts"]) == 5 and "manifold" in metrics["translation"]
    assert (out / "translation_manifolds.png").stat().st_size > 0
    random_out = tmp_path / "eval_random"
    assert main(["evaluate", "--random-init", "contrastive", "--exemplars", "3", "--shifts", "5",
                 "--out", str(random_out), "--device", "cpu"]) == 0
    assert "manifold_controls" not in json.loads((random_out / "metrics.json").read_text())
    assert (random_out / "translation_manifolds.png").is_file()
