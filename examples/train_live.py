"""Train a small next-frame network on waves simulated while it trains.

Run: python examples/train_live.py  (on a GPU the clips never leave it; on the CPU about a minute)

Each of the retinas runs with its own parameters drawn from ranges around
the mouse preset, so the network sees a family of wave speeds and sizes.
The simulation is warmed up once and then kept running: every batch is
new, never-repeated data.
"""

import torch

import wavesim as ws
from wavesim.backends import resolve_backend
from wavesim.data import LiveWaves

backend = resolve_backend("auto")
waves = LiveWaves(
    ws.preset("mouse"),
    param_ranges={"P_s": (15.0, 40.0), "H1": (3.0, 5.0)},  # a family of wave statistics
    n_retinas=1024 if backend == "cuda" else 16,
    batch_size=256 if backend == "cuda" else 16,
    clip_frames=11,
    warmup_s=300,
    seed=0,
    backend=backend,
    batches_per_epoch=200 if backend == "cuda" else 8,
)
device = torch.device("cuda" if backend == "cuda" else "cpu")
print(f"backend {backend}: {waves.n_retinas} retinas, e.g. P_s = {[round(p.P_s, 1) for p in waves.retina_params()[:4]]}")

torch.manual_seed(0)
net = torch.nn.Sequential(
    torch.nn.Conv2d(10, 32, 3, padding=1), torch.nn.ReLU(),
    torch.nn.Conv2d(32, 32, 3, padding=1), torch.nn.ReLU(),
    torch.nn.Conv2d(32, 1, 3, padding=1), torch.nn.Sigmoid(),
).to(device)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(2):
    losses = []
    for batch in waves:  # the first batch waits for the warm-up
        clips = batch["clips"]  # already on `device`
        loss = ((net(clips[:, :10]) - clips[:, 10:]) ** 2).sum(dim=(1, 2, 3)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    print(f"epoch {epoch}: {len(losses)} batches on {clips.device}, mean loss {sum(losses) / len(losses):.2f}, "
          f"frames up to {int(batch['first_frame'][0]) + 11}")
