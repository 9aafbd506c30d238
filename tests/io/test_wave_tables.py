"""Per-movie wave tables written into a store by ``wavesim stats --write``: content, atomic replacement, damage."""

import json
import shutil

import numpy as np
import pytest

from wavesim.analysis import AnalysisParams, detect_movie_waves, write_store_wave_tables
from wavesim.cli import main
from wavesim.errors import MovieIndexError, StoreCorruptError, StoreError
from wavesim.io import wave_tables
from wavesim.io.recordings import Movie
from wavesim.io.store import WaveStore, open_store
from wavesim.io.verify import verify_store
from wavesim.io.wave_tables import WAVE_COLUMNS


def _copy(source, tmp_path, name="s.zarr"):
    path = tmp_path / name
    shutil.copytree(source, path)
    return path


def _movie_files(path):
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted((path / "movies").rglob("*")) if f.is_file()}


def test_stats_write_puts_the_analysis_of_each_movie_into_the_store(small_store, tmp_path, capsys):
    path = _copy(small_store[0], tmp_path)
    movies_before = _movie_files(path)
    assert main(["stats", str(path), "--write", "--min-size-fraction", "0.1"]) == 0
    assert "wrote the wave tables of 6 movie(s)" in capsys.readouterr().out
    store = open_store(path)
    params = AnalysisParams(min_size_fraction=0.1)
    assert store.wave_tables_attrs["analysis"]["min_size_fraction"] == {"value": 0.1, "unit": "1"}
    half_pixel_um = store.um_per_pixel / 2
    total = 0
    for movie in range(store.n_movies):
        table = store.wave_table(movie)
        waves = detect_movie_waves(Movie(store.read_movie(movie), store.um_per_pixel, store.frame_period_s), params)
        assert set(table) == set(WAVE_COLUMNS) and all(v.dtype == np.float64 for v in table.values())
        np.testing.assert_array_equal(table["onset_s"], waves.onset_s)
        np.testing.assert_array_equal(table["duration_s"], waves.duration_s)
        np.testing.assert_array_equal(table["size_fraction"], waves.size_fraction)
        np.testing.assert_array_equal(table["area_um2"], waves.area_um2)
        np.testing.assert_array_equal(table["speed_um_per_s"], waves.speed_um_per_s)
        np.testing.assert_array_equal(table["direction_rad"], waves.direction_rad)
        # positions on the store's pixel centres, half a pixel from the analysis' pixel corners
        np.testing.assert_allclose(np.column_stack([table["centroid_x_um"], table["centroid_y_um"]]),
                                   waves.centroid_um + half_pixel_um)
        np.testing.assert_allclose(np.column_stack([table["initiation_x_um"], table["initiation_y_um"]]),
                                   waves.initiation_um + half_pixel_um)
        total += len(waves)
    assert total > 0 and store.wave_counts().sum() == total
    assert _movie_files(path) == movies_before
    assert verify_store(path).ok
    assert main(["verify", str(path)]) == 0
    assert main(["info", str(path)]) == 0
    assert f"wave tables      {total} waves in 6/6 movies" in capsys.readouterr().out


def test_tables_carry_units_checksums_and_open_in_xarray(small_store, tmp_path):
    xr = pytest.importorskip("xarray")
    path = _copy(small_store[0], tmp_path)
    write_store_wave_tables(path, progress=False)
    for name, (units, _) in WAVE_COLUMNS.items():
        meta = json.loads((path / "waves" / name / "zarr.json").read_text())
        assert meta["attributes"]["units"] == units
        assert any(c["name"] == "crc32c" for c in meta["codecs"])
    tables = xr.open_zarr(path, group="waves")
    assert tables.onset_s.dims == ("wave",) and tables.n_waves.dims == ("movie",)
    assert tables.speed_um_per_s.attrs["units"] == "um/s"
    np.testing.assert_array_equal(tables.onset_s.values[tables.movie_index.values == 2],
                                  open_store(path).wave_table(2)["onset_s"])
    # the root's consolidated metadata lists the new group, and the labelled movies open as before
    root = json.loads((path / "zarr.json").read_text())
    assert "waves/onset_s" in root["consolidated_metadata"]["metadata"]
    assert xr.open_zarr(path).movies.dims == ("movie", "time", "y", "x")


def test_rewriting_replaces_the_tables_whole(small_store, tmp_path):
    path = _copy(small_store[0], tmp_path)
    write_store_wave_tables(path, AnalysisParams(speed_method="front"), progress=False)
    write_store_wave_tables(path, AnalysisParams(speed_method="local"), progress=False)
    store = open_store(path)
    assert store.wave_tables_attrs["analysis"]["speed_method"]["value"] == "local"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]  # no folders left beside the store


def test_an_interrupted_rewrite_leaves_the_old_tables_or_none(small_store, tmp_path, monkeypatch):
    path = _copy(small_store[0], tmp_path)
    write_store_wave_tables(path, progress=False)
    before = {m: open_store(path).wave_table(m) for m in range(6)}
    calls = []

    def dies_midway(group, name, *args, **kwargs):
        calls.append(name)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return add(group, name, *args, **kwargs)

    add = wave_tables._add_array
    monkeypatch.setattr(wave_tables, "_add_array", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        write_store_wave_tables(path, AnalysisParams(min_size_fraction=0.5), progress=False)
    monkeypatch.undo()
    store = open_store(path)
    for m, table in before.items():
        after = store.wave_table(m)
        assert all(np.array_equal(after[k], table[k], equal_nan=True) for k in table)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]
    assert verify_store(path).ok

    # killed between taking the old tables away and putting the new ones in: no tables, never half of one
    renames = []

    def second_rename_dies(source, target):
        renames.append(target)
        if len(renames) == 2:
            raise KeyboardInterrupt
        return rename(source, target)

    rename = wave_tables.os.rename
    monkeypatch.setattr(wave_tables.os, "rename", second_rename_dies)
    with pytest.raises(KeyboardInterrupt):
        write_store_wave_tables(path, progress=False)
    monkeypatch.undo()
    with pytest.raises(StoreError, match=r"has no wave tables; write them with 'wavesim stats .* --write'"):
        open_store(path).wave_table(0)
    write_store_wave_tables(path, progress=False)  # a rerun puts them back
    assert open_store(path).wave_counts().sum() == sum(len(t["onset_s"]) for t in before.values())


def test_a_damaged_table_is_reported_by_the_reader_and_verify(small_store, tmp_path, capsys):
    path = _copy(small_store[0], tmp_path)
    write_store_wave_tables(path, progress=False)
    chunk = path / "waves" / "speed_um_per_s" / "c" / "0"
    data = bytearray(chunk.read_bytes())
    data[3] ^= 0x20
    chunk.write_bytes(bytes(data))
    with pytest.raises(StoreCorruptError, match=r"the wave tables \(array 'speed_um_per_s'\) are damaged"):
        open_store(path).wave_table(0)
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "array 'speed_um_per_s'" in out and "The wave tables are damaged." in out
    chunk.unlink()  # a lost chunk is damage too, not a table of fill values
    with pytest.raises(StoreCorruptError, match=r"chunk waves/speed_um_per_s/c/0 is missing"):
        open_store(path).wave_table(0)
    assert not verify_store(path).ok


def test_movies_without_a_table(unfinished_store, tmp_path):
    path = _copy(unfinished_store[0], tmp_path)
    with pytest.raises(StoreError, match="has no wave tables"):
        open_store(path).wave_counts()
    with pytest.raises(StoreError, match="opened read-only; open it with mode='r\\+'"):
        open_store(path).write_wave_tables({}, {})
    write_store_wave_tables(path, progress=False)
    store = open_store(path)
    assert store.wave_counts()[1] == -1 and (np.delete(store.wave_counts(), 1) >= 0).all()
    with pytest.raises(StoreError, match="movie 1 of .* is not completely written, so it has no wave table"):
        store.wave_table(1)
    with pytest.raises(MovieIndexError, match="movie 4 is outside"):
        store.wave_table(4)
    with pytest.raises(StoreError, match=r"movies \[1\] of .* are not complete"):
        WaveStore(path, mode="r+").write_wave_tables({1: {}}, {})
