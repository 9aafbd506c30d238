"""Ligeralde et al.'s manifold experiment: CIFAR-100 or shipped photographs, their shifts, every ReLU and Linear layer."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import write_cifar  # noqa: E402
from wavesim.errors import ImageSetError, ImageSetNotFoundError, ParameterError  # noqa: E402
from wavesim.train.cifar import (  # noqa: E402
    CIFAR100_MEAN,
    CIFAR100_STD,
    natural_images,
    read_cifar100_test,
    sample_images,
    translated_images,
)
from wavesim.train.layer_manifolds import (  # noqa: E402
    analysed_layers,
    gaussian_projection,
    layer_activations,
    layer_manifold_geometry,
)
from wavesim.train.manifolds import manifold_geometry  # noqa: E402
from wavesim.train.models import ContrastiveNet  # noqa: E402


class _Hostile:
    def __reduce__(self):
        return (print, ("a pickle that runs code",))


def test_cifar100_test_file_is_read_from_its_folder_or_file(tmp_path):
    data, labels = write_cifar(tmp_path)
    for path in (tmp_path, tmp_path / "cifar-100-python", tmp_path / "cifar-100-python" / "test"):
        images, fine = read_cifar100_test(path)
        assert images.shape == (12, 3, 32, 32) and images.dtype == np.uint8 and fine.tolist() == labels
        # rows are R, G and B planes of 32 x 32, row-major
        assert np.array_equal(images[3, 1, 2], data[3, 1024 + 64:1024 + 96])
    with pytest.raises(ImageSetNotFoundError, match="no CIFAR-100 test file at .*cifar-100-python"):
        read_cifar100_test(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "test").write_bytes(pickle.dumps({b"data": _Hostile()}))
    with pytest.raises(ImageSetError, match="is not a CIFAR-100 python pickle: builtins.print"):
        read_cifar100_test(bad)
    (bad / "test").write_bytes(pickle.dumps({b"data": np.zeros((2, 5), np.uint8), b"fine_labels": [0, 1]}))
    with pytest.raises(ImageSetError, match=r"must be \(N, 3072\) uint8"):
        read_cifar100_test(bad)
    (bad / "test").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(ImageSetError, match="needs b'data' and b'fine_labels'"):
        read_cifar100_test(bad)


def test_images_are_drawn_as_theirs_and_natural_crops_stand_in():
    import random

    images = np.arange(20)[:, None, None, None] * np.ones((1, 3, 32, 32), np.uint8)
    chosen = sample_images(images, 5, 42)
    assert [int(c[0, 0, 0]) for c in chosen] == random.Random(42).sample(range(20), 5)
    with pytest.raises(ParameterError, match=r"n_images must be an integer in \[2, 20\]"):
        sample_images(images, 21, 0)
    crops = natural_images(6, seed=1)
    assert crops.shape == (6, 3, 32, 32) and crops.dtype == np.uint8
    assert np.array_equal(crops, natural_images(6, seed=1)) and not np.array_equal(crops, natural_images(6, seed=2))
    assert all(c.std() > 0.05 * 255 for c in crops)


def test_translations_are_their_random_affine_shifts():
    images = np.random.default_rng(0).integers(1, 256, size=(4, 3, 32, 32), dtype=np.uint8)
    manifolds, shifts = translated_images(images, generator=torch.Generator().manual_seed(0))
    assert manifolds.shape == (4, 20, 3, 32, 32) and shifts.shape == (4, 20, 2)
    assert np.abs(shifts).max() == 3 and len({tuple(s) for s in shifts.reshape(-1, 2)}) > 20
    mean = np.array(CIFAR100_MEAN)[:, None, None]
    sd = np.array(CIFAR100_STD)[:, None, None]
    raw = manifolds.numpy() * sd + mean  # back to [0, 1]
    for p in range(4):
        for t in range(20):
            dy, dx = shifts[p, t]
            expected = np.zeros((3, 32, 32))
            expected[:, max(dy, 0):32 + min(dy, 0), max(dx, 0):32 + min(dx, 0)] = \
                images[p, :, max(-dy, 0):32 + min(-dy, 0), max(-dx, 0):32 + min(-dx, 0)] / 255
            np.testing.assert_allclose(raw[p, t], expected, atol=1e-5)  # moved right by dx, down by dy, black edges
    again, _ = translated_images(images, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again, manifolds)
    with pytest.raises(ParameterError, match=r"images must be \(P, 3, 32, 32\) uint8"):
        translated_images(images.astype(np.float32), generator=torch.Generator())


def test_analysed_layers_are_theirs_and_a_reused_relu_counts_with_its_last_call():
    net = ContrastiveNet(encoder="resnet9", encoder_width=2, projector_dims=(8, 8, 8), projector_batch_norm=True,
                         generator=torch.Generator().manual_seed(0)).eval()
    names = [name for name, _ in analysed_layers(net)]
    # their ResNet-9 with a three-layer projector: layers 3, 6, 12, 15, 19, 25 (ReLU), 28, 30, 31, 33, 34
    assert names == ["backbone.prep.2", "backbone.prep.5", "backbone.res1.relu", "backbone.conv2.2",
                     "backbone.conv3.2", "backbone.res2.relu", "projector.0", "projector.2", "projector.3",
                     "projector.5", "projector.6"]
    images = torch.randn(2, 3, 3, 32, 32)
    activations = layer_activations(net, images)
    assert list(activations) == ["input", *names] and len(activations["input"]) == 2
    block, x = net.backbone.res1, net.backbone.prep(images[0])
    pre_add = torch.relu(block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(x))))))  # their block's second ReLU
    np.testing.assert_allclose(activations["backbone.res1.relu"][0], pre_add.flatten(1).detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(activations["projector.6"][1], net(images[1]).detach().numpy(), atol=1e-5)
    resnet18 = ContrastiveNet(projector_dims=(8, 8, 8), projector_batch_norm=True)
    # their ResNet-18 list: the stem's ReLU, each block's output, the projector's five layers
    assert len(analysed_layers(resnet18)) == 1 + 8 + 5


def test_gaussian_projection_has_their_distribution():
    rng = np.random.default_rng(0)
    points = [rng.standard_normal((2, 30)), rng.standard_normal((2, 30))]
    stacked = np.concatenate(points)
    direct, shortcut = [], []
    for _ in range(4000):
        matrix = rng.standard_normal((5, 30))
        direct.append(stacked @ (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).T)
        shortcut.append(np.concatenate(gaussian_projection(points, 5, rng)))
    gram_direct = np.einsum("kia,kja->kij", direct, direct)
    gram_shortcut = np.einsum("kia,kja->kij", shortcut, shortcut)
    scale = np.abs(gram_direct.mean(axis=0)).max()
    np.testing.assert_allclose(gram_shortcut.mean(axis=0), gram_direct.mean(axis=0), atol=0.05 * scale)
    np.testing.assert_allclose(gram_shortcut.std(axis=0), gram_direct.std(axis=0), rtol=0.08)
    assert [p.shape for p in gaussian_projection(points, 5, rng)] == [(2, 5), (2, 5)]


def test_capacity_protocol_on_a_tiny_network():
    net = ContrastiveNet(encoder="resnet9", encoder_width=2, projector_dims=(16, 16, 16), projector_batch_norm=True,
                         generator=torch.Generator().manual_seed(0))
    images = np.random.default_rng(1).integers(0, 256, size=(4, 3, 32, 32), dtype=np.uint8)
    manifolds, _ = translated_images(images, 5, generator=torch.Generator().manual_seed(1))
    result = layer_manifold_geometry(net, manifolds, n_t=30, max_features=600, seed=3)
    assert list(result["layers"]) == [name for name, _ in analysed_layers(net)]
    for name, geometry in result["layers"].items():
        assert 0 < geometry["capacity"] and geometry["radius"] > 0 and len(geometry["capacities"]) == 4
        assert geometry["analysed_units"] == min(geometry["units"], 600)
    assert result["layers"]["backbone.prep.2"]["units"] == 2 * 32 * 32  # projected to 600
    # a layer small enough to keep is the plain mean-field analysis of its points
    kept = layer_activations(net, manifolds)["projector.6"]
    assert result["layers"]["projector.6"]["capacity"] == pytest.approx(manifold_geometry(kept, n_t=30, seed=3).capacity)
    assert net.training  # eval mode only during the analysis
    default = layer_manifold_geometry(net, manifolds[:3, :3])  # their n_t = 500 and 5,000 units
    assert default["n_t"] == 500 and default["max_features"] == 5000
    pixels = manifold_geometry(list(manifolds[:3, :3].flatten(2).double().numpy()), n_t=500, seed=0)
    assert default["pixels"]["capacity"] == pytest.approx(pixels.capacity)  # the input: the images themselves
    with pytest.raises(ParameterError, match=r"manifolds must be \(P, m, C, H, W\)"):
        layer_manifold_geometry(net, manifolds[0])
