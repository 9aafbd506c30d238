"""
Stream clips from a store into PyTorch
======================================

:class:`wavesim.data.WaveClips` reads clips of consecutive frames from one or more stores, in batches,
every clip once per epoch across DataLoader workers and distributed ranks, and can resume mid-epoch.
Here: a small store of four 120 s movies, 11-frame clips (May et al. 2025: ten frames in, the eleventh
predicted), and a few hundred updates of a tiny next-frame network. ``examples/stream_from_store.py``
does the same with two DataLoader workers and resumes an interrupted epoch.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from wavesim.cli import main as wavesim_command
from wavesim.data import WaveClips

store = Path(tempfile.mkdtemp()) / "waves.zarr"
wavesim_command(["generate", str(store), "--movies", "4", "--duration-s", "120", "--width-um", "1600",
                 "--backend", "cpu-events", "--no-progress"])

clips = WaveClips(store, clip_frames=11, clip_step=2, batch_size=16, seed=0)
loader = clips.loader(num_workers=0)  # workers: loader(num_workers=2, persistent_workers=True)
print(f"{clips.n_items} clips of {clips.clip_frames} frames of {clips.frame_shape} pixels, "
      f"{len(loader)} batches per epoch")
batch = next(iter(loader))
print({key: tuple(value.shape) for key, value in batch.items() if hasattr(value, "shape")})

# %%
# The busiest clip of the first batch, frame by frame, with where it came from.
busiest = int(batch["clips"].sum(dim=(1, 2, 3)).argmax())
fig, axes = plt.subplots(1, 11, figsize=(11, 1.6), layout="constrained")
for f, ax in enumerate(axes):
    ax.imshow(batch["clips"][busiest, f], cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title("target" if f == 10 else f"{f}", fontsize=8)
fig.suptitle(f"movie {int(batch['movie'][busiest])}, from frame {int(batch['first_frame'][busiest])}", fontsize=9)
plt.show()

# %%
# A few epochs of a tiny next-frame network: squared error summed over pixels, as May et al. train.
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(10, 16, 3, padding=1), torch.nn.ReLU(),
                          torch.nn.Conv2d(16, 1, 3, padding=1), torch.nn.Sigmoid())
optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
losses = []
for epoch in range(4):
    loader.set_epoch(epoch)  # a new order each epoch, drawn from (seed, epoch)
    for batch in loader:
        x, target = batch["clips"][:, :10], batch["clips"][:, 10:]
        loss = ((net(x) - target) ** 2).sum(dim=(1, 2, 3)).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
print(f"{len(losses)} updates; loss {losses[0]:.1f} -> {losses[-1]:.1f}")
fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
ax.plot(losses)
ax.set(xlabel="update", ylabel="squared error per clip")
plt.show()
