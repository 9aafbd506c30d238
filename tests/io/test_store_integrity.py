"""Damaged stores: every reader names the damage, verify lists it, --repair restores the bytes."""

import json
import shutil

import numpy as np
import pytest

from conftest import _small_store
from wavesim.cli import main
from wavesim.errors import StoreCorruptError, StoreError
from wavesim.generate import generate_store
from wavesim.io.store import WaveStore, open_store
from wavesim.io.verify import verify_store

# Movie 1's third chunk: frames 20-29 of 40 frames in chunks of 10.
CHUNK = "movies/c/1/2/0/0"
WHERE = r"movie 1, frames 20-29 \(chunk movies/c/1/2/0/0\)"


def _delete(f):
    f.unlink()


def _truncate(f):
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _zero(f):
    f.write_bytes(bytes(f.stat().st_size))


def _bit_flip(f):
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x10
    f.write_bytes(bytes(data))


DAMAGE = {"delete": _delete, "truncate": _truncate, "zero": _zero, "bit-flip": _bit_flip}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """(path, spec) of a complete 3-movie store of 4 chunks per movie, never damaged."""
    return _small_store(tmp_path_factory.mktemp("pristine") / "s.zarr", 3)


@pytest.fixture(params=sorted(DAMAGE))
def damaged(request, pristine, tmp_path):
    """(path, spec, kind) of a copy of the pristine store with movie 1's chunk 2 damaged."""
    path = tmp_path / "damaged.zarr"
    shutil.copytree(pristine[0], path)
    DAMAGE[request.param](path / CHUNK)
    return path, pristine[1], request.param


def _files(path, under="movies"):
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted((path / under).rglob("*")) if f.is_file()}


def _one_line_error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_every_chunk_is_a_checksummed_file(pristine):
    path, _ = pristine
    store = open_store(path)
    assert store.attrs["format_version"] == 2 and store.checksummed
    assert [c.to_dict()["name"] for c in store.movies.metadata.codecs] == ["bytes", "blosc", "crc32c"]
    # Every chunk is stored, quiet ones too, so that a missing file is damage.
    assert len([k for k in _files(path) if "/c/" in k]) == 3 * 4
    assert np.asarray(store._root["written_chunks"][:]).tolist() == [[1] * 4] * 3
    assert verify_store(path).ok and verify_store(path).checked == (0, 1, 2)


def test_read_movie_names_the_damaged_chunk(damaged, pristine):
    path, _, _ = damaged
    store = open_store(path)
    with pytest.raises(StoreCorruptError, match=rf"{path}: {WHERE}: .*wavesim verify"):
        store.read_movie(1)
    with pytest.raises(StoreCorruptError, match=WHERE):
        store.read_movie(1, 25, 27)
    # The rest of the store still reads, and reads right.
    good = open_store(pristine[0])
    assert np.array_equal(store.read_movie(1, 0, 20), good.read_movie(1, 0, 20))
    assert np.array_equal(store.read_movie(2), good.read_movie(2))


def test_info_stats_and_render_fail_in_one_line_naming_the_movie(damaged, tmp_path, capsys):
    path, _, _ = damaged
    err = _one_line_error(capsys, ["info", str(path)])
    assert err.startswith("wavesim info: error: ") and "movie 1, frames 20-29" in err
    err = _one_line_error(capsys, ["stats", str(path)])
    assert err.startswith("wavesim stats: error: ") and "movie 1, frames 20-29" in err
    gif = tmp_path / "m.gif"
    err = _one_line_error(capsys, ["render", str(path), "--movie", "1", "--out", str(gif)])
    assert err.startswith("wavesim render: error: ") and "movie 1, frames 20-29" in err
    assert not gif.exists()


def test_wave_clips_raise_instead_of_yielding_zeros(damaged):
    pytest.importorskip("torch")
    from wavesim.data import WaveClips

    path, _, _ = damaged
    with pytest.raises(StoreCorruptError, match=WHERE):
        list(WaveClips(path, clip_frames=5, batch_size=4, shuffle=False))


def test_read_frames_checks_only_the_chunks_it_reads(damaged, pristine):
    path, _, _ = damaged
    store, good = open_store(path), open_store(pristine[0])
    assert np.array_equal(store.read_frames(1, [0, 5, 19, 30]), good.read_movie(1)[[0, 5, 19, 30]])
    with pytest.raises(StoreCorruptError, match=WHERE):
        store.read_frames(1, [5, 21])
    with pytest.raises(StoreError, match="sorted, unique"):
        store.read_frames(1, [5, 5])


def test_wave_pairs_raise_instead_of_yielding_zeros(pristine, tmp_path):
    pytest.importorskip("torch")
    from wavesim.data import WavePairs

    path = tmp_path / "s.zarr"
    shutil.copytree(pristine[0], path)
    pairs = WavePairs(path, batch_size=2, seed=0)  # its wave labels read every movie while the store is whole
    for f in (path / "movies" / "c").rglob("*"):
        if f.is_file():
            _zero(f)
    with pytest.raises(StoreCorruptError, match=r"movie \d+, frames"):
        list(pairs)


def test_verify_lists_the_damaged_movie(damaged, capsys):
    path, _, kind = damaged
    report = verify_store(path)
    assert not report.ok and report.damaged_movies == [1] and report.checked == (0, 1, 2)
    assert [(d.movie, d.first_frame, d.stop_frame, d.key) for d in report.damage] == [(1, 20, 30, CHUNK)]
    problem = report.damage[0].problem
    if kind == "delete":
        assert problem == "the chunk file is missing"
    else:
        assert problem.startswith("unreadable (Stored and computed checksum do not match")
    assert main(["verify", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("movie 1: 1 damaged chunk(s); first: movie 1, frames 20-29")
    assert lines[1].endswith("3 complete of 3 movies; 1 damaged. Regenerate movies [1]: rerun the store's "
                             "generate command with --resume --repair.")


def test_repair_restores_the_original_bytes(damaged, pristine):
    path, spec, _ = damaged
    before = _files(path, "complete")
    generate_store(path, spec, progress=False, resume=True, repair=True)
    assert _files(path) == _files(pristine[0])
    assert _files(path, "written_chunks") == _files(pristine[0], "written_chunks")
    assert _files(path, "complete") == before
    assert verify_store(path).ok


def test_resume_without_repair_refuses_a_store_with_missing_chunks(pristine, tmp_path):
    path = tmp_path / "s.zarr"
    shutil.copytree(pristine[0], path)
    (path / CHUNK).unlink()
    with pytest.raises(StoreCorruptError, match=r"complete movies \[1\] have missing chunks; pass --repair"):
        generate_store(path, pristine[1], progress=False, resume=True)
    assert not (path / CHUNK).exists()


def test_repair_only_regenerates_the_damaged_movies(damaged, monkeypatch):
    path, spec, _ = damaged
    written = []
    original = WaveStore.write_frames
    monkeypatch.setattr(WaveStore, "write_frames", lambda self, m, *a: written.append(m) or original(self, m, *a))
    generate_store(path, spec, progress=False, resume=True, repair=True)
    assert set(written) == {1}


def test_clean_store_verifies_and_repair_needs_resume(pristine, capsys):
    path, spec = pristine
    assert main(["verify", str(path)]) == 0
    assert capsys.readouterr().out.strip().endswith("checked 3 complete of 3 movies; 0 damaged.")
    with pytest.raises(StoreError, match="pass --resume with --repair"):
        generate_store(path, spec, progress=False, repair=True)
    err = _one_line_error(capsys, ["verify", str(path.parent / "nothing.zarr")])
    assert "No wavesim store at" in err


def test_a_lost_manifest_or_damaged_flags_are_reported(pristine, tmp_path):
    path = tmp_path / "s.zarr"
    shutil.copytree(pristine[0], path)
    (path / "written_chunks" / "c" / "1" / "0").unlink()
    with pytest.raises(StoreCorruptError, match=r"movie 1, frames 0-9 .*not listed in the manifest"):
        open_store(path).read_movie(1)
    assert verify_store(path).damaged_movies == [1]
    _bit_flip(path / "complete" / "c" / "2")
    with pytest.raises(StoreCorruptError, match=r"completion flags \(array 'complete'\) are damaged"):
        open_store(path).complete_movies()


def test_format_version_1_stores_are_read_but_not_written(pristine, tmp_path):
    import zarr
    from zarr.codecs import BloscCodec

    path = tmp_path / "v1.zarr"
    good = open_store(pristine[0])
    root = zarr.open_group(str(path), mode="w-", zarr_format=3)
    root.attrs.update({**good.attrs, "format_version": 1})
    movies = root.create_array("movies", shape=good.movies.shape, chunks=good.movies.chunks, dtype="uint8",
                               fill_value=0, compressors=BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle"),
                               dimension_names=("movie", "time", "y", "x"))
    movies[:] = good.movies[:]
    root.create_array("complete", shape=(3,), chunks=(1,), dtype="uint8", fill_value=0)[:] = 1
    old = open_store(path)
    assert not old.checksummed and np.array_equal(old.read_movie(1), good.read_movie(1))
    report = verify_store(path)
    assert report.ok and report.format_version == 1
    with pytest.raises(StoreError, match="format version 1, which this wavesim reads but does not write"):
        WaveStore(path, mode="r+")
    # Without checksums a damaged chunk is still named, once blosc fails on it.
    _truncate(path / CHUNK)
    with pytest.raises(StoreCorruptError, match=WHERE):
        open_store(path).read_movie(1)
    assert json.loads((path / "zarr.json").read_text())["attributes"]["format_version"] == 1


def test_generate_resume_repair_on_the_command_line(tmp_path, capsys):
    params = tmp_path / "fast.toml"
    params.write_text("[parameters]\nP_s = 3.0\nspont_rate_hz = 0.02\n")
    args = ["--movies", "2", "--duration-s", "4", "--warmup-s", "3", "--width-um", "400", "--um-per-pixel", "25",
            "--frame-period-s", "0.2", "--params", str(params), "--backend", "cpu", "--no-progress"]
    path = tmp_path / "s.zarr"
    assert main(["generate", str(path), *args]) == 0
    original = _files(path)
    chunk = sorted(k for k in original if k.startswith("movies/c/1/"))[-1]
    _zero(path / chunk)
    capsys.readouterr()
    err = _one_line_error(capsys, ["generate", str(path), "--repair", *args])
    assert "pass --resume with --repair" in err
    assert main(["generate", str(path), "--resume", *args]) == 0  # without --repair the damage stays
    assert main(["verify", str(path)]) == 1
    assert main(["generate", str(path), "--resume", "--repair", *args]) == 0
    assert _files(path) == original
    assert main(["verify", str(path)]) == 0
