"""Virtual electrode recordings exported to the retinal wave repository's HDF5 layout and to NWB, and read back."""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from wavesim.analysis import grid_virtual_electrodes, summarize
from wavesim.cli import main
from wavesim.errors import MissingDependencyError, ParameterError
from wavesim.io import load_recording, open_store, write_recording
from wavesim.io.recordings import MEARecording, Movie
from wavesim.simulate import movie_seeds

SAMPLE = Path(__file__).parents[2] / "datasets" / "recordings" / "Kirkby2013_02_WT_P5.h5"
try:
    import pynwb  # noqa: F401
    NO_PYNWB = None
except ImportError:
    NO_PYNWB = "pynwb is not installed (pip install 'wavesim[nwb]'): the NWB round trips are not run"


def _assert_same_recording(back: MEARecording, original: MEARecording, positions_rtol=0.0):
    assert back.n_channels == original.n_channels
    for a, b in zip(back.spike_times_s, original.spike_times_s):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(back.positions_um, original.positions_um, rtol=positions_rtol)
    assert back.duration_s == original.duration_s
    assert back.array_name == original.array_name and back.age == original.age


def test_grid_electrodes_sit_on_the_movie_centred_in_pixel_centre_coordinates():
    frames = np.zeros((40, 16, 21), np.uint8)
    frames[10:20, :, 13] = 1  # one active column of pixels, centred at x = 13.5 pixels = 675 um
    recording = grid_virtual_electrodes(Movie(frames, 50.0, 0.5), 3, 5, 150.0, rate_hz=40.0, seed=2)
    x_um = np.unique(recording.positions_um[:, 0])
    np.testing.assert_allclose(x_um, 525.0 + np.array([-300, -150, 0, 150, 300]))  # centred on the 1050 um frame
    np.testing.assert_allclose(np.unique(recording.positions_um[:, 1]), [250.0, 400.0, 550.0])
    firing = np.array([t.size > 0 for t in recording.spike_times_s])
    assert np.array_equal(firing, recording.positions_um[:, 0] == 675.0)  # the electrodes over pixel column 13
    assert recording.array_name == "virtual_3x5_150um" and recording.duration_s == 20.0
    with pytest.raises(ParameterError, match=r"a grid of 3 rows x 8 columns of electrodes 150 um apart spans 1050 um "
                                             r"in x .* more than the movie's pixel centres \(1000 um in x"):
        grid_virtual_electrodes(Movie(frames, 50.0, 0.5), 3, 8, 150.0)


def test_hdf5_round_trip_of_a_real_recording(tmp_path):
    original = load_recording(SAMPLE)
    names = [f"ch{i}" for i in range(original.n_channels)]
    original = dataclasses.replace(original, metadata={**original.metadata, "channel_names": names})
    back = load_recording(write_recording(original, tmp_path / "copy.h5"))
    _assert_same_recording(back, original)
    assert back.metadata["channel_names"] == names
    assert back.metadata["genotype"] == original.metadata["genotype"]
    np.testing.assert_array_equal(back.metadata["summary"]["frate"], original.metadata["summary"]["frate"])
    assert summarize(back).n_waves == summarize(original).n_waves
    with pytest.raises(ParameterError, match=r"copy.txt: a recording file must end in .h5, .hdf5, .nwb, got '.txt'"):
        write_recording(original, tmp_path / "copy.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.h5"]


def test_stats_exports_each_movie_of_a_store_as_load_recording_reads_it(small_store, tmp_path, capsys):
    path, _ = small_store
    pattern = str(tmp_path / "out" / "e-{movie}.h5")
    assert main(["stats", str(path), "--export-electrodes", pattern, "--rows", "3", "--cols", "4",
                 "--pitch-um", "200", "--seed", "5", "--rate-hz", "30"]) == 0
    assert "wrote" in capsys.readouterr().out
    store = open_store(path)
    seeds = movie_seeds(5, range(store.n_movies))
    for movie in range(store.n_movies):
        expected = grid_virtual_electrodes(Movie(store.read_movie(movie), store.um_per_pixel, store.frame_period_s),
                                           3, 4, 200.0, rate_hz=30.0, seed=int(seeds[movie]))
        back = load_recording(tmp_path / "out" / f"e-{movie}.h5")
        _assert_same_recording(back, expected)
        assert back.n_spikes > 0
        assert f'"movie": {movie}' in back.metadata["virtual"] and str(path) in back.metadata["virtual"]


@pytest.mark.skipif(NO_PYNWB is not None, reason=str(NO_PYNWB))
def test_nwb_round_trip_of_a_real_recording(tmp_path, capsys):
    original = load_recording(SAMPLE)
    names = [f"ch{i}" for i in range(original.n_channels)]
    original = dataclasses.replace(original, metadata={**original.metadata, "channel_names": names})
    back = load_recording(write_recording(original, tmp_path / "copy.nwb"))
    # NWB keeps electrode positions as float32 (rel_x, rel_y in um); the sample's are whole um
    _assert_same_recording(back, original)
    assert back.metadata["channel_names"] == names
    assert back.metadata["genotype"] == original.metadata["genotype"]
    assert back.metadata["summary"]["frate"] == pytest.approx(list(original.metadata["summary"]["frate"]))
    assert main(["stats", str(SAMPLE), "--export-electrodes", str(tmp_path / "cli.nwb")]) == 0
    capsys.readouterr()
    assert main(["compare", str(SAMPLE), str(tmp_path / "cli.nwb")]) == 0
    rows = {line.split()[0]: line.split()[-2:] for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows["waves"][0] == rows["waves"][1]  # the NWB copy gives the same statistics


@pytest.mark.skipif(NO_PYNWB is not None, reason=str(NO_PYNWB))
def test_nwb_round_trip_of_virtual_electrodes(tmp_path):
    frames = (np.random.default_rng(0).random((60, 16, 20)) > 0.7).astype(np.uint8)
    recording = grid_virtual_electrodes(Movie(frames, 50.0, 0.5), 3, 3, 137.3, seed=1)
    back = load_recording(write_recording(recording, tmp_path / "v.nwb"))
    _assert_same_recording(back, recording, positions_rtol=1e-7)  # float32 positions
    assert back.metadata["virtual"]["rate_hz"] == 20.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.nwb"]


def test_nwb_without_pynwb_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pynwb", None)
    with pytest.raises(MissingDependencyError, match=r"needs pynwb: pip install 'wavesim\[nwb\]'"):
        write_recording(load_recording(SAMPLE), tmp_path / "x.nwb")
    assert main(["stats", str(SAMPLE), "--export-electrodes", str(tmp_path / "x.nwb")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs pynwb" in err[0]
    assert list(tmp_path.iterdir()) == []


def _inspect(path):
    """nwbinspector's messages above a best-practice suggestion, as (importance, check, message)."""
    from nwbinspector import Importance, inspect_nwbfile

    return [(m.importance.name, m.check_function_name, m.message) for m in inspect_nwbfile(nwbfile_path=str(path))
            if m.importance.value > Importance.BEST_PRACTICE_SUGGESTION.value]


NO_INSPECTOR = None
try:
    import nwbinspector  # noqa: F401
except ImportError:
    NO_INSPECTOR = "nwbinspector is not installed (it is in the test extra): the NWB best-practice checks are not run"


@pytest.mark.skipif(NO_PYNWB or NO_INSPECTOR, reason=str(NO_PYNWB or NO_INSPECTOR))
def test_nwbinspector_finds_nothing_above_a_suggestion_in_a_converted_recording(tmp_path):
    import pynwb

    assert main(["stats", str(SAMPLE), "--export-electrodes", str(tmp_path / "k.nwb"), "-q"]) == 0
    assert _inspect(tmp_path / "k.nwb") == []
    with pynwb.NWBHDF5IO(str(tmp_path / "k.nwb"), "r") as io:
        nwb = io.read()
        subject = nwb.subject
        assert (subject.subject_id, subject.species, subject.sex, subject.age) == (
            "Kirkby2013_02_WT_P5", "Mus musculus", "U", "P5D")
        assert nwb.units.resolution == 1e-4  # its spike times are stored in steps of 0.1 ms
        assert nwb.session_start_time.year == 1970  # the file gives no date: never the export time


@pytest.mark.skipif(NO_PYNWB or NO_INSPECTOR, reason=str(NO_PYNWB or NO_INSPECTOR))
def test_a_virtual_recording_of_a_store_carries_its_provenance_and_passes_nwbinspector(tmp_path):
    import pynwb

    import wavesim as ws
    from conftest import _small_store

    store_path, _ = _small_store(tmp_path / "mouse.zarr", 1)
    store = open_store(store_path)
    # The mouse preset's parameters on the same small retina, so that the subject's species is known.
    mouse = tmp_path / "mouse-preset.zarr"
    assert main(["generate", str(mouse), "--preset", "mouse", "--width-um", "500", "--height-um", "400",
                 "--warmup-s", "2", "--duration-s", "4", "--movies", "1", "--seed", "7", "-q"]) == 0
    assert main(["stats", str(mouse), "--export-electrodes", str(tmp_path / "m-{movie}.nwb"), "--rows", "3",
                 "--cols", "3", "--pitch-um", "100", "-q"]) == 0
    assert _inspect(tmp_path / "m-0.nwb") == []
    with pynwb.NWBHDF5IO(str(tmp_path / "m-0.nwb"), "r") as io:
        nwb = io.read()
        assert nwb.subject.species == "Mus musculus" and nwb.subject.subject_id == "mouse-preset.zarr-movie0"
        assert "simulated by wavesim" in nwb.subject.description
        for text in ("model amacrine", "P_s = 32 s", "dataset seed 7", f"wavesim {ws.__version__}",
                     "wavesim generate"):
            assert text in nwb.data_collection, text
        assert nwb.session_start_time == open_store(mouse).attrs["created_utc"] or \
            nwb.session_start_time.isoformat() == open_store(mouse).attrs["created_utc"]
    back = load_recording(tmp_path / "m-0.nwb")
    assert back.metadata["simulation"]["seed"] == 7 and back.metadata["simulation"]["preset"] == "mouse"
    # Parameters of no preset: the simulated retina has no species, and nwbinspector says only that.
    assert main(["stats", str(store_path), "--export-electrodes", str(tmp_path / "f-{movie}.nwb"), "-q"]) == 0
    assert [check for _, check, _ in _inspect(tmp_path / "f-0.nwb")] == ["check_subject_species_exists"]
    assert store.attrs["parameters"]["P_s"]["value"] == 3.0
