"""Other tools open a store: xarray as a labelled Dataset without warnings, napari as movies with their scale."""

import json
import shutil
import sys
import warnings

import numpy as np
import pytest

import wavesim
from wavesim.errors import MissingDependencyError, StoreCorruptError
from wavesim.io.store import WaveStore, open_store

COORDINATE_ARRAYS = ("movie", "time", "y", "x")


def _without_coordinates(source, path):
    """A copy of ``source`` as a version-2 store written before the coordinate arrays and consolidated metadata."""
    shutil.copytree(source, path)
    for name in COORDINATE_ARRAYS:
        shutil.rmtree(path / name)
    root = json.loads((path / "zarr.json").read_text())
    root.pop("consolidated_metadata")
    (path / "zarr.json").write_text(json.dumps(root))
    for name in ("movies", "complete", "written_chunks"):
        meta = json.loads((path / name / "zarr.json").read_text())
        meta["attributes"] = {}
        (path / name / "zarr.json").write_text(json.dumps(meta))
    return path


def _check_labels(ds, store):
    assert ds.movies.dims == ("movie", "time", "y", "x")
    assert ds.time.attrs["units"] == "s" and ds.y.attrs["units"] == "um" and ds.x.attrs["units"] == "um"
    assert ds.time.attrs["long_name"] == "time since the end of the warm-up"
    upp = store.um_per_pixel
    np.testing.assert_allclose(ds.time.values, np.arange(store.n_frames) * store.frame_period_s)
    np.testing.assert_allclose(ds.y.values, (np.arange(store.frame_shape[0]) + 0.5) * upp)
    np.testing.assert_allclose(ds.x.values, (np.arange(store.frame_shape[1]) + 0.5) * upp)
    assert ds.movies.attrs["long_name"] == f"{store.readout} readout of the simulated sheet"
    assert ds.attrs["format"] == "wavesim-movies" and ds.attrs["seed"] == store.attrs["seed"]


def test_xarray_open_zarr_gives_a_labelled_dataset_without_warnings(small_store):
    xr = pytest.importorskip("xarray")
    path, _ = small_store
    store = open_store(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = xr.open_zarr(path)
        movie = ds.movies.sel(movie=4).values
    _check_labels(ds, store)
    np.testing.assert_array_equal(ds.movie.values, np.arange(6))
    np.testing.assert_array_equal(movie, store.read_movie(4))
    # Frames are labelled by time: 2.5 s is frame 5.
    np.testing.assert_array_equal(ds.movies.sel(movie=4, time=2.5).values, store.read_movie(4, 5, 6)[0])


def test_open_dataset_keeps_the_complete_movies_with_their_indices(unfinished_store):
    pytest.importorskip("xarray")
    path, _ = unfinished_store
    store = open_store(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = wavesim.open_dataset(path)
    _check_labels(ds, store)
    np.testing.assert_array_equal(ds.movie.values, [0, 2, 3])
    np.testing.assert_array_equal(ds.movies.sel(movie=2).values, store.read_movie(2))
    assert wavesim.open_dataset(path, complete_only=False).sizes["movie"] == 4


def test_stores_without_coordinates_still_read_and_get_them_from_the_provenance(small_store, tmp_path):
    pytest.importorskip("xarray")
    path = _without_coordinates(small_store[0], tmp_path / "old.zarr")
    new = open_store(small_store[0])
    old = open_store(path)
    assert not old.consolidated and new.consolidated
    np.testing.assert_array_equal(old.read_movie(3), new.read_movie(3))
    WaveStore(path, mode="r+")  # --resume and --repair still write into it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = wavesim.open_dataset(path)
    _check_labels(ds, old)
    np.testing.assert_array_equal(ds.movies.sel(movie=3).values, new.read_movie(3))


def test_open_dataset_writes_to_netcdf_and_reads_back_the_same(unfinished_store, tmp_path):
    xr = pytest.importorskip("xarray")
    path, _ = unfinished_store
    store = open_store(path)
    ds = wavesim.open_dataset(path, complete_only=False)
    # One data variable; what is written where is bookkeeping, kept as coordinates.
    assert list(ds.data_vars) == ["movies"]
    assert {"complete", "written_chunks"} <= set(ds.coords)
    np.testing.assert_array_equal(ds.complete.values, [1, 0, 1, 1])
    # y points down, as rows do: row 0 is the top, the smallest y.
    assert ds.y.attrs["positive"] == "down" and ds.y.attrs["axis"] == "Y" and ds.y.values[0] < ds.y.values[-1]
    assert json.loads(ds.attrs["parameters"]) == store.attrs["parameters"]
    assert json.loads(ds.attrs["command_line"]) == store.attrs["command_line"]
    engines = [e for e in ("h5netcdf", "netcdf4") if _importable(e.replace("netcdf4", "netCDF4"))]
    for engine in engines[:1] + ["scipy"]:  # netCDF-4 keeps every dtype; netCDF-3 (scipy) the values
        file = tmp_path / f"waves-{engine}.nc"
        ds.to_netcdf(file, engine=engine)
        with xr.open_dataset(file, engine=engine) as back:
            xr.testing.assert_identical(back.load(), ds.load())
            if engine != "scipy":
                assert {k: back[k].dtype for k in back.variables} == {k: ds[k].dtype for k in ds.variables}
    assert engines, "no netCDF-4 engine: pip install h5netcdf (in the xarray and test extras)"


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def test_open_dataset_names_a_missing_chunk(small_store, tmp_path):
    pytest.importorskip("xarray")
    path = tmp_path / "damaged.zarr"
    shutil.copytree(small_store[0], path)
    (path / "movies/c/2/1/0/0").unlink()
    with pytest.raises(StoreCorruptError, match=r"movie 2, frames 10-19 \(chunk movies/c/2/1/0/0\): the chunk file is missing"):
        wavesim.open_dataset(path)


def test_open_dataset_without_xarray_says_how_to_install_it(small_store, monkeypatch):
    monkeypatch.setitem(sys.modules, "xarray", None)
    with pytest.raises(MissingDependencyError, match=r"needs xarray: pip install 'wavesim\[xarray\]'"):
        wavesim.open_dataset(small_store[0])


def test_napari_layer_data_holds_the_complete_movies_with_their_scale(unfinished_store, tmp_path):
    from wavesim.io.napari import get_reader, read_store

    path, _ = unfinished_store
    store = open_store(path)
    assert get_reader(str(path)) is read_store and get_reader([str(path)]) is read_store
    assert get_reader(str(path / "movies")) is None and get_reader(str(tmp_path)) is None
    [(data, meta, kind)] = read_store(str(path))
    assert kind == "image" and data.shape == (3, store.n_frames, *store.frame_shape)
    assert meta["scale"] == (1.0, 0.5, 50.0, 50.0) and meta["translate"] == (0.0, 0.0, 25.0, 25.0)
    assert meta["units"] == ("dimensionless", "s", "um", "um") and meta["axis_labels"] == ("movie", "time", "y", "x")
    assert meta["metadata"]["movies"] == [0, 2, 3] and meta["contrast_limits"] == (0, 1)
    np.testing.assert_array_equal(np.asarray(data[1]), store.read_movie(2))
    np.testing.assert_array_equal(np.asarray(data[2, 17:23, 3]), store.read_movie(3, 17, 23)[:, 3])
    np.testing.assert_array_equal(data[0:2, 5, 2:4, ::3], np.stack([store.read_movie(m, 5, 6)[0, 2:4, ::3]
                                                                     for m in (0, 2)]))
    assert data[1, 7].shape == store.frame_shape and data[::-1, -1].shape == (3, *store.frame_shape)
    damaged = tmp_path / "damaged.zarr"
    shutil.copytree(path, damaged)
    (damaged / "movies/c/3/2/0/0").unlink()
    [(data, _, _)] = read_store(str(damaged))
    np.asarray(data[2, :20])  # the chunks before the damaged one still show
    with pytest.raises(StoreCorruptError, match=r"movie 3, frames 20-29"):
        np.asarray(data[2, 25])


def test_napari_opens_a_store_through_the_wavesim_plugin(unfinished_store):
    pytest.importorskip("napari")
    import npe2
    from napari.components import ViewerModel

    path, _ = unfinished_store
    store = open_store(path)
    manager = npe2.PluginManager.instance()
    manager.discover()  # the entry point napari.manifest of the installed wavesim
    assert {r.plugin_name for r in manager.iter_compatible_readers([str(path)])} >= {"wavesim", "napari"}
    [layer] = ViewerModel().open(str(path), plugin="wavesim")
    assert layer.data.shape == (3, store.n_frames, *store.frame_shape)
    np.testing.assert_allclose(layer.scale, [1.0, 0.5, 50.0, 50.0])
    assert [str(u) for u in layer.units] == ["dimensionless", "second", "micrometer", "micrometer"]
    assert tuple(layer.axis_labels) == ("movie", "time", "y", "x")
    np.testing.assert_array_equal(np.asarray(layer.data[2, 7]), store.read_movie(3, 7, 8)[0])
    # napari's builtin reader finds the 1-D completion flag first in the group and shows nothing;
    # given the movies array itself it shows the movies, without their scale.
    assert ViewerModel().open(str(path), plugin="napari") == []
    [bare] = ViewerModel().open(str(path / "movies"), plugin="napari")
    assert bare.data.shape == (4, store.n_frames, *store.frame_shape)
