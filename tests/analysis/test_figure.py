"""The summary figure of ``wavesim stats --figure``, as a scientist would publish it."""

from pathlib import Path

import numpy as np
import pytest

import wavesim
from wavesim.analysis import summarize, summary_figure
from wavesim.io import load_recording
from wavesim.io.recordings import Movie

SAMPLE = Path(__file__).parents[2] / "datasets" / "recordings" / "Kirkby2013_02_WT_P5.h5"


@pytest.fixture(scope="module")
def recording_summary():
    return summarize(load_recording(SAMPLE))


def _panels(figure):
    return {ax.get_title(): ax for ax in figure.get_axes() if ax.get_title()}


def _texts(figure):
    from matplotlib.text import Text

    return [t.get_text() for t in figure.findobj(Text) if t.get_text()]


def test_the_figure_has_a_title_provenance_and_no_empty_panel(recording_summary, tmp_path):
    empty = summarize(Movie(np.zeros((20, 8, 8), np.uint8), 50.0, 0.5), name="dark")
    figure = summary_figure([recording_summary, empty])
    texts = _texts(figure)
    assert figure.get_suptitle() == "Retinal wave statistics: Kirkby2013_02_WT_P5 vs dark"
    assert any(f"Made with wavesim {wavesim.__version__}" in t and "at least 0.05 of the sites" in t
               for t in texts)
    for ax in figure.get_axes():
        if ax.get_label() == "<colorbar>":
            continue
        shown = ax.lines or ax.patches or ax.collections or ax.images or ax.tables
        said = any(t.get_text() in ("no waves detected", "no spikes to correlate") for t in ax.texts)
        assert shown or said, f"empty panel {ax.get_title()!r}"
    # Inputs are named once, in the figure's legend, not over the data.
    assert not [ax.get_title() for ax in figure.get_axes() if ax.get_legend() is not None]
    (legend,) = [legend for sub in figure.subfigs for legend in sub.legends]
    assert [t.get_text() for t in legend.get_texts()] == [
        "Kirkby2013_02_WT_P5 (MEA recording)", "dark (movie)"]


def test_intervals_per_wave_and_per_electrode_are_apart_and_labelled(recording_summary):
    s = recording_summary
    assert s.wave_interval_s.size == s.n_waves - 1 and (s.wave_interval_s >= 0).all()
    np.testing.assert_allclose(s.wave_interval_s, np.diff(np.sort(s.wave_onset_s)))
    assert s.iwi_s.size > 5 * s.n_waves  # one per electrode and wave: another distribution
    panels = _panels(summary_figure([s]))
    per_wave = panels[f"Interval between waves (n = {s.n_waves - 1})"]
    per_electrode = panels[f"Interval at each electrode (n = {s.iwi_s.size})"]
    assert per_wave.get_xlabel() == "time between consecutive wave onsets (s)"
    assert per_electrode.get_xlabel() == "time between an electrode's consecutive waves (s)"


def test_axes_are_readable_in_micrometres_with_several_log_tick_labels(recording_summary):
    figure = summary_figure([recording_summary])
    figure.canvas.draw()  # tick labels are made when drawn
    labels = [label for ax in figure.get_axes() for label in (ax.get_xlabel(), ax.get_ylabel()) if label]
    assert not [label for label in labels if "um" in label.replace("umn", "")]
    assert "speed (µm/s)" in labels and "electrode distance (µm)" in labels
    for ax in figure.get_axes():
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log":
                shown = [t.get_text() for t in axis.get_ticklabels() if t.get_text()
                         and axis.get_view_interval().min() <= t.get_position()[axis is ax.yaxis]
                         <= axis.get_view_interval().max()]
                assert len(shown) >= 3, (ax.get_title(), shown)
                assert all("$" not in text for text in shown)  # plain numbers, not 10^k


def test_stats_figure_from_the_command_line(tmp_path):
    from wavesim.cli import main

    assert main(["stats", str(SAMPLE), "--figure", str(tmp_path / "s.png"), "-q"]) == 0
    assert (tmp_path / "s.png").stat().st_size > 50_000
