"""Ligeralde et al.'s contrastive set-up (ligeralde2023), positives at a frame separation, calcium and user movies."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import _small_store  # noqa: E402
from wavesim.analysis import AnalysisParams, frame_wave_labels  # noqa: E402
from wavesim.cli import main  # noqa: E402
from wavesim.data import UserMovie, WavePairs  # noqa: E402
from wavesim.errors import ParameterError  # noqa: E402
from wavesim.io.recordings import Movie  # noqa: E402
from wavesim.io.store import open_store  # noqa: E402
from wavesim.train.checkpoint import load_checkpoint  # noqa: E402
from wavesim.train.contrastive import contrastive_config  # noqa: E402
from wavesim.train.losses import nt_xent_loss  # noqa: E402
from wavesim.train.models import ContrastiveNet, ResNet9, ResNet50, count_parameters  # noqa: E402

ANALYSIS = AnalysisParams(min_size_fraction=0.02)


def test_ligeralde2023_config_holds_their_values():
    config = contrastive_config("ligeralde2023")
    assert (config.encoder, config.projector_dims, config.projector_batch_norm) == ("resnet9", (8192, 8192, 8192), True)
    assert (config.learning_rate, config.weight_decay, config.epochs, config.temperature) == (1e-4, 1e-6, 100, 0.5)
    assert (config.frame_separation_frames, config.in_channels) == (1, 3)
    assert config.pair_options() == {"frame_separation": 1, "max_offset_frames": 2}
    default = contrastive_config()
    assert (default.encoder, default.projector_dims, default.epochs, default.frame_separation_frames) == \
        ("resnet18", (512, 128), None, None)
    # the default config builds the network ContrastiveNet() builds, layer for layer
    assert [tuple(v.shape) for v in ContrastiveNet.from_config(default).state_dict().values()] == \
        [tuple(v.shape) for v in ContrastiveNet().state_dict().values()]
    assert contrastive_config("ligeralde2023", projector_dims="64-32").projector_dims == (64, 32)
    with pytest.raises(ParameterError, match="projector_dims must be widths"):
        contrastive_config("ligeralde2023", projector_dims="64-x")
    with pytest.raises(ParameterError, match="the ResNet-9 has its own stem"):
        contrastive_config("ligeralde2023", stem="imagenet")
    with pytest.raises(ParameterError, match="must be one of \\('default', 'ligeralde2023'\\)"):
        contrastive_config("simclr")


def test_resnet9_and_their_projector_train_at_small_size():
    torch.manual_seed(0)
    net = ContrastiveNet.from_config(contrastive_config("ligeralde2023", projector_dims=(32, 32, 16)))
    assert isinstance(net.backbone, ResNet9) and count_parameters(net.backbone) == 2_437_696
    projector = [type(m).__name__ for m in net.projector]
    assert projector == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert net.projector[0].in_features == 1024 and all(
        m.bias is None for m in net.projector if isinstance(m, torch.nn.Linear))
    frames = torch.rand(4, 2, 32, 32)  # grayscale pairs, repeated to three channels inside
    loss = nt_xent_loss(net(frames[:, 0]), net(frames[:, 1]))
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    layers = {k: tuple(v.shape) for k, v in net.eval().layer_responses(frames[:2, 0]).items()}
    assert layers == {"prep": (2, 128, 16, 16), "res1": (2, 128, 16, 16), "conv2": (2, 256, 8, 8),
                      "conv3": (2, 256, 4, 4), "res2": (2, 256, 4, 4), "pooled": (2, 1024)}
    # their ResNet-50 (ImageNet stem on 32 x 32 frames): torchvision's 23,508,032 parameters without the classifier
    resnet50 = ResNet50()
    assert count_parameters(resnet50) == 23_508_032 and resnet50(torch.rand(2, 3, 32, 32)).shape == (2, 2048)
    with pytest.raises(ParameterError, match="H, W >= 16"):
        ResNet9()(torch.rand(1, 3, 8, 8))


@pytest.mark.parametrize("separation", [1, 3])
def test_positives_lie_at_the_requested_separation(small_store, separation):
    path, _ = small_store
    store = open_store(path)
    labels = {m: frame_wave_labels(Movie(store.read_movie(m), 50, 0.5), ANALYSIS) for m in store.complete_movies()}
    ds = WavePairs(path, frame_separation=separation, analysis=ANALYSIS, batch_size=4, seed=2)
    assert ds.n_items >= 4
    for batch in ds:
        a, p = batch["anchor_frame"].numpy(), batch["positive_frame"].numpy()
        assert (np.abs(a - p) == separation).all()
        for k, m in enumerate(batch["movie"].tolist()):
            assert labels[m][a[k]] == labels[m][p[k]] == int(batch["wave"][k])
    other = WavePairs(path, frame_separation=separation + 1, analysis=ANALYSIS, batch_size=4, seed=2)
    with pytest.raises(ParameterError, match="frame_separation"):  # a resume must pair frames as before
        other.load_state_dict(ds.state_dict())


def test_calcium_readout_gives_graded_pairs(tmp_path):
    path, _ = _small_store(tmp_path / "ca.zarr", 2, kind="calcium", calcium_tau_s=0.5)
    ds = WavePairs(path, frame_separation=1, analysis=ANALYSIS, batch_size=2, seed=0)
    batch = next(iter(ds))
    frames = batch["frames"]
    assert frames.dtype == torch.float32 and 0 <= frames.min() and frames.max() <= 1
    assert ((frames > 0) & (frames < 1)).any()  # graded calcium, not binary frames
    assert (np.abs(batch["anchor_frame"].numpy() - batch["positive_frame"].numpy()) == 1).all()


def _wave_movie(n_waves=4, frames_per_wave=10, gap=6, shape=(24, 32)):
    """Bars 4 px wide sweeping left to right, 3 px per frame, on a noisy baseline: (T, H, W) float, like dF/F."""
    rng = np.random.default_rng(0)
    t_frames = n_waves * (frames_per_wave + gap)
    movie = 100 + rng.normal(0, 3, (t_frames, *shape))
    for w in range(n_waves):
        for k in range(frames_per_wave):
            col = 3 * k
            movie[w * (frames_per_wave + gap) + k, :, col : col + 4] += 900
    return movie


def test_user_movies_from_tiff_and_npy_go_through_wave_pairs(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    movie = _wave_movie()
    tifffile.imwrite(tmp_path / "waves.tif", movie.astype(np.uint16))
    np.save(tmp_path / "waves.npy", movie.astype(np.float32))
    tiff = UserMovie(tmp_path / "waves.tif", frame_rate_hz=10, um_per_pixel=5)
    assert tiff.frames.dtype == np.uint8 and tiff.frames.shape == movie.shape and tiff.frame_period_s == 0.1
    # the .npy recorded at 20 Hz and 5 um, resampled to the training's 10 Hz and 10 um pixels
    npy = UserMovie(tmp_path / "waves.npy", frame_rate_hz=20, um_per_pixel=5, train_frame_rate_hz=10,
                    train_um_per_pixel=10)
    assert npy.frames.shape == (movie.shape[0] // 2, 12, 16) and npy.um_per_pixel == 10
    for source in (tiff, npy):
        ds = WavePairs(source, frame_separation=1, batch_size=2, size_px=32, seed=0)
        assert ds.n_items == 4  # the four bars
        labels = frame_wave_labels(Movie(source.frames, source.um_per_pixel, source.frame_period_s))
        for batch in ds:
            assert batch["frames"].shape == (2, 2, 32, 32)
            a, p = batch["anchor_frame"].numpy(), batch["positive_frame"].numpy()
            assert (np.abs(a - p) == 1).all() and (labels[a] == labels[p]).all()
    ds = WavePairs(tiff, batch_size=4, seed=0)
    batch = next(iter(ds))
    k = 0
    assert torch.allclose(batch["frames"][k, 0], torch.from_numpy(tiff.frames[int(batch["anchor_frame"][k])]) / 255)
    with pytest.raises(ParameterError, match="one frame shape"):
        WavePairs([tiff, npy])


def test_cli_pretrains_the_ligeralde2023_config_on_a_user_movie(tmp_path, capsys):
    np.save(tmp_path / "waves.npy", _wave_movie(n_waves=6).astype(np.float32))
    ckpt = tmp_path / "lig.pt"
    assert main(["pretrain", "--task", "contrastive", "--config", "ligeralde2023", "--encoder", "resnet9",
                 "--projector-dims", "16-16-8", "--epochs", "2", "--batch-size", "3", "--movie",
                 str(tmp_path / "waves.npy"), "--frame-rate-hz", "10", "--um-per-pixel", "5", "--device", "cpu",
                 "--out", str(ckpt)]) == 0
    assert "4 updates (2 passes over 6 waves)" in capsys.readouterr().out
    model, payload = load_checkpoint(ckpt)
    assert isinstance(model.backbone, ResNet9) and payload["model_config"]["projector_dims"] == [16, 16, 8]
    meta = payload["metadata"]
    assert meta["contrastive_config"] == "ligeralde2023" and meta["contrastive"]["frame_separation_frames"] == 1
    assert meta["updates"] == 4 and "waves.npy" in meta["data"][0]
    log = json.loads((tmp_path / "lig" / "log.json").read_text())
    assert log[-1]["update"] == 4
