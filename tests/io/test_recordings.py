"""Tests of wavesim.io.recordings: MEA HDF5 files and movies."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from wavesim.errors import ParameterError, RecordingFormatError, RecordingNotFoundError
from wavesim.io.recordings import MEARecording, Movie, load_movie, load_recording, median_pitch_um

SAMPLES = Path(__file__).parents[2] / "datasets" / "recordings"
WT = SAMPLES / "Kirkby2013_02_WT_P5.h5"
B2KO = SAMPLES / "Kirkby2013_02_B2KO_P5.h5"
SHARED = Path(__file__).parents[2].parent / "shared" / "recordings"


def _write(path: Path, **fields) -> Path:
    """Write an HDF5 file with the given fields (``meta/age`` style names allowed)."""
    with h5py.File(path, "w") as h5:
        for name, value in fields.items():
            h5[name.replace("__", "/")] = value
    return path


def _fields(n_channels: int = 3, spikes_per_channel: int = 4) -> dict:
    rng = np.random.default_rng(0)
    spikes = np.concatenate([np.sort(rng.uniform(0, 100, spikes_per_channel)) for _ in range(n_channels)])
    return {
        "spikes": spikes,
        "sCount": np.full(n_channels, spikes_per_channel, dtype=np.int32),
        "epos": np.array([np.arange(n_channels) * 100.0, np.zeros(n_channels)]),
        "array": np.array([b"MCS_8x8_100um"]),
    }


def test_sample_recordings_load():
    wt = load_recording(WT)
    assert wt.n_channels == 44
    assert wt.positions_um.shape == (44, 2)
    assert wt.array_name == "MCS_8x8_100um"
    assert wt.age == 5.0
    assert wt.duration_s == 989.0
    assert wt.metadata["genotype"] == "wt"
    assert wt.metadata["key"] == "Kirkby2013"
    assert wt.n_spikes == wt.metadata["summary"]["totalspikes"]
    assert wt.pitch_um == pytest.approx(100.0)
    assert all(np.all(np.diff(t) >= 0) for t in wt.spike_times_s)
    assert load_recording(B2KO).metadata["genotype"] == "Beta2 KO"


def test_spikes_are_split_per_channel_by_scount(tmp_path):
    path = _write(tmp_path / "r.h5", spikes=[1.0, 2.0, 3.0, 0.5, 9.0], sCount=[3, 0, 2],
                  epos=[[0.0, 100.0, 200.0], [0.0, 0.0, 0.0]], array="MCS_8x8_100um")
    rec = load_recording(path)
    assert [t.tolist() for t in rec.spike_times_s] == [[1.0, 2.0, 3.0], [], [0.5, 9.0]]
    assert rec.positions_um.tolist() == [[0, 0], [100, 0], [200, 0]]
    assert rec.duration_s == 8.5  # no summary/duration: span of the spikes
    assert rec.age is None
    with pytest.raises(ValueError):
        rec.spike_times_s[0][0] = 5.0  # read-only


@pytest.mark.parametrize("age", [np.int32(6), np.float64(6.0), np.array([6]), np.array([6.0]), b"6", "P6"])
def test_scalar_or_one_element_fields_bytes_or_str(tmp_path, age):
    fields = _fields()
    path = _write(tmp_path / "r.h5", **fields, meta__age=age, meta__genotype="wt",
                  meta__key=np.array([b"Test2024"]), summary__duration=np.array([120.0]))
    rec = load_recording(path)
    assert rec.age == 6.0
    assert rec.metadata["genotype"] == "wt"
    assert rec.metadata["key"] == "Test2024"
    assert rec.duration_s == 120.0
    assert rec.array_name == "MCS_8x8_100um"


def test_hexagonal_array_of_any_pitch(tmp_path):
    row, col = np.divmod(np.arange(512), 32)
    x = col * 60.0 + 30.0 * (row % 2)
    y = row * 60.0 * np.sqrt(3) / 2
    path = _write(tmp_path / "hex.h5", spikes=np.arange(512, dtype=float), sCount=np.ones(512, np.int32),
                  epos=np.array([x, y]), array="litke_hex_60um", summary__duration=600.0)
    rec = load_recording(path)
    assert rec.array_name == "litke_hex_60um"
    assert rec.n_channels == 512
    assert rec.pitch_um == pytest.approx(60.0)


def test_pitch_ignores_units_sharing_an_electrode():
    positions_um = np.array([[0, 0], [0, 0], [100, 0], [200, 0], [200, 0]], dtype=float)
    assert median_pitch_um(positions_um) == pytest.approx(100.0)


def test_missing_file():
    with pytest.raises(RecordingNotFoundError, match="no_such.h5"):
        load_recording("no_such.h5")
    with pytest.raises(FileNotFoundError):
        load_recording("no_such.h5")


def test_truncated_file(tmp_path):
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(WT.read_bytes()[: WT.stat().st_size // 2])
    with pytest.raises(RecordingFormatError, match=r"truncated\.h5.*(not a readable HDF5|cannot be read)"):
        load_recording(truncated)


def test_not_hdf5(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("not an HDF5 file")
    with pytest.raises(RecordingFormatError, match=r"notes\.h5: not a readable HDF5 file"):
        load_recording(text)


def test_foreign_hdf5(tmp_path):
    foreign = _write(tmp_path / "foreign.h5", data=np.zeros((10, 10)))
    with pytest.raises(RecordingFormatError, match=r"foreign\.h5: field 'spikes' is missing"):
        load_recording(foreign)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sCount": None}, "sCount"),
        ({"epos": None}, "epos"),
        ({"array": None}, "array"),
        ({"sCount": np.array([4, 4, 5], np.int32)}, "sCount"),
        ({"sCount": np.array([4, -4, 12], np.int32)}, "sCount"),
        ({"epos": np.zeros((3, 3))}, "epos"),
        ({"spikes": np.array(["a"] * 12, dtype="S1")}, "spikes"),
        ({"meta__age": "old"}, "meta/age"),
        ({"summary__duration": np.array([1.0, 2.0])}, "summary/duration"),
        ({"summary__duration": -5.0}, "summary/duration"),
    ],
)
def test_malformed_field_is_named(tmp_path, change, field):
    fields = {**_fields(), **change}
    path = _write(tmp_path / "bad.h5", **{k: v for k, v in fields.items() if v is not None})
    with pytest.raises(RecordingFormatError, match=rf"bad\.h5: field '{field}'"):
        load_recording(path)


def test_every_shared_recording_loads():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent")
    files = sorted(SHARED.glob("*.h5"))
    assert files
    for path in files:
        rec = load_recording(path)
        assert rec.n_channels > 0 and rec.n_spikes > 0 and rec.duration_s > 0, path
        assert rec.positions_um.shape == (rec.n_channels, 2), path


def test_recording_validates_its_arguments():
    with pytest.raises(ParameterError, match="positions_um"):
        MEARecording([np.zeros(1)], np.zeros((2, 2)), "x", None, 10.0)
    with pytest.raises(ParameterError, match="duration_s"):
        MEARecording([np.zeros(1)], np.zeros((1, 2)), "x", None, 0.0)


def test_load_movie_from_array_npy_and_zarr(tmp_path):
    import zarr

    frames = (np.random.default_rng(1).random((5, 4, 3)) > 0.5).astype(np.uint8)
    movie = load_movie(frames, um_per_pixel=50, frame_period_s=0.5)
    assert isinstance(movie, Movie) and movie.frames.shape == (5, 4, 3)
    assert movie.um_per_pixel == 50.0 and movie.duration_s == 2.5

    np.save(tmp_path / "m.npy", frames)
    assert np.array_equal(load_movie(tmp_path / "m.npy", 50, 0.5).frames, frames)

    array = zarr.create_array(str(tmp_path / "m.zarr"), shape=frames.shape, dtype=frames.dtype)
    array[...] = frames
    assert np.array_equal(load_movie(tmp_path / "m.zarr", 50, 0.5).frames, frames)

    zarr.create_group(str(tmp_path / "g.zarr"))
    with pytest.raises(RecordingFormatError, match="zarr group"):
        load_movie(tmp_path / "g.zarr", 50, 0.5)


def test_load_movie_tiff(tmp_path):
    frames = np.zeros((3, 4, 5), np.uint8)
    try:
        import tifffile
    except ImportError:
        (tmp_path / "m.tif").write_bytes(b"")
        with pytest.raises(ImportError, match="tifffile"):
            load_movie(tmp_path / "m.tif", 50, 0.5)
        return
    tifffile.imwrite(tmp_path / "m.tif", frames)
    assert load_movie(tmp_path / "m.tif", 50, 0.5).frames.shape == (3, 4, 5)


def test_load_movie_errors(tmp_path):
    with pytest.raises(RecordingNotFoundError, match="missing.npy"):
        load_movie(tmp_path / "missing.npy", 50, 0.5)
    (tmp_path / "m.avi").write_bytes(b"x")
    with pytest.raises(RecordingFormatError, match=r"unknown movie format '\.avi'"):
        load_movie(tmp_path / "m.avi", 50, 0.5)
    np.save(tmp_path / "flat.npy", np.zeros((4, 4)))
    with pytest.raises(RecordingFormatError, match=r"flat\.npy: movie must have shape \(T, H, W\)"):
        load_movie(tmp_path / "flat.npy", 50, 0.5)
    with pytest.raises(ParameterError, match=r"shape \(T, H, W\)"):
        load_movie(np.zeros((4, 4)), 50, 0.5)
    with pytest.raises(ParameterError, match="um_per_pixel must be a finite number > 0, got 0"):
        load_movie(np.zeros((2, 4, 4)), 0, 0.5)
    with pytest.raises(ParameterError, match="frame_period_s"):
        load_movie(np.zeros((2, 4, 4)), 50, float("nan"))


def test_sample_copy_is_identical_to_shared():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent")
    for sample in (WT, B2KO):
        assert sample.read_bytes() == (SHARED / sample.name).read_bytes()


def test_copied_file_with_another_name_loads(tmp_path):
    copy = tmp_path / "renamed.h5"
    shutil.copy(WT, copy)
    assert load_recording(copy).name == "renamed"
