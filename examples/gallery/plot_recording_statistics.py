"""
Wave statistics of a real recording
===================================

The repository ships two multielectrode-array recordings of mouse retinal waves from the retinal wave
repository (Eglen et al. 2014; ``datasets/recordings/README.md`` has their attribution). This loads the
wild-type P5 recording of Kirkby et al. (2013), 8 x 8 electrodes 100 um apart, and computes the
statistics ``wavesim stats`` prints: bursts per electrode, waves as space-time clusters of bursts, their
frequency, size and speed, inter-wave intervals, and the correlation index of Wong et al. (1993)
against electrode distance. The same analysis runs on simulated movies (see the next example).
"""

import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from wavesim.analysis import AnalysisParams, plot_summaries, summarize
from wavesim.io import load_recording

ROOT = Path(sys.argv[0]).resolve().parents[2]  # the documentation build sets argv[0], not __file__
RECORDING = ROOT / "datasets" / "recordings" / "Kirkby2013_02_WT_P5.h5"

recording = load_recording(RECORDING)
print(f"{recording.array_name}: {len(recording.spike_times_s)} electrodes, {recording.duration_s:.0f} s, "
      f"age P{recording.age:g}")

summary = summarize(recording, AnalysisParams(), name="Kirkby2013 WT P5")
for label, value, unit in [("waves", summary.n_waves, ""),
                           ("waves per minute", summary.wave_frequency_per_min, "/min"),
                           ("mean inter-wave interval", summary.mean_iwi_s, "s"),
                           ("mean speed (local)", summary.mean_speed_um_per_s, "um/s"),
                           ("electrodes taking part", summary.participation_fraction, "")]:
    print(f"{label:>26}: {value:.3g} {unit}")

# %%
# :func:`wavesim.analysis.plot_summaries` saves :func:`wavesim.analysis.summary_figure`: the distributions,
# and maps of where waves start and how often each electrode takes part (``wavesim stats FILE --figure
# out.png`` saves the same). The figure is made without pyplot, so it works without a display; here the
# saved image is shown.
figure_path = plot_summaries([summary], Path(tempfile.mkdtemp()) / "kirkby_p5.png")
image = plt.imread(figure_path)
fig, ax = plt.subplots(figsize=(image.shape[1] / 110, image.shape[0] / 110), layout="constrained")
ax.imshow(image)
ax.set_axis_off()
plt.show()
