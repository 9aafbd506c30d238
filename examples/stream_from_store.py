"""Stream clips from a wavesim store into a small next-frame network.

Run: python examples/stream_from_store.py [STORE]  (CPU, about a minute)

Without STORE it first writes examples_waves.zarr: 4 mouse-preset movies of
120 s, 64 x 64 pixels of 50 um at 0.5 s per frame (the clips of May et al.
2025: 10 frames in, the 11th predicted). Training stops part-way through
the second epoch and resumes from the saved state, as after a pre-emption.
"""

import sys
from pathlib import Path

import torch

import wavesim as ws
from wavesim.data import WaveClips
from wavesim.generate import generate_store
from wavesim.io.store import DatasetSpec

store = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("examples_waves.zarr")
if not store.exists():
    # The amacrine model's own run (3.2 mm square, 50 um pixels, 0.5 s frames, 15 min warm-up), 120 s movies.
    spec = DatasetSpec(params=ws.preset("mouse"), run=ws.get_model("amacrine").run.updated(duration_s=120),
                       seed=0, n_movies=4)
    generate_store(store, spec)

clips = WaveClips(store, clip_frames=11, clip_step=2, batch_size=16, seed=0)
loader = clips.loader(num_workers=2, persistent_workers=True)
print(f"{clips.n_items} clips of {clips.clip_frames} frames {clips.frame_shape}, {len(loader)} batches per epoch")

torch.manual_seed(0)
net = torch.nn.Sequential(
    torch.nn.Conv2d(10, 32, 3, padding=1), torch.nn.ReLU(),
    torch.nn.Conv2d(32, 32, 3, padding=1), torch.nn.ReLU(),
    torch.nn.Conv2d(32, 1, 3, padding=1), torch.nn.Sigmoid(),
)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)


def train_on(batch):
    x, target = batch["clips"][:, :10], batch["clips"][:, 10:]
    loss = ((net(x) - target) ** 2).sum(dim=(1, 2, 3)).mean()  # squared error summed over pixels
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


for epoch in range(2):
    loader.set_epoch(epoch)
    losses = []
    for step, batch in enumerate(loader):
        losses.append(train_on(batch))
        if epoch == 1 and step == len(loader) // 2:
            state = loader.state_dict()  # save this with the model's checkpoint
            print(f"epoch 1 interrupted after {step + 1} batches")
            break
    print(f"epoch {epoch}: {len(losses)} batches, mean loss {sum(losses) / len(losses):.2f}")

resumed = WaveClips(store, clip_frames=11, clip_step=2, batch_size=16, seed=0)  # as in a new process
resumed.load_state_dict(state)
rest = [train_on(batch) for batch in resumed.loader(num_workers=2)]
print(f"epoch 1 resumed: {len(rest)} more batches, mean loss {sum(rest) / len(rest):.2f}")
