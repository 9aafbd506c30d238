"""Tests for wavesim.train.models, wavesim.train.losses and wavesim.train.evaluate (small sizes, CPU)."""

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("skimage")

from wavesim.errors import ParameterError  # noqa: E402
from wavesim.train.evaluate import (  # noqa: E402
    digits_probe,
    extract_features,
    linear_probe,
    next_frame_error,
    translation_invariance,
    translation_manifolds,
)
from wavesim.train.losses import next_frame_loss, nt_xent_loss  # noqa: E402
from wavesim.train.models import (  # noqa: E402
    ContrastiveNet,
    RecurrentPredictor,
    ResNet18,
    count_parameters,
    resnet18,
    shuffle_weights,
)


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


def test_recurrent_predictor_rnn_has_paper_parameter_count():
    model = RecurrentPredictor()
    # 1->64 layer: conv_x 640 + conv_h 36,928; two 64->64 layers of 73,856; 64->1 head 577;
    # three BatchNorm3d(64) of 128 (weight and bias): 186,241 as in May et al.
    assert [count_parameters(layer) for layer in model.layers] == [37568, 73856, 73856]
    assert [count_parameters(norm) for norm in model.norms] == [128, 128, 128]
    assert all(isinstance(norm, torch.nn.BatchNorm3d) for norm in model.norms)
    assert count_parameters(model.head) == 577
    assert count_parameters(model) == 186_241
    assert count_parameters(RecurrentPredictor(batch_norm=False)) == 185_857


def _cell(c_in, gate_channels, hidden=64):
    """Parameters of a cell's 3x3 input and recurrent convolutions (c_in -> G and hidden -> G), both with bias."""
    return (c_in * 9 + 1) * gate_channels + (hidden * 9 + 1) * gate_channels


@pytest.mark.parametrize("cell, gates, peephole, expected", [
    ("gru", 3, 0, 556_801),
    # May et al.'s LSTM: a peephole weight per channel and pixel for three gates, on 64 x 64 frames.
    ("peephole_lstm", 4, 3 * 64 * 64 * 64, 3_101_377),
])
def test_recurrent_predictor_gru_and_lstm_parameter_counts(cell, gates, peephole, expected):
    model = RecurrentPredictor(cell)
    by_hand = _cell(1, gates * 64) + 2 * _cell(64, gates * 64) + 3 * peephole + 3 * 128 + 577
    assert count_parameters(model) == by_hand == expected


def test_recurrent_predictor_layer_order_follows_may_et_al():
    """Each recurrent layer's output goes through its batch norm before the next layer and the head."""
    model = RecurrentPredictor(hidden_channels=4).eval()
    with torch.no_grad():
        for norm in model.norms:
            norm.running_mean.uniform_(-1, 1)
            norm.running_var.uniform_(0.5, 2)
            norm.weight.uniform_(0.5, 2)
            norm.bias.uniform_(-1, 1)
        clip = torch.rand(2, 5, 8, 8)
        responses = model.layer_responses(clip)
        x = clip.unsqueeze(2)
        for index, (layer, norm) in enumerate(zip(model.layers, model.norms)):
            state = torch.zeros(2, 4, 8, 8)
            hidden = []
            for t in range(x.shape[1]):
                state = torch.tanh(layer.conv_x(x[:, t]) + layer.conv_h(state))
                hidden.append(state)
            hidden = torch.stack(hidden, dim=1)
            torch.testing.assert_close(responses[f"recurrent{index + 1}"], hidden)
            scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
            x = (hidden - norm.running_mean[:, None, None]) * scale[:, None, None] + norm.bias[:, None, None]
        logits = model.head(x[:, -1])
        torch.testing.assert_close(responses["output"], logits)
        torch.testing.assert_close(model(clip), torch.sigmoid(logits))


def test_recurrent_predictor_starts_like_may_et_al():
    """Cell parameters uniform in +-1/sqrt(hidden), batch norms at identity."""
    model = RecurrentPredictor()
    for layer in model.layers:
        values = torch.cat([p.flatten() for p in layer.parameters()])
        assert values.abs().max() <= 1 / 8 and values.abs().max() > 0.124
    assert all(torch.equal(norm.weight, torch.ones(64)) and torch.equal(norm.bias, torch.zeros(64))
               for norm in model.norms)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "peephole_lstm"])
@pytest.mark.parametrize("shape", [(2, 10, 16, 16), (2, 10, 1, 16, 16)])
def test_recurrent_predictor_forward_backward(cell, shape):
    # Few hidden channels and small frames keep the test fast; the architecture is the same.
    model = RecurrentPredictor(cell, hidden_channels=8, frame_shape=(16, 16))
    clip = torch.rand(shape)
    out = model(clip)
    assert out.shape == (2, 1, 16, 16)
    assert out.min() >= 0 and out.max() <= 1
    out.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_recurrent_predictor_channel_axis_is_optional():
    model = RecurrentPredictor("gru", hidden_channels=4)
    clip = torch.rand(1, 3, 16, 16)
    torch.testing.assert_close(model(clip), model(clip.unsqueeze(2)))


def test_recurrent_predictor_rejects_bad_arguments():
    with pytest.raises(ParameterError, match="cell"):
        RecurrentPredictor("transformer")
    with pytest.raises(ParameterError, match="hidden_channels"):
        RecurrentPredictor(hidden_channels=0)
    with pytest.raises(ParameterError, match="shape"):
        RecurrentPredictor(hidden_channels=4)(torch.rand(2, 3, 2, 8, 8))
    with pytest.raises(ParameterError, match="frame_shape"):
        RecurrentPredictor("peephole_lstm", hidden_channels=4, frame_shape=(16, 16))(torch.rand(2, 3, 8, 8))
    with pytest.raises(ParameterError, match="batch_norm"):
        RecurrentPredictor(batch_norm="yes")


def test_resnet18_features_and_parameter_count():
    net = resnet18()
    # torchvision's resnet18 (ImageNet stem) without its classifier, as Ligeralde et al.'s; the CIFAR stem is smaller
    assert count_parameters(net) == 11_176_512
    assert count_parameters(ResNet18(stem="cifar")) == 11_168_832
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 512)
    assert resnet18(in_channels=1)(torch.rand(2, 1, 32, 32)).shape == (2, 512)


def test_contrastive_net_accepts_grayscale_and_rgb():
    net = ContrastiveNet().eval()
    gray = torch.rand(2, 32, 32)
    assert net(gray).shape == (2, 128)
    assert net.features(gray).shape == (2, 512)
    # Grayscale is repeated to three channels, so both spellings agree.
    torch.testing.assert_close(net.features(gray.unsqueeze(1)), net.features(gray[:, None].expand(-1, 3, -1, -1)))
    assert net(torch.rand(2, 1, 64, 64)).shape == (2, 128)  # resized to 32x32
    assert ContrastiveNet(projection_dim=16)(torch.rand(2, 3, 32, 32)).shape == (2, 16)
    assert count_parameters(net.projector) == 512 * 512 + 512 + 512 * 128 + 128
    with pytest.raises(ParameterError, match="shape"):
        net(torch.rand(2, 2, 32, 32))


def test_shuffle_weights_permutes_values_deterministically():
    model = RecurrentPredictor(hidden_channels=4)
    with torch.no_grad():  # running statistics that differ between channels, as after training
        for norm in model.norms:
            norm.running_mean.uniform_(-1, 1)
    before = [p.detach().clone() for p in model.parameters()]
    shuffled = shuffle_weights(model, seed=1)
    again = shuffle_weights(model, seed=1)
    other = shuffle_weights(model, seed=2)
    for original, new, same, different in zip(
        before, shuffled.parameters(), again.parameters(), other.parameters()
    ):
        torch.testing.assert_close(new.detach().flatten().sort().values, original.flatten().sort().values)
        torch.testing.assert_close(new, same)
    assert any(not torch.equal(new, original) for new, original in zip(shuffled.parameters(), before))
    assert any(not torch.equal(a, b) for a, b in zip(shuffled.parameters(), other.parameters()))
    for original, kept in zip(before, model.parameters()):
        torch.testing.assert_close(kept, original)
    for norm, copied in zip(model.norms, shuffled.norms):  # buffers are copied as they are
        torch.testing.assert_close(copied.running_mean, norm.running_mean)


def _row_permutation(new, old):
    """The permutation p with new[i] == old[p[i]] for every i (rows compared whole), or None."""
    rows_new, rows_old = new.reshape(new.shape[0], -1), old.reshape(old.shape[0], -1)
    order = []
    for row in rows_new:
        matches = [j for j in range(len(rows_old)) if torch.equal(row, rows_old[j]) and j not in order]
        if not matches:
            return None
        order.append(matches[0])
    return order


def test_shuffle_filters_permutes_each_tensor_along_its_first_axis_only():
    model = RecurrentPredictor(hidden_channels=6)
    with torch.no_grad():
        for norm in model.norms:
            norm.running_mean.uniform_(-1, 1)
            norm.running_var.uniform_(0.5, 2)
            norm.weight.uniform_(0.5, 2)
            norm.bias.uniform_(-1, 1)
        model(torch.rand(2, 3, 8, 8))  # count a batch, so num_batches_tracked is not 0
    before = {k: v.clone() for k, v in model.state_dict().items()}
    shuffled = shuffle_weights(model, seed=3, scope="filters")
    after = shuffled.state_dict()
    permutations = {}
    for name, old in before.items():
        new = after[name]
        if not old.is_floating_point():
            assert torch.equal(new, old), name  # the batch counters
            continue
        order = _row_permutation(new, old)
        # Each filter (a conv weight's row: in_channels x 3 x 3) is intact, moved whole to another output channel.
        assert order is not None and sorted(order) == list(range(old.shape[0])), name
        permutations[name] = order
    # Buffers are shuffled too, and tensors of one layer get permutations of their own.
    assert permutations["norms.0.running_mean"] != list(range(6))
    assert permutations["layers.1.conv_h.weight"] != permutations["layers.1.conv_h.bias"]
    assert all(order != list(range(len(order))) for order in permutations.values() if len(order) > 1)
    assert before["head.weight"].shape[0] == 1 and torch.equal(after["head.weight"], before["head.weight"])
    # Not a flat shuffle: the entries within a filter keep their order.
    w_old, w_new = before["layers.1.conv_h.weight"], after["layers.1.conv_h.weight"]
    assert torch.equal(w_new[0], w_old[permutations["layers.1.conv_h.weight"][0]])
    again = shuffle_weights(model, seed=3, scope="filters").state_dict()
    assert all(torch.equal(again[k], after[k]) for k in after)
    assert all(torch.equal(model.state_dict()[k], before[k]) for k in before)  # the original is untouched
    with pytest.raises(ParameterError, match="scope"):
        shuffle_weights(model, seed=3, scope="rows")


def test_shuffle_filters_leaves_peephole_weights_with_a_first_axis_of_one():
    model = RecurrentPredictor("peephole_lstm", hidden_channels=2, frame_shape=(4, 4))
    shuffled = shuffle_weights(model, seed=0, scope="filters")
    for old, new in zip(model.layers, shuffled.layers):
        assert torch.equal(old.peephole, new.peephole)


def test_next_frame_loss_hand_example():
    prediction = torch.zeros(2, 1, 2, 2)
    target = torch.zeros(2, 1, 2, 2)
    target[0] = 1.0  # 4 pixels of error 1
    target[1, 0, 0, 0] = 0.5  # one pixel of error 0.5
    assert next_frame_loss(prediction, target).item() == pytest.approx((4 + 0.25) / 2)
    with pytest.raises(ParameterError, match="same shape"):
        next_frame_loss(prediction, target[:, 0])


def test_nt_xent_hand_example():
    # Two orthogonal pairs: each view has similarity 1 to its partner and 0 to the two negatives.
    z_a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    expected = math.log(1 + 2 * math.exp(-1 / 0.5))
    assert nt_xent_loss(z_a, z_a.clone(), temperature=0.5).item() == pytest.approx(expected, rel=1e-6)
    # Cosine similarity: the scale of the embeddings does not matter.
    assert nt_xent_loss(z_a, 3 * z_a, temperature=0.5).item() == pytest.approx(expected, rel=1e-6)


def test_nt_xent_prefers_aligned_pairs_and_is_stable():
    z_a = torch.randn(32, 16)
    aligned = nt_xent_loss(z_a, z_a + 0.05 * torch.randn(32, 16))
    shuffled = nt_xent_loss(z_a, torch.randn(32, 16))
    assert aligned < shuffled
    assert torch.isfinite(nt_xent_loss(z_a, z_a, temperature=1e-3))
    with pytest.raises(ParameterError, match="2 pairs"):
        nt_xent_loss(z_a[:1], z_a[:1])
    with pytest.raises(ParameterError, match="temperature"):
        nt_xent_loss(z_a, z_a, temperature=0)


def test_linear_probe_informative_and_noise():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=900)
    informative = rng.normal(size=(900, 5)) + 4 * np.eye(3, 5)[labels]
    assert linear_probe(informative[:300], labels[:300], informative[300:], labels[300:]) > 0.9
    noise = rng.normal(size=(900, 5))
    assert abs(linear_probe(noise[:300], labels[:300], noise[300:], labels[300:]) - 1 / 3) < 0.1
    with pytest.raises(ParameterError, match="dimension"):
        linear_probe(noise[:300], labels[:300], noise[300:, :4], labels[300:])
    with pytest.raises(ParameterError, match="two classes"):
        linear_probe(noise[:10], np.zeros(10), noise[10:20], np.zeros(10))


def test_extract_features_restores_training_mode():
    net = ContrastiveNet()
    features = extract_features(net.features, torch.rand(5, 1, 32, 32), batch_size=2)
    assert features.shape == (5, 512) and features.dtype == np.float32
    assert net.training
    with pytest.raises(ParameterError, match="batch_size"):
        extract_features(net, torch.rand(5, 1, 32, 32), batch_size=0)


def test_digits_probe_on_pixels():
    result = digits_probe(lambda images: images)
    assert result["accuracy"] > 0.85
    assert result["accuracy"] == pytest.approx(result["pixel_accuracy"])
    assert result["n_train"] + result["n_test"] == 1797 and result["feature_dim"] == 1024


def test_translation_invariance_favours_invariant_features():
    kwargs = dict(n_exemplars=6, n_translations=8, n_folds=2, crop_px=12, manifold_n_t=100, seed=0)
    # |FFT| is exactly invariant to circular shifts of the canvas.
    result = translation_invariance(lambda images: torch.fft.fft2(images).abs(), **kwargs)
    assert result["score"] == pytest.approx(1.0)
    assert result["score"] > result["pixel_score"] + 0.2
    assert np.shape(result["shifts"]) == (8, 2) and np.abs(result["shifts"]).max() <= 6
    json.dumps(result)
    # Invariant features collapse each exemplar's manifold to a point: Cover's capacity of 2.
    assert result["manifold"]["radius"] < 1e-4
    assert result["manifold"]["capacity"] == pytest.approx(2.0, rel=0.1)
    assert result["pixel_manifold"]["radius"] > 1 and result["pixel_manifold"]["capacity"] < 0.5
    with pytest.raises(ParameterError, match="n_translations"):
        translation_invariance(lambda images: images, n_translations=1000)


def test_translation_manifolds_per_layer():
    torch.manual_seed(0)
    net = ContrastiveNet(stem="cifar")
    kwargs = dict(n_exemplars=4, n_translations=6, n_t=40, max_units=512, batch_size=12, seed=1)
    result = translation_manifolds(net.layer_responses, **kwargs)
    assert list(result["layers"]) == ["stem", "stage1", "stage2", "stage3", "stage4", "pooled"]
    stem = result["layers"]["stem"]
    assert stem["units"] == 64 * 32 * 32 and stem["analysed_units"] == 512
    assert result["layers"]["pooled"]["analysed_units"] == 512
    for geometry in [*result["layers"].values(), result["pixels"]]:
        assert 0 < geometry["capacity"] < 2.5 and geometry["radius"] > 0 and len(geometry["capacities"]) == 4
    assert result["pixels"]["units"] == 1024
    assert net.training  # restored after the evaluation in eval mode
    json.dumps(result)
    images = torch.rand(3, 1, 32, 32)
    assert torch.allclose(net.layer_responses(images)["pooled"], net.features(images))
    # Same images as the translation test of the same seed.
    translation = translation_invariance(lambda images: images, n_folds=2, pixel_reference=False,
                                         **{k: kwargs[k] for k in ("n_exemplars", "n_translations", "seed")})
    assert result["shifts"] == translation["shifts"]
    assert result["pixels"]["capacity"] == pytest.approx(
        translation_manifolds(lambda images: {"pixels": images}, **{**kwargs, "max_units": 1024})
        ["layers"]["pixels"]["capacity"])
    with pytest.raises(ParameterError, match="dict of layer name"):
        translation_manifolds(lambda images: images, **kwargs)
    with pytest.raises(ParameterError, match="max_units"):
        translation_manifolds(net.layer_responses, max_units=0)


def test_next_frame_error_runs():
    model = RecurrentPredictor(hidden_channels=4)
    clips = np.random.default_rng(0).random((5, 11, 16, 16), dtype=np.float32)
    error = next_frame_error(model, clips, batch_size=2)
    assert model.training  # restored after the evaluation in eval mode
    with torch.no_grad():
        model.eval()  # batch norms on their running statistics
        expected = next_frame_loss(model(torch.as_tensor(clips[:, :10])), torch.as_tensor(clips[:, 10:])).item()
        model.train()
    assert error == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ParameterError, match="T >= 2"):
        next_frame_error(model, clips[:, :1])
