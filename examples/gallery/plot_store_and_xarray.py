"""
Generate a dataset and open it with xarray
==========================================

``wavesim generate`` writes a zarr store of movies with everything needed to regenerate it bit for bit.
Here the command runs from Python (``wavesim.cli.main`` takes the same arguments as the shell command)
into a temporary folder: two calcium-readout movies of 60 s on a 2 mm x 2 mm mouse retina. Then
:func:`wavesim.open_dataset` opens it as a labelled :class:`xarray.Dataset`: time in seconds, y and x in
micrometres, units in the attributes, and only the movies that were written completely.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

import wavesim as ws
from wavesim.cli import main as wavesim_command

folder = Path(tempfile.mkdtemp())
store = folder / "waves.zarr"
wavesim_command([
    "generate", str(store), "--movies", "2", "--duration-s", "60", "--width-um", "2000",
    "--readout", "calcium", "--blur-um", "40", "--backend", "cpu-events", "--no-progress",
])

# %%
# ``wavesim info`` summarises the store's provenance: model, parameters with units, retina, readout, seed.
wavesim_command(["info", str(store), "--sample", "2"])

# %%
# The same store as labelled data (``pip install wavesim[xarray]``).
ds = ws.open_dataset(store)
print(ds)
movies = ds["movies"]
print(movies.attrs)

# %%
# Select by coordinate and reduce with xarray: the calcium signal at one time, and each movie's mean
# signal over time. The axes carry micrometres and seconds because the store says so.
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
frame = movies.sel(movie=0).sel(time=30.0, method="nearest")
frame.plot.imshow(ax=left, cmap="magma", vmin=0, vmax=255, yincrease=False)
left.set_title(f"movie 0 at t = {float(frame.time):.1f} s")
movies.mean(dim=("y", "x")).plot.line(ax=right, x="time", hue="movie")
right.set(ylabel="mean calcium signal (0-255)", title="each movie's mean signal")
plt.show()
