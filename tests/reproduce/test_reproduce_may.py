"""``wavesim reproduce may2025``: folds, per-clip pairs, early stopping, exact resumption, user movies, the CLI."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from wavesim.cli import main  # noqa: E402
from wavesim.errors import ParameterError  # noqa: E402
from wavesim.reproduce import PAPERS, get_paper  # noqa: E402
from wavesim.reproduce import _may_run  # noqa: E402
from wavesim.reproduce._may_config import CONDITIONS, SIZES, MayConfig  # noqa: E402
from wavesim.reproduce._may_data import movie_clips  # noqa: E402
from wavesim.reproduce._may_report import write_report  # noqa: E402
from wavesim.reproduce._may_run import MayRun, job_names  # noqa: E402
from wavesim.train import resumable  # noqa: E402
from wavesim.train.evaluate import activation_maximisation, grating_responses, paired_comparisons  # noqa: E402
from wavesim.train.folds import FoldedClips, cut_clips  # noqa: E402
from wavesim.train.models import RecurrentPredictor  # noqa: E402
from wavesim.train.resumable import EarlyStoppingFit, epoch_order, per_clip_losses  # noqa: E402
from wavesim.train.evaluate.stats import align_by_key, per_clip_comparisons  # noqa: E402
from wavesim.train.targets import read_target_movie  # noqa: E402

@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: on a CPU shared with other jobs, two threads wait on each other (many times slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY = ["size_px=8", "hidden_channels=2", "wave_training_clips=16", "wave_validation_clips=8", "fold_clips=20",
        "test_clips=4", "clips_per_segment=2", "repetitions=2", "pretrain_max_epochs=4", "target_max_epochs=5",
        "rf_trials=1", "rf_steps=2", "batch_norm=eval"]


# ---------------------------------------------------------------------- papers


def test_get_paper_imports_the_module_and_names_the_choices(monkeypatch):
    module = get_paper("may2025")
    assert callable(module.add_arguments) and callable(module.run)
    assert set(PAPERS) == {"may2025", "ligeralde2023"}
    with pytest.raises(ParameterError, match=r"paper must be one of \['ligeralde2023', 'may2025'\], got 'nosuch'"):
        get_paper("nosuch")
    monkeypatch.setitem(PAPERS, "absent", "wavesim.reproduce._absent_paper")
    with pytest.raises(ParameterError, match=r"'absent' .* not part of this wavesim installation; choose one of"):
        get_paper("absent")


def test_cli_defaults_to_the_cpu_size(tmp_path):
    import argparse

    parser = argparse.ArgumentParser()
    get_paper("may2025").add_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path)])
    assert get_paper("may2025").config_of(args) == SIZES["cpu"] and args.size == "cpu" and args.max_minutes is None
    assert SIZES["paper"] == MayConfig() and MayConfig().fold_clips == 1000 and MayConfig().test_clips == 500
    assert MayConfig().with_overrides(["batch_norm=eval", "repetitions=3"]).repetitions == 3


# ---------------------------------------------------------------------- folds


def test_folds_at_the_papers_counts_hold_whole_segments_and_never_overlap():
    clips = np.arange(1600, dtype=np.float32)[:, None, None, None] * np.ones((1, 11, 2, 2), np.float32)
    segments = np.arange(1600) // 10
    folded = FoldedClips(clips, segments)  # defaults: 5 folds, 1,000 fold clips, 500 test clips
    assert len(folded.test_ids) == 500 and [len(f) for f in folded.fold_ids] == [200] * 5
    used = np.concatenate([folded.test_ids, *folded.fold_ids])
    assert len(np.unique(used)) == 1500
    for k in range(5):
        train, validation = folded.fold(k)
        assert len(train) == 800 and len(validation) == 200 and not set(train) & set(validation)
        assert not set(train) & set(folded.test_ids)
    for ids in (folded.test_ids, *folded.fold_ids):
        assert np.all(np.bincount(segments[ids])[np.unique(segments[ids])] == 10)  # whole segments
    assert torch.equal(folded.clips[7], torch.full((11, 2, 2), 7.0))  # clip id = row
    with pytest.raises(ParameterError, match=r"fold must be an integer in \[0, 4\], got 5"):
        folded.fold(5)
    with pytest.raises(ParameterError, match=r"fold_clips \(1005\) must be a multiple of n_folds x segment size"):
        FoldedClips(clips, segments, fold_clips=1005)
    with pytest.raises(ParameterError, match=r"need 2100 clips, got 1600; make more movies"):
        FoldedClips(clips, segments, fold_clips=1600)


def test_cut_clips_cuts_consecutive_frames_and_drops_incomplete_segments():
    movie = np.arange(50, dtype=np.float32)[:, None, None] * np.ones((1, 3, 3), np.float32)
    with pytest.raises(ParameterError, match=r"no movie holds one segment of 10 clips of 11 frames \(110 frames\)"):
        cut_clips([movie])  # the defaults: 11 frames per clip, 10 clips per segment
    clips, segments = cut_clips([movie, movie[:25]], clips_per_segment=2)
    assert clips.shape == (6, 11, 3, 3) and segments.tolist() == [0, 0, 1, 1, 2, 2]
    assert clips[1, :, 0, 0].tolist() == list(range(11, 22)) and clips[4, 0, 0, 0] == 0.0
    with pytest.raises(ParameterError, match=r"movies must share one frame shape"):
        cut_clips([movie, np.zeros((30, 4, 4))], clips_per_segment=1)


# ---------------------------------------------------------------------- per-clip pairs


def test_per_clip_pairs_are_the_same_clips_whatever_the_order():
    rng = np.random.default_rng(0)
    keys = [(r, i) for r in range(3) for i in range(40)]
    base = rng.gamma(2.0, 50.0, size=len(keys))  # clips differ a lot; the conditions differ a little
    a, b = base, base + 1.0 + rng.normal(0, 0.3, size=len(keys))
    order = rng.permutation(len(keys))
    shuffled = per_clip_comparisons({"a": (keys, a), "b": ([keys[i] for i in order], b[order])})
    aligned = paired_comparisons({"a": a, "b": b})
    assert shuffled == aligned  # paired by (replicate, clip), not by position
    assert shuffled[0]["n"] == 120 and shuffled[0]["p"] < 1e-30
    by_position = paired_comparisons({"a": a, "b": b[order]})  # what pairing by position would give
    assert by_position[0]["p"] > 1e-3
    sorted_keys, values = align_by_key({"a": (keys, a), "b": ([keys[i] for i in order], b[order])})
    assert sorted_keys == sorted(keys) and np.array_equal(values["b"], b)


def test_per_clip_pairs_refuse_sets_of_other_clips():
    keys = [(0, 1), (0, 2), (1, 1)]
    with pytest.raises(ParameterError, match=r"hold different clips \(e.g. \[\(0, 2\), \(0, 3\)\]\); per-clip pairs"):
        per_clip_comparisons({"a": (keys, [1.0, 2, 3]), "b": ([(0, 1), (0, 3), (1, 1)], [1.0, 2, 3])})
    with pytest.raises(ParameterError, match=r"repeated keys"):
        per_clip_comparisons({"a": (keys, [1.0, 2, 3]), "b": ([(0, 1), (0, 1), (1, 1)], [1.0, 2, 3])})
    with pytest.raises(ParameterError, match=r"3 keys but losses of shape \(2,\)"):
        per_clip_comparisons({"a": (keys, [1.0, 2, 3]), "b": (keys, [1.0, 2])})
    with pytest.raises(ParameterError, match=r"at least two conditions"):
        per_clip_comparisons({"a": (keys, [1.0, 2, 3])})


# ---------------------------------------------------------------------- early stopping, exact resumption


def _toy_fit(**kwargs):
    """Inputs random, training targets 0, validation targets 0.3: the validation error falls, then rises."""
    generator = torch.Generator().manual_seed(0)
    clips = torch.rand(40, 4, 6, 6, generator=generator)
    clips[:24, -1] = 0.0
    clips[24:, -1] = 0.3
    model = RecurrentPredictor(hidden_channels=2, generator=torch.Generator().manual_seed(1))
    options = dict(seed=5, max_epochs=60, patience=3, batch_size=5, learning_rate=0.02)
    options.update(kwargs)
    return EarlyStoppingFit(model, clips, np.arange(24), np.arange(24, 40), **options), clips


def test_early_stopping_restores_the_best_weights():
    fit, clips = _toy_fit()
    start = {k: v.clone() for k, v in fit.model.state_dict().items()}
    assert fit.run() and fit.done
    result = fit.result()
    errors = result["validation_error_by_epoch"]
    assert result["stopped"] == "early" and 0 < result["best_epoch"] == len(errors) - 1 - 3
    assert min(errors) == errors[result["best_epoch"]] == result["best_validation_error"] < errors[0]
    assert errors[-1] > result["best_validation_error"]  # the last weights are worse ...
    best = fit.best_weights()
    fit.model.load_state_dict(best)  # ... and the kept ones give the best error again, exactly
    assert per_clip_losses(fit.model, clips[24:]).mean() == result["best_validation_error"]
    assert not all(torch.equal(best[k], start[k]) for k in start)
    assert result["updates"] == (len(errors) - 1) * 5  # 24 clips in batches of 5: the last one partial
    np.testing.assert_allclose(np.mean(result["validation_losses_by_epoch"], axis=1), errors, rtol=1e-6)


def test_early_stopping_keeps_the_starting_weights_when_nothing_improves():
    fit, clips = _toy_fit(learning_rate=0.5, patience=2)
    clips[24:, -1] = 1.0  # validation wants 1, training pushes to 0
    start = {k: v.clone() for k, v in fit.model.state_dict().items()}
    fit.run()
    assert fit.result()["best_epoch"] == 0 and len(fit.result()["validation_error_by_epoch"]) == 3
    assert all(torch.equal(fit.best_weights()[k], start[k]) for k in start)


class _Clock:
    """time.monotonic stand-in: one second per call."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


def test_an_interrupted_fit_resumes_exactly(tmp_path, monkeypatch):
    whole, _ = _toy_fit(snapshot_epochs=(1, 2))
    whole.run()
    clock = _Clock()
    monkeypatch.setattr(resumable.time, "monotonic", clock)
    pieces, stops = None, 0
    while True:
        fit, _ = _toy_fit(snapshot_epochs=(1, 2))
        if pieces is not None:
            fit.load_state_dict(torch.load(tmp_path / "fit.pt", weights_only=True))
        if fit.run(deadline=clock.now + 7):
            break
        stops += 1
        assert fit.progress["batch"] > 0 or stops > 1  # stopped in mid-epoch at least once
        torch.save(fit.state_dict(), tmp_path / "fit.pt")
        pieces = True
    assert stops >= 3
    assert fit.result() == whole.result()
    for mine, theirs in ((fit.model.state_dict(), whole.model.state_dict()), (fit.best_weights(), whole.best_weights()),
                         (fit.snapshots[2], whole.snapshots[2])):
        assert all(torch.equal(mine[k], theirs[k]) for k in theirs)
    other, _ = _toy_fit(seed=6)
    with pytest.raises(ParameterError, match=r"another seed or other clips"):
        other.load_state_dict(torch.load(tmp_path / "fit.pt", weights_only=True))


def test_epoch_order_depends_on_seed_and_epoch_only():
    assert torch.equal(epoch_order(1, 2, 10), epoch_order(1, 2, 10))
    assert sorted(epoch_order(1, 2, 10).tolist()) == list(range(10))
    assert not torch.equal(epoch_order(1, 2, 50), epoch_order(1, 3, 50))
    with pytest.raises(ParameterError, match=r"patience must be an integer >= 1, got 0"):
        _toy_fit(patience=0)


def test_fit_defaults_are_the_papers():
    fit, _ = _toy_fit()
    default = EarlyStoppingFit(fit.model, fit.clips, fit.train_ids, fit.validation_ids, seed=0)
    assert (default.max_epochs, default.patience, default.batch_size) == (200, 5, 16)
    assert default.optimizer.param_groups[0]["lr"] == 1e-4


# ---------------------------------------------------------------------- the whole run, interrupted and resumed


def _fake_waves(config, name, *, backend="auto", progress=False):
    """Quick stand-in wave sets (the wave models have tests of their own): a bright bar sweeping the frame."""
    generator = torch.Generator().manual_seed(len(name))
    n = config.wave_training_clips + config.wave_validation_clips
    size = config.size_px
    clips = torch.zeros(n, 11, size, size)
    starts = torch.randint(0, size, (n,), generator=generator)
    for t in range(11):
        clips[torch.arange(n), t, :, (starts + t) % size] = 1.0
    return clips, np.arange(config.wave_training_clips), np.arange(config.wave_training_clips, n)


@pytest.fixture
def quick_run(monkeypatch):
    monkeypatch.setattr(_may_run, "wave_set", _fake_waves)
    monkeypatch.setattr(MayRun, "analysed", {"directed_prop": "best directional pre-training"})
    return MayConfig().with_overrides(TINY)


def _job_results(folder, config):
    jobs = job_names(config, MayRun.analysed)
    assert len(jobs) == 2 * (3 + 8 + 1)
    return {job: torch.load(folder / "jobs" / f"{job}.pt", weights_only=True) for job in jobs}


def _equal(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return a == b


def test_an_interrupted_and_resumed_run_gives_exactly_the_same_results(quick_run, tmp_path, monkeypatch):
    config, device = quick_run, torch.device("cpu")
    whole = MayRun(config, tmp_path / "whole", {"kind": "corridor"}, device, log=lambda line: None)
    whole.start(resume=False)
    assert whole.run()
    write_report(whole)
    clock = _Clock()
    monkeypatch.setattr(resumable.time, "monotonic", clock)
    monkeypatch.setattr(_may_run.time, "monotonic", clock)
    steps, saw_current = 0, False
    while True:
        piece = MayRun(config, tmp_path / "pieces", {"kind": "corridor"}, device, log=lambda line: None)
        piece.start(resume=steps > 0)
        if piece.run(max_minutes=20 / 60):  # 20 ticks of the fake clock per step
            break
        steps += 1
        saw_current |= (tmp_path / "pieces" / "current.pt").is_file()
    assert steps >= 4 and saw_current
    write_report(piece)
    assert _equal(_job_results(tmp_path / "pieces", config), _job_results(tmp_path / "whole", config))
    mine, theirs = (json.loads((tmp_path / f / "results.json").read_text()) for f in ("pieces", "whole"))
    assert mine == theirs
    table = (tmp_path / "whole" / "table.md").read_text()
    assert "| DirectedProp | 48.7 +- 17.8 |" in table and "p x 6" in table
    assert (tmp_path / "whole" / "validation_error.png").stat().st_size > 1000
    # the paper family is tested on pooled per-clip validation losses: 2 replicates x 4 clips per fold
    assert theirs["tests"]["paper_family_validation"][0]["n"] == 8 and len(theirs["tests"]["paper_family_test"]) == 6
    assert {row["condition"] for row in theirs["conditions"]} == {c.name for c in CONDITIONS}


def test_the_command_pauses_with_status_3_and_refuses_to_overwrite_a_run(quick_run, tmp_path, monkeypatch, capsys):
    clock = _Clock()
    monkeypatch.setattr(resumable.time, "monotonic", clock)
    monkeypatch.setattr(_may_run.time, "monotonic", clock)
    argv = ["reproduce", "may2025", "--out", str(tmp_path / "run"), "--device", "cpu", "--max-minutes", "0.5",
            *[a for item in TINY for a in ("--set", item)]]
    assert main(argv) == 3
    assert "run again with --resume" in capsys.readouterr().out
    before = sorted(p.name for p in (tmp_path / "run").rglob("*"))
    assert main(argv) == 2
    assert "holds a run already; add --resume to carry it on" in capsys.readouterr().err
    assert main([*argv, "--resume", "--set", "repetitions=3"]) == 2
    assert "holds a run with another config" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "run").rglob("*")) == before


# ---------------------------------------------------------------------- a user's movies as the target


def test_user_movies_go_through_the_same_clips_folds_and_test_split(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(3)
    movie = rng.random((70, 12, 16)).astype(np.float32)  # 70 frames: 3 segments of 2 clips (66 frames)
    np.save(tmp_path / "a.npy", movie)
    (tmp_path / "frames").mkdir()
    for t in range(66):
        Image.fromarray((255 * rng.random((10, 10))).astype(np.uint8)).save(tmp_path / "frames" / f"f_{t}.png")
    config = MayConfig().with_overrides(["size_px=8", "fold_clips=10", "test_clips=2", "clips_per_segment=2"])
    folded = movie_clips(config, [tmp_path / "a.npy", tmp_path / "frames"])
    assert folded.clips.shape == (12, 11, 8, 8) and len(folded.test_ids) == 2
    assert [len(f) for f in folded.fold_ids] == [2] * 5
    resized = read_target_movie(tmp_path / "a.npy", size_px=8)  # central 12 x 12 square, area-averaged
    assert resized.shape == (70, 8, 8) and np.array_equal(folded.clips[1].numpy(), resized[11:22])
    slowed = read_target_movie(tmp_path / "a.npy", size_px=8, frame_rate_hz=10, train_frame_rate_hz=5)
    np.testing.assert_allclose(slowed[1], resized[2:4].mean(axis=0), rtol=1e-6)
    with pytest.raises(ParameterError, match=r"10 fold clips and 4 test clips need 14 clips, got 12; make more movies"):
        movie_clips(config.with_overrides(["test_clips=4", "fold_clips=10"]), [tmp_path / "a.npy", tmp_path / "frames"])
    with pytest.raises(ParameterError, match=r"give both frame_rate_hz .* or neither"):
        read_target_movie(tmp_path / "a.npy", frame_rate_hz=10)


# ---------------------------------------------------------------------- batch-norm mode of the analyses


def test_train_mode_receptive_fields_climb_each_trial_alone_and_leave_the_network_as_it_was():
    model = RecurrentPredictor(hidden_channels=3, generator=torch.Generator().manual_seed(2)).eval()
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    kwargs = dict(frame_shape=(8, 8), n_frames=4, steps=3, unit=(4, 5), seed=7, batch_norm="train")
    two = activation_maximisation(model.logits, n_trials=2, **kwargs)
    one = activation_maximisation(model.logits, n_trials=1, **kwargs)
    assert np.array_equal(two["clips"][0], one["clips"][0])  # trial 0 never saw trial 1's clip
    assert not model.training and all(torch.equal(v, buffers[k]) for k, v in model.named_buffers())
    eval_mode = activation_maximisation(model.logits, n_trials=1, **{**kwargs, "batch_norm": "eval"})
    assert not np.array_equal(eval_mode["clips"][0], one["clips"][0])
    with pytest.raises(ParameterError, match=r"batch_norm must be one of \('eval', 'train'\), got 'test'"):
        activation_maximisation(model.logits, **{**kwargs, "batch_norm": "test"})


def test_gratings_report_the_papers_pooled_sd_in_either_batch_norm_mode():
    model = RecurrentPredictor(hidden_channels=2, generator=torch.Generator().manual_seed(4)).train()
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    options = dict(n_frames=3, frame_shape=(8, 8), keep_changes=True, orientations_deg=(0, 90), phases=(0, 0.5))
    train = grating_responses(model.layer_responses, batch_norm="train", **options)
    evaluated = grating_responses(model.layer_responses, **options)
    for result in (train, evaluated):
        for layer in result["layers"].values():
            assert layer["pooled_std"] == pytest.approx(float(layer["changes"].std()))
    assert train["layers"]["output"]["pooled_std"] != evaluated["layers"]["output"]["pooled_std"]
    assert model.training and all(torch.equal(v, buffers[k]) for k, v in model.named_buffers())


def test_recurrent_predictor_draws_its_weights_from_a_generator():
    def weights(seed):
        return RecurrentPredictor(hidden_channels=3, generator=torch.Generator().manual_seed(seed)).state_dict()

    a, b, c = weights(1), weights(1), weights(2)
    assert all(torch.equal(a[k], b[k]) for k in a) and not torch.equal(a["head.weight"], c["head.weight"])
    bound = 1 / np.sqrt(3)
    assert float(a["layers.0.conv_h.weight"].abs().max()) <= bound


def test_corridor_movies_are_the_same_rendered_in_parallel():
    from wavesim.train.targets import make_target_movies

    serial = make_target_movies("corridor", 3, 11, size_px=8, seed=4)
    assert np.array_equal(make_target_movies("corridor", 3, 11, size_px=8, seed=4, workers=2), serial)
    with pytest.raises(ParameterError, match=r"workers must be an integer >= 1, got 0"):
        make_target_movies("corridor", 3, 11, size_px=8, workers=0)
