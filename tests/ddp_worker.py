"""One rank of ``wavesim pretrain`` under torchrun (run by tests/train/test_train_distributed.py).

Usage: python -m torch.distributed.run --nproc_per_node 2 ddp_worker.py OUT STORE ODD_STORE

Runs, in this process, the real command line twice: on ODD_STORE, whose
clips do not divide among the ranks (refused before the ranks meet), then
streaming pre-training for a few updates on STORE. It records, without
changing them, the clips each rank trains on and the weights each rank
ends with (the command saves rank 0's only), in OUT/rank<RANK>.json and
OUT/weights<RANK>.pt.

Then, through the library, it trains one epoch with validation under DDP,
on a store and on an in-memory clip set, and writes each rank's results and
weights (OUT/stored<RANK>.pt, OUT/in_memory<RANK>.pt).
"""

import contextlib
import io
import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

torch.set_num_threads(1)

import wavesim.train.protocols as protocols  # noqa: E402
from wavesim.analysis import AnalysisParams  # noqa: E402
from wavesim.cli import main  # noqa: E402
from wavesim.data import LiveWaves, WaveClips, WavePairs  # noqa: E402
from wavesim.train.clip_sets import ClipSet  # noqa: E402
from wavesim.train.ddp import distribute, unwrap  # noqa: E402
from wavesim.train.models import RecurrentPredictor  # noqa: E402
from wavesim.train.protocols import fit_next_frame  # noqa: E402
from wavesim.train.run_log import RunLog  # noqa: E402
from wavesim.train.settings import TrainSettings  # noqa: E402

out, store, odd_store = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
rank = int(os.environ["RANK"])
report = {"batches": [], "sharding": {}}

clips_iter = WaveClips.__iter__


def recording_iter(self):
    """WaveClips' own batches, with (run, epoch, clip ids, rank, world size) noted."""
    for batch in clips_iter(self):
        report["batches"].append({"run": report["run"], "epoch": int(batch["epoch"]), "shuffle": self.shuffle,
                                  "clip_id": batch["clip_id"].tolist(), "rank": self.rank,
                                  "world_size": self.world_size})
        yield batch


WaveClips.__iter__ = recording_iter
pretrain = protocols.pretrain_next_frame


def pretrain_and_keep_weights(model, *args, **kwargs):
    pretrain(model, *args, **kwargs)
    torch.save(dict(unwrap(model).named_parameters()), out / f"weights{rank}.pt")
    report["model"] = type(model).__name__
    # with the group up, the other datasets take their rank and world size from it too
    clips = WaveClips(store, batch_size=1)
    pairs = WavePairs(store, analysis=AnalysisParams(min_size_fraction=0.02), batch_size=1)
    live = LiveWaves(backend="cpu", n_retinas=1)
    report["sharding"] = {"clips": [clips.rank, clips.world_size], "pairs": [pairs.rank, pairs.world_size],
                          "live": [live.rank, live.world_size], "live_retinas": live.retina_indices().tolist()}


protocols.pretrain_next_frame = pretrain_and_keep_weights
common = ["--batch-size", "3", "--size-px", "16", "--hidden-channels", "2", "--device", "cpu", "--lr", "1e-2"]
runs = {
    "odd": ["--store", odd_store, "--updates", "2", "--out", str(out / "odd.pt")],
    "updates": ["--store", store, "--updates", "6", "--out", str(out / "updates.pt")],
}
for name, argv in runs.items():
    report["run"] = name
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        report[f"{name}_exit"] = main(["pretrain", *argv, *common])
    report[f"{name}_stderr"] = err.getvalue()

# The command line joins a group once per process; this second group has a FileStore of its own, so none of the
# first group's rendezvous keys is read again.
report["run"] = "library"
dist.init_process_group("gloo", store=dist.FileStore(str(out / "rendezvous"), 2), rank=rank, world_size=2)
torch.manual_seed(0)
model = distribute(RecurrentPredictor(hidden_channels=2, frame_shape=(16, 16)), torch.device("cpu"))
settings = TrainSettings(batch_size=3, device="cpu", learning_rate=1e-2)
# 9 validation clips: 5 for rank 0 and 4 and a padded repeat for rank 1
validation = WaveClips(odd_store, batch_size=2, size_px=16, shuffle=False, remainder="pad")
in_memory = ClipSet(torch.rand(7, 11, 16, 16, generator=torch.Generator().manual_seed(1)))
report["epochs"] = {}
for name, train, val in [("stored", WaveClips(store, batch_size=3, size_px=16), validation),
                         ("in_memory", in_memory, in_memory)]:
    report["epochs"][name] = fit_next_frame(model, train, val, settings, RunLog(), max_epochs=1)
    torch.save(unwrap(model).state_dict(), out / f"{name}{rank}.pt")
dist.destroy_process_group()
(out / f"rank{rank}.json").write_text(json.dumps(report))
