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
    for text in ("wavesim-movies v1", "P_s", "32", "calcium", "movies           2/2 complete", "active pixels"):
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
