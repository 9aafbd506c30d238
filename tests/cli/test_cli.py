import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from wavesim.cli import main
from wavesim.io.store import open_store


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_generate_info_render(tmp_path, capsys):
    store = tmp_path / "w.zarr"
    code, out, _ = run(capsys, "generate", str(store), "--movies", "2", "--duration-s", "5", "--warmup-s", "5",
                       "--width-um", "500", "--um-per-pixel", "25", "--backend", "cpu", "--seed", "1",
                       "--readout", "calcium", "--blur-um", "25")
    assert code == 0 and "2/2 movies complete" in out
    assert open_store(store).readout == "calcium"
    code, out, _ = run(capsys, "info", str(store))
    assert code == 0
    for text in ("wavesim-movies v2", "P_s", "32", "calcium", "movies           2/2 complete", "active pixels"):
        assert text in out
    gif = tmp_path / "w.gif"
    code, out, _ = run(capsys, "render", str(store), "--out", str(gif))
    assert code == 0
    with Image.open(gif) as im:
        assert im.n_frames == 10


def test_presets_lists_units_and_ranges(capsys):
    code, out, _ = run(capsys, "presets")
    assert code == 0
    assert "mouse" in out and "turtle" in out and "P_s" in out and "[1, 2000]" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--preset", "cat"], "Unknown preset 'cat'"),
        (["--duration-s", "-3"], "Timing.duration_s = -3.0 s is outside the allowed range"),
        (["--um-per-pixel", "0"], "Readout.um_per_pixel = 0.0 um is outside the allowed range"),
        (["--movie-range", "3:1"], "movie range '3:1' must satisfy"),
        (["--resume", "--overwrite"], "resume and overwrite exclude each other"),
    ],
)
def test_bad_generate_input_gets_a_clear_error(tmp_path, capsys, argv, message):
    code, _, err = run(capsys, "generate", str(tmp_path / "x.zarr"), "--backend", "cpu", "--no-progress", *argv)
    assert code == 2
    assert message in err
    assert not (tmp_path / "x.zarr").exists()


def test_info_on_missing_store(tmp_path, capsys):
    code, _, err = run(capsys, "info", str(tmp_path / "nothing.zarr"))
    assert code == 2 and "No wavesim store at" in err


def test_cuda_backend_without_gpu_is_a_clear_error(tmp_path, capsys, monkeypatch):
    from wavesim import backends

    monkeypatch.setattr(backends, "cuda_status", lambda: (False, "no CUDA GPU is visible to CuPy"))
    code, _, err = run(capsys, "generate", str(tmp_path / "x.zarr"), "--backend", "cuda", "--no-progress")
    assert code == 2 and "backend 'cuda' is not usable here: no CUDA GPU is visible to CuPy" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--fps", "0"], "fps must be a finite number > 0, got 0.0"),
        (["--fps", "-1"], "fps must be a finite number > 0, got -1.0"),
        (["--out", "movie.png"], "path must end in .gif or .mp4, got 'movie.png'"),
        (["--start-s", "-10"], "start_s must be a finite number of seconds >= 0, got -10.0"),
        (["--duration-s", "0"], "duration_s must be a finite number > 0, got 0.0"),
        (["--duration-s", "-2"], "duration_s must be a finite number > 0, got -2.0"),
        (["--start-s", "20"], "start_s = 20 s is at or past the end of movie 0, which lasts 20 s"),
        (["--movie", "4"], "movie 4 is outside .*, which holds movies 0 to 3"),
        (["--movie", "-1"], "movie -1 is outside .*, which holds movies 0 to 3"),
        (["--movie", "1"], r"movie 1 of .* is not completely written; complete movies: \[0, 2, 3\]"),
    ],
)
def test_bad_render_input_is_one_line_and_exit_2(unfinished_store, tmp_path, capsys, argv, message):
    path, _ = unfinished_store
    argv = ["--out", str(tmp_path / "m.gif"), *argv]
    code, out, err = run(capsys, "render", str(path), *argv)
    assert code == 2 and out == ""
    assert re.fullmatch(f"wavesim render: error: {message}.*\n", err)
    assert not (tmp_path / "m.gif").exists()


def test_render_mp4_without_ffmpeg_says_how_to_install_it(unfinished_store, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    code, _, err = run(capsys, "render", str(unfinished_store[0]), "--out", str(tmp_path / "m.mp4"))
    assert code == 2 and err.count("\n") == 1
    assert "needs imageio and imageio-ffmpeg (pip install imageio imageio-ffmpeg)" in err


def test_render_window_starts_within_the_movie(unfinished_store, tmp_path, capsys):
    gif = tmp_path / "w.gif"
    code, out, _ = run(capsys, "render", str(unfinished_store[0]), "--movie", "2", "--start-s", "19.9",
                       "--out", str(gif))
    assert code == 0 and f"wrote {gif}" in out
    with Image.open(gif) as im:
        assert im.n_frames == 1


@pytest.mark.parametrize("batch", ["0", "-2"])
def test_generate_batch_size_must_be_positive(tmp_path, capsys, batch):
    code, _, err = run(capsys, "generate", str(tmp_path / "x.zarr"), "--backend", "cpu", "--no-progress",
                       "--batch-size", batch)
    assert code == 2
    assert err == f"wavesim generate: error: batch size must be a positive integer (retinas simulated at once), got {batch}.\n"
    assert not (tmp_path / "x.zarr").exists()


def test_generate_params_that_is_a_folder_or_binary(tmp_path, capsys):
    folder = tmp_path / "p.toml"
    folder.mkdir()
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\x00\xff\xfe\x01 not text")
    for params, message in [(folder, "is a folder, not a TOML file"), (binary, "cannot be read as text")]:
        code, _, err = run(capsys, "generate", str(tmp_path / "x.zarr"), "--backend", "cpu", "--params", str(params))
        assert code == 2 and err.count("\n") == 1
        assert err.startswith(f"wavesim generate: error: parameter file {params}") and message in err


def test_generate_model_option_and_presets_of_one_model(tmp_path, capsys):
    code, out, _ = run(capsys, "presets", "--model", "amacrine")
    assert code == 0 and out.startswith("model amacrine:")
    code, _, err = run(capsys, "presets", "--model", "nosuch")
    assert code == 2 and err.startswith("wavesim presets: error: Unknown model 'nosuch'")
    code, _, err = run(capsys, "generate", str(tmp_path / "x.zarr"), "--backend", "cpu", "--model", "nosuch")
    assert code == 2 and err.startswith("wavesim generate: error: Unknown model 'nosuch'")


def test_info_sample_must_be_positive(unfinished_store, capsys):
    code, _, err = run(capsys, "info", str(unfinished_store[0]), "--sample", "0")
    assert code == 2 and err == "wavesim info: error: --sample must be at least 1 movie, got 0.\n"


@pytest.mark.parametrize("module", ["wavesim", "wavesim.cli"])
def test_python_m_runs_the_cli(module):
    result = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("wavesim ")


BAD_INPUTS = [
    (["generate", "{tmp}/big.zarr", "--width-um", "1e6", "--backend", "cpu"], r"needs about [\d.]+ GiB, but [\d.]+ GiB"),
    (["generate", "{tmp}/many.zarr", "--movies", "100000000", "--backend", "cpu"], "more than one store holds"),
    (["stats", "{tmp}/notes.txt"], "is not an input wavesim analyses"),
    (["stats", "{tmp}"], "is not an input wavesim analyses"),
    (["stats", "{tmp}/missing.npy"], "does not exist"),
    (["pretrain", "--live", "--updates", "0", "--out", "{tmp}/c.pt"], "--updates must be at least 1"),
    (["pretrain", "--live", "--updates", "1", "--device", "tpu", "--out", "{tmp}/c.pt"], "device must be 'auto'"),
    (["evaluate", "{tmp}/missing.pt", "--out", "{tmp}/eval"], "No checkpoint at"),
    (["evaluate", "{tmp}/notes.txt", "--out", "{tmp}/eval"], "is not a wavesim checkpoint that loads safely"),
]


@pytest.mark.parametrize("argv, message", BAD_INPUTS, ids=[" ".join(a[:2]) + f" #{i}" for i, (a, _) in
                                                           enumerate(BAD_INPUTS)])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing_behind(tmp_path, capsys, argv, message):
    pytest.importorskip("torch")
    (tmp_path / "notes.txt").write_text("not a movie\n")
    before = sorted(tmp_path.rglob("*"))
    code, _, err = run(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert re.search(message, err), err
    assert sorted(tmp_path.rglob("*")) == before


def test_stats_says_when_no_wave_passes_the_size_threshold(tmp_path, capsys):
    np.save(tmp_path / "quiet.npy", np.zeros((50, 8, 8), np.uint8))
    code, out, err = run(capsys, "stats", str(tmp_path / "quiet.npy"), "--um-per-pixel", "50", "--frame-period-s", "0.5")
    assert code == 0 and "waves" in out
    assert "note: no wave in quiet recruits 0.05 of its sites (--min-size-fraction)" in err
