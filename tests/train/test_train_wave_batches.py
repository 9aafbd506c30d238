"""Ligeralde et al.'s data flow: whole-wave batches, their loss, the data-shuffle controls, their initialisation."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from wavesim.errors import ParameterError  # noqa: E402
from wavesim.train.contrastive import INIT_NAMES  # noqa: E402
from wavesim.train.models import ContrastiveNet, ResNet9, ResNet18, ResNet50, count_parameters  # noqa: E402
from wavesim.train.wave_batches import (  # noqa: E402
    WaveFrames,
    load_wave_frames,
    normalise_recording,
    shuffle_frames,
    split_waves,
    wave_batches,
    wave_contrastive_loss,
    wave_pair_batches,
)
from wavesim.train.wave_training import WaveContrastiveTrainer, WaveTrainingSettings  # noqa: E402
from wavesim.train.weight_init import INIT_SCHEMES, initialise  # noqa: E402


def _waves(lengths, seed=0, gap_after=None):
    """WaveFrames of random frames; ``gap_after``: the wave 0 skips a frame after this many (a gap in time)."""
    rng = np.random.default_rng(seed)
    wave = np.repeat(np.arange(len(lengths)), lengths)
    time = np.concatenate([np.arange(n) + 100 * k for k, n in enumerate(lengths)])
    if gap_after is not None:
        time[gap_after:lengths[0]] += 1
    frames = torch.from_numpy(rng.random((wave.size, 1, 32, 32), dtype=np.float32))
    return WaveFrames(frames, wave, time, "test")


# --- their batching -----------------------------------------------------------------------------------------------

def test_wave_batches_follow_their_rule():
    # a batch closes before a wave once the waves before it hold more than the limit and a multiple of 4 frames
    assert wave_batches([6, 6, 6, 6, 6], frame_limit=10) == [(0, 2), (2, 4)]  # 12 > 10, 12 % 4 == 0
    # 5 + 6 = 11 > 10 but not a multiple of 4: the batch goes on to 5 + 6 + 5 = 16
    assert wave_batches([5, 6, 5, 4, 4, 7, 1], frame_limit=10) == [(0, 3), (3, 6)]
    # the last wave is never in a batch; a final batch of one wave (no negatives) is left out
    assert wave_batches([20, 20, 20], frame_limit=1000) == [(0, 2)]
    assert wave_batches([8, 8, 3, 9], frame_limit=10) == [(0, 2)]
    lengths = np.random.default_rng(1).integers(1, 60, size=200)
    batches = wave_batches(lengths, frame_limit=300)
    assert batches[0][0] == 0 and all(a[1] == b[0] for a, b in zip(batches, batches[1:]))
    assert batches[-1][1] <= len(lengths) - 1

    def closes(first, stop):
        frames = lengths[first:stop].sum()
        return frames > 300 and frames % 4 == 0

    for first, stop in batches[:-1]:  # each closes at the first wave where it may
        assert closes(first, stop) and not any(closes(first, k) for k in range(first + 1, stop))
    with pytest.raises(ParameterError, match="make no batch of two or more waves"):
        wave_batches([5, 5])
    with pytest.raises(ParameterError, match="frame_limit must be a positive integer"):
        wave_batches([5, 5, 5], frame_limit=0)


# --- their loss, against a naive one ------------------------------------------------------------------------------

def _naive_loss(z, wave, time, temperature, separation):
    """Their loss, frame by frame: -log(sum over both neighbours / sum over other waves' frames)."""
    z = z.detach().double().numpy()
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    terms = []
    for i in range(len(z)):
        positive = sum(math.exp(z[i] @ z[j] / temperature) for j in range(len(z))
                       if wave[j] == wave[i] and abs(time[j] - time[i]) == separation)
        if positive == 0:
            continue
        negative = sum(math.exp(z[i] @ z[j] / temperature) for j in range(len(z)) if wave[j] != wave[i])
        terms.append(-math.log(positive / negative))
    return float(np.mean(terms))


@pytest.mark.parametrize("separation", [1, 2])
def test_wave_loss_matches_a_naive_loss(separation):
    waves = _waves([5, 1, 4, 6], gap_after=3)  # a one-frame wave (no positive) and a gap in wave 0
    z = torch.randn(len(waves.wave), 7, generator=torch.Generator().manual_seed(separation))
    loss = wave_contrastive_loss(z, waves.wave, waves.time, temperature=0.5, frame_separation=separation)
    assert float(loss) == pytest.approx(_naive_loss(z, waves.wave, waves.time, 0.5, separation), rel=1e-6)


def _cos(z, i, j):
    a, b = z[i].double(), z[j].double()
    return float(a @ b / (a.norm() * b.norm()))


def test_wave_loss_leaves_own_wave_frames_out_of_the_denominator():
    # wave 0: frames 0 and 1 are each other's positive, frame 5 has none; wave 1's frames have no positives, so
    # the loss is the mean of two terms whose denominators hold wave 1's frames only
    wave, time = np.array([0, 0, 0, 1, 1, 1]), np.array([0, 1, 5, 0, 10, 20])
    z = torch.randn(6, 4, generator=torch.Generator().manual_seed(3))
    loss = float(wave_contrastive_loss(z, wave, time))

    def term(i, j):
        return -math.log(math.exp(_cos(z, i, j) / 0.5) / sum(math.exp(_cos(z, i, k) / 0.5) for k in (3, 4, 5)))

    assert loss == pytest.approx((term(0, 1) + term(1, 0)) / 2, rel=1e-6)
    own = z.clone()
    own[2] = torch.randn(4, generator=torch.Generator().manual_seed(4))  # the anchor's own wave: neither side
    assert float(wave_contrastive_loss(own, wave, time)) == pytest.approx(loss, rel=1e-6)
    other = z.clone()
    other[4] = -other[4]  # another wave's frame: a negative
    assert float(wave_contrastive_loss(other, wave, time)) != pytest.approx(loss, rel=1e-3)
    with pytest.raises(ParameterError, match="one wave"):
        wave_contrastive_loss(z[:3], wave[:3], time[:3])
    with pytest.raises(ParameterError, match="no positives"):
        wave_contrastive_loss(z[2:5], wave[2:5], time[2:5])


def test_one_forward_pass_per_batch_of_waves():
    torch.manual_seed(0)
    net = ContrastiveNet(encoder="resnet9", encoder_width=2, projector_dims=(8, 8), projector_batch_norm=True)
    calls = []
    net.register_forward_hook(lambda module, inputs, output: calls.append(inputs[0].shape[0]))
    waves = _waves([7, 5, 9, 5, 8])
    settings = WaveTrainingSettings(epochs=1, frame_limit=10)
    trainer = WaveContrastiveTrainer(net, waves, None, settings)
    trainer.step()
    assert calls == [12]  # waves 0 and 1 together: both views of a pair share one batch-norm pass
    calls.clear()
    pairs = WaveContrastiveTrainer(net, waves, None, WaveTrainingSettings(epochs=1, batching="pairs",
                                                                         pair_batch_size=2))
    pairs.step()
    assert calls == [2, 2]  # the pairs option: anchors and positives in two passes


def test_wave_pair_batches_are_a_function_of_seed_and_epoch():
    waves = _waves([5, 6, 7, 8, 4])
    first = wave_pair_batches(waves, 2, seed=1, epoch=0)
    assert len(first) == 2 and all(len(a) == 2 for a, _ in first)
    for anchors, positives in first:
        assert (waves.wave[anchors] == waves.wave[positives]).all()
        assert (np.abs(waves.time[anchors] - waves.time[positives]) == 1).all()
    again = wave_pair_batches(waves, 2, seed=1, epoch=0)
    assert all((a == b).all() and (c == d).all() for (a, c), (b, d) in zip(first, again))
    with pytest.raises(ParameterError, match="fewer than batch_size"):
        wave_pair_batches(waves, 6, seed=1, epoch=0)


# --- the shuffle controls change only what they name --------------------------------------------------------------

def _pixel_multisets(frames):
    return np.sort(frames.reshape(frames.shape[0], frames.shape[1], -1).numpy(), axis=-1)


def test_shuffle_controls_change_only_what_they_name():
    waves = _waves([6, 5, 7])
    original = waves.frames.numpy()
    unshuffled = shuffle_frames(waves, "unshuffled", torch.Generator().manual_seed(0))
    assert torch.equal(unshuffled.frames, waves.frames)
    for kind in ("temporal", "spatial", "spatiotemporal"):
        shuffled = shuffle_frames(waves, kind, torch.Generator().manual_seed(0))
        # the wave bookkeeping never moves
        assert (shuffled.wave == waves.wave).all() and (shuffled.time == waves.time).all()
        frames = shuffled.frames.numpy()
        if kind == "temporal":
            # whole frames, intact, in another order
            order = [int(np.flatnonzero((original == f).all(axis=(1, 2, 3)))[0]) for f in frames]
            assert sorted(order) == list(range(len(original))) and order != list(range(len(original)))
        else:
            assert frames.shape[1] == 3  # each channel shuffled on its own
            assert not np.array_equal(frames[:, 0], frames[:, 1])
            per_slot = _pixel_multisets(shuffled.frames)
            source = _pixel_multisets(waves.frames)[:, 0]
            for channel in range(3):
                if kind == "spatial":
                    # the same frame in every slot, its pixels moved
                    assert np.array_equal(per_slot[:, channel], source)
                    assert not np.array_equal(frames[:, channel], original[:, 0])
                else:
                    matches = [int(np.flatnonzero((source == s).all(axis=1))[0]) for s in per_slot[:, channel]]
                    assert sorted(matches) == list(range(len(source))) and matches != list(range(len(source)))
    with pytest.raises(ParameterError, match="shuffle must be one of"):
        shuffle_frames(waves, "both", torch.Generator())


# --- data --------------------------------------------------------------------------------------------------------

def test_normalisation_is_their_standard_scaler_then_min_max():
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    frames = rng.random((50, 1, 32, 32)).astype(np.float32)
    frames[:, 0, 0, 0] = 0.3  # a pixel that never changes
    expected = StandardScaler().fit_transform(frames.reshape(50, -1).astype(np.float64))
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    got = normalise_recording(torch.from_numpy(frames)).numpy().reshape(50, -1)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    with pytest.raises(ParameterError, match="all the same"):
        normalise_recording(torch.ones(4, 1, 32, 32))


def test_waves_of_a_store_are_whole_and_in_order(small_store):
    path, _ = small_store
    waves = load_wave_frames(path)
    assert waves.frames.shape[1:] == (1, 32, 32) and waves.n_waves >= 3
    assert float(waves.frames.min()) >= 0 and float(waves.frames.max()) <= 1
    assert (np.diff(waves.wave) >= 0).all() and set(np.diff(waves.wave)) <= {0, 1}
    raw = load_wave_frames(path, normalise=False)
    assert raw.n_waves == waves.n_waves and (raw.wave == waves.wave).all() and (raw.time == waves.time).all()
    assert float(raw.frames.min()) >= 0 and float(raw.frames.max()) <= 1
    for w in range(waves.n_waves):  # a wave's frames in time order
        assert (np.diff(waves.time[waves.wave == w]) > 0).all()
    train, validation = split_waves(waves, 0.5, np.random.default_rng(0))
    assert train.n_waves + validation.n_waves == waves.n_waves and validation.n_waves == waves.n_waves // 2
    assert train.frames.shape[0] + validation.frames.shape[0] == waves.frames.shape[0]
    assert split_waves(waves, 1.0, np.random.default_rng(0))[1].n_waves == 0
    with pytest.raises(ParameterError, match="train_fraction must be in"):
        split_waves(waves, 0.0, np.random.default_rng(0))


# --- initialisation ----------------------------------------------------------------------------------------------

def test_torchvision_initialisation_follows_its_definition():
    assert INIT_NAMES[1:] == INIT_SCHEMES
    generator = torch.Generator().manual_seed(0)
    net = ResNet18(init="torchvision", generator=generator)
    conv = net.stages[3][0].conv2  # 512 -> 512, 3 x 3
    # kaiming_normal_(mode="fan_out", nonlinearity="relu"): normal, sd sqrt(2 / (out_channels * 3 * 3))
    expected_sd = math.sqrt(2 / (512 * 9))
    assert float(conv.weight.std()) == pytest.approx(expected_sd, rel=0.01)
    assert abs(float(conv.weight.mean())) < 0.01 * expected_sd * 10
    # normal, not uniform: about 4.6 % beyond two sds
    assert float((conv.weight.abs() > 2 * expected_sd).float().mean()) == pytest.approx(0.0455, abs=0.003)
    stem = net.stem[0]
    assert float(stem.weight.std()) == pytest.approx(math.sqrt(2 / (64 * 49)), rel=0.05)
    for bn in (m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        assert torch.equal(bn.weight, torch.ones_like(bn.weight)) and torch.equal(bn.bias, torch.zeros_like(bn.bias))
    # theirs: torchvision's, with the replaced first convolution drawn by torch's rule (uniform within 1/sqrt(fan_in))
    theirs = ResNet18(generator=torch.Generator().manual_seed(0))
    bound = 1 / math.sqrt(3 * 49)
    assert float(theirs.stem[0].weight.abs().max()) <= bound
    assert float(theirs.stem[0].weight.std()) == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert float(theirs.stages[3][0].conv2.weight.std()) == pytest.approx(expected_sd, rel=0.01)
    # torch's rule everywhere
    plain = initialise(torch.nn.Conv2d(16, 32, 3), "torch", generator=torch.Generator().manual_seed(0))
    assert float(plain.weight.abs().max()) <= 1 / math.sqrt(16 * 9) and float(plain.bias.abs().max()) <= 1 / 12
    with pytest.raises(ParameterError, match="scheme must be one of"):
        initialise(plain, "xavier")


def test_default_resnet18_is_theirs_and_a_generator_fixes_every_weight():
    net = ResNet18()
    assert tuple(net.stem[0].weight.shape) == (64, 3, 7, 7) and isinstance(net.stem[3], torch.nn.MaxPool2d)
    assert count_parameters(net) == 11_176_512 and net(torch.rand(2, 3, 32, 32)).shape == (2, 512)
    assert count_parameters(ResNet50()) == 23_508_032
    state = torch.random.get_rng_state()
    a = ContrastiveNet(generator=torch.Generator().manual_seed(5))
    b = ContrastiveNet(generator=torch.Generator().manual_seed(5))
    assert torch.equal(state, torch.random.get_rng_state())  # the global random state is left alone
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert a.config["stem"] == "imagenet" and a.config["init"] == "ligeralde2023"
    narrow = ContrastiveNet(encoder="resnet9", encoder_width=8, projector_dims=(16,))
    assert narrow.backbone.feature_dim == 128 and narrow.config["encoder_width"] == 8
    assert count_parameters(ResNet9()) == 2_437_696
    with pytest.raises(ParameterError, match="width must be an integer"):
        ResNet9(width=0)
    with pytest.raises(ParameterError, match="encoder_width sets the width of a ResNet-9"):
        ContrastiveNet(encoder_width=8)


def test_checkpoints_of_the_former_cifar_stem_default_still_load(tmp_path):
    from wavesim.train.checkpoint import load_checkpoint, save_checkpoint

    old = ContrastiveNet(stem="cifar", init="torch", projection_dim=8)
    config = {"projection_dim": 8, "encoder": "resnet18", "stem": None, "in_channels": 3, "projector_dims": None,
              "projector_batch_norm": False}  # what a version 2 checkpoint held: stem None meant CIFAR then
    torch.save({"format": "wavesim-checkpoint", "format_version": 2, "wavesim_version": "0.1", "task": "contrastive",
                "model_config": config, "metadata": {}, "state_dict": old.state_dict()}, tmp_path / "v2.pt")
    loaded, payload = load_checkpoint(tmp_path / "v2.pt")
    assert payload["model_config"]["stem"] == "cifar"
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(loaded.eval()(x), old.eval()(x))
    # new checkpoints name their stem and initialisation
    save_checkpoint(tmp_path / "v3.pt", old, task="contrastive", model_config=old.config)
    assert load_checkpoint(tmp_path / "v3.pt")[1]["model_config"]["stem"] == "cifar"


def test_trainer_resumes_exactly_from_its_state():
    waves = _waves([7, 5, 9, 5, 8, 6, 4], seed=2)
    settings = WaveTrainingSettings(epochs=2, frame_limit=10)

    def fresh():
        net = ContrastiveNet(encoder="resnet9", encoder_width=2, projector_dims=(8, 8), projector_batch_norm=True,
                             generator=torch.Generator().manual_seed(1))
        return WaveContrastiveTrainer(net, waves, None, settings)

    whole = fresh()
    assert whole.run() and whole.done and [row["epoch"] for row in whole.log] == [1, 2]
    first = fresh()
    assert not first.run(should_stop=lambda: True)  # stops after one batch
    state = first.state_dict()
    resumed = fresh()
    resumed.load_state_dict(state)
    assert (resumed.epoch, resumed.batch) == (0, 1) and resumed.run()
    assert all(torch.equal(a, b) for a, b in zip(whole.net.state_dict().values(), resumed.net.state_dict().values()))
    assert resumed.log == whole.log
    with pytest.raises(ParameterError, match="the run is complete"):
        resumed.step()


def test_settings_and_config_defaults_are_theirs():
    from wavesim.train.contrastive import contrastive_config

    settings = WaveTrainingSettings()
    assert (settings.epochs, settings.learning_rate, settings.weight_decay, settings.temperature,
            settings.frame_separation, settings.batching, settings.frame_limit) == (100, 1e-4, 1e-6, 0.5, 1, "waves",
                                                                                    3000)
    with pytest.raises(ParameterError, match="batching must be one of"):
        WaveTrainingSettings(batching="both")
    with pytest.raises(ParameterError, match="frame_limit must be a positive integer"):
        WaveTrainingSettings(frame_limit=0)
    assert wave_batches([1000] * 5) == [(0, 4)]  # their limit of 3,000 frames
    config = contrastive_config("ligeralde2023", encoder_width=4, projector_dims=(8, 8))
    a, b = (ContrastiveNet.from_config(config, generator=torch.Generator().manual_seed(3)) for _ in range(2))
    assert a.backbone.width == 4 and all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                                            b.state_dict().values()))
    torchvision = contrastive_config("ligeralde2023", init="torchvision")
    assert ContrastiveNet.from_config(torchvision).config["init"] == "torchvision"
    with pytest.raises(ParameterError, match="encoder_width = 4 sets the width of a ResNet-9"):
        contrastive_config("default", encoder_width=4)
    conv = initialise(torch.nn.Conv2d(2, 2, 3))  # torch's rule from the global generator
    assert float(conv.weight.abs().max()) <= 1 / math.sqrt(18)
