"""``wavesim pretrain`` under torchrun: two CPU ranks on gloo, through the real command line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from wavesim.errors import ParameterError  # noqa: E402
from wavesim.train.checkpoint import build_model, load_checkpoint  # noqa: E402
from wavesim.train.ddp import Launch, torchrun_launch  # noqa: E402

TESTS = Path(__file__).resolve().parents[1]


def test_torchrun_environment_is_read_and_checked():
    assert torchrun_launch({}) is None
    assert torchrun_launch({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}) == Launch(1, 2, 1)
    for environ, message in [
        ({"RANK": "0"}, r"the environment sets RANK but not WORLD_SIZE, LOCAL_RANK; start distributed training "
                        r"with torchrun"),
        ({"RANK": "a", "WORLD_SIZE": "2", "LOCAL_RANK": "0"}, r"must be integers, got RANK='a'"),
        ({"RANK": "2", "WORLD_SIZE": "2", "LOCAL_RANK": "0"}, r"0 <= RANK < WORLD_SIZE .* got RANK=2, WORLD_SIZE=2"),
    ]:
        with pytest.raises(ParameterError, match=message):
            torchrun_launch(environ)


def test_torchrun_ranks_share_every_clip_once_and_end_with_equal_weights(small_store, unfinished_store, tmp_path):
    store, odd_store = small_store[0], unfinished_store[0]  # 6 movies of 3 clips; 3 movies of 3 clips
    out = tmp_path / "out"
    out.mkdir()
    paths = [str(TESTS.parent), str(TESTS), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(paths))
    # --standalone: a rendezvous on a free local port, so parallel runs do not collide
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          str(TESTS / "ddp_worker.py"), str(out), str(store), str(odd_store)],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    reports = [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]

    # a world size that does not divide the clips: one line on every rank, exit 2, nothing written
    for report in reports:
        assert report["odd_exit"] == 2
        assert report["odd_stderr"].splitlines() == [
            "wavesim pretrain: error: 9 items do not divide evenly over 2 ranks (remainder='error'): 1 would be left "
            "out or repeated. Use a world size that divides 9, or remainder='drop' or 'pad'."]
    assert not (out / "odd.pt").exists() and not (out / "odd").exists()

    # the datasets took rank and world size from torch.distributed
    for rank, report in enumerate(reports):
        assert report["model"] == "DistributedDataParallel" and report["updates_exit"] == 0
        assert {k: report["sharding"][k] for k in ("clips", "pairs", "live")} == {k: [rank, 2] for k in
                                                                                 ("clips", "pairs", "live")}
    assert reports[0]["sharding"]["live_retinas"] == [0] and reports[1]["sharding"]["live_retinas"] == [1]

    # 6 updates of 3 clips: two epochs of 18 clips; each epoch every clip once over the ranks, 3 batches each
    for epoch in (0, 1):
        batches = [[b for b in r["batches"] if b["run"] == "updates" and b["epoch"] == epoch] for r in reports]
        per_rank = [[i for b in rank_batches for i in b["clip_id"]] for rank_batches in batches]
        assert [len(rank_batches) for rank_batches in batches] == [3, 3]
        assert all(b["rank"] == r and b["world_size"] == 2 for r, rep in enumerate(reports) for b in rep["batches"])
        assert sorted(per_rank[0] + per_rank[1]) == list(range(18))

    # DDP averaged the gradients: both ranks end with the same weights, which training moved, and rank 0 saved them
    weights = [torch.load(out / f"weights{r}.pt") for r in range(2)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    saved, payload = load_checkpoint(out / "updates.pt")
    assert all(torch.equal(p, weights[0][k]) for k, p in saved.named_parameters())
    assert payload["metadata"]["world_size"] == 2
    torch.manual_seed(0)
    initial = build_model("next_frame", payload["model_config"])
    assert not all(torch.equal(p, weights[0][k]) for k, p in initial.named_parameters())
    assert (out / "updates" / "log.csv").is_file()

    # epochs under DDP: every rank stops alike on one validation error, that of all the validation clips once
    from wavesim.data import WaveClips
    from wavesim.train.models import RecurrentPredictor
    from wavesim.train.clip_sets import ClipSet
    from wavesim.train.protocols import next_frame_validation

    for name in ("stored", "in_memory"):
        results = [r["epochs"][name] for r in reports]
        for key in ("validation_error_by_epoch", "best_epoch", "best_validation_error", "updates", "stopped"):
            assert results[0][key] == results[1][key], (name, key)
        assert results[0]["updates"] == {"stored": 3, "in_memory": 2}[name]  # 9 clips a rank; 7 padded to 8, 4 a rank; by 3
        states = [torch.load(out / f"{name}{r}.pt") for r in range(2)]
        assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
        model = RecurrentPredictor(hidden_channels=2, frame_shape=(16, 16))
        model.load_state_dict(states[0])
        if name == "stored":
            whole = WaveClips(odd_store, batch_size=2, size_px=16, shuffle=False, rank=0, world_size=1)
        else:
            whole = [ClipSet(torch.rand(7, 11, 16, 16, generator=torch.Generator().manual_seed(1))).clips]
        error = next_frame_validation(model, whole, torch.device("cpu"))
        assert error == pytest.approx(results[0]["best_validation_error"], rel=1e-5)
