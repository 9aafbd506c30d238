"""May et al. (2025)'s statistics and evaluations: paired t-tests, receptive fields, static gratings."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from wavesim.errors import ParameterError  # noqa: E402
from wavesim.train.evaluate import (  # noqa: E402
    activation_maximisation,
    comparison_table,
    grating_responses,
    paired_comparisons,
    receptive_field,
    receptive_field_size,
    static_gratings,
)
from wavesim.train.models import RecurrentPredictor  # noqa: E402


def _t4_two_sided_p(t):
    """Two-sided p of Student's t with 4 degrees of freedom, from its closed-form CDF."""
    x = t / math.sqrt(4 + t * t)
    upper = 0.5 - 0.5 * (1.5 * x - 0.5 * x**3)  # 1 - F(t) for t > 0, nu = 4
    return 2 * upper


def test_paired_comparisons_match_the_t_statistic_by_hand_and_correct_for_three_comparisons():
    a = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    scores = {"pretrained": a, "random_init": a - [1, 2, 3, 4, 5], "shuffled_filters": a[::-1].copy()}
    rows = paired_comparisons(scores)
    assert [(r["a"], r["b"]) for r in rows] == [("pretrained", "random_init"), ("pretrained", "shuffled_filters"),
                                               ("random_init", "shuffled_filters")]
    first = rows[0]
    # differences 1..5: mean 3, sd sqrt(2.5), t = 3 / (sqrt(2.5) / sqrt(5)) = 3 sqrt(2)
    assert first["mean_difference"] == 3.0 and first["sd_difference"] == pytest.approx(math.sqrt(2.5))
    assert first["t"] == pytest.approx(3 * math.sqrt(2)) and first["df"] == 4 and first["n"] == 5
    assert first["p"] == pytest.approx(_t4_two_sided_p(3 * math.sqrt(2)), rel=1e-9)
    assert first["p"] == pytest.approx(0.013236, abs=1e-6)
    assert first["p_bonferroni"] == pytest.approx(3 * first["p"])  # m = 3 comparisons
    assert first["significant"] and first["stars"] == "*"
    # pretrained vs its reverse: mean difference 0, t = 0, p = 1, capped at 1 after correction
    assert rows[1]["t"] == 0.0 and rows[1]["p"] == pytest.approx(1.0) and rows[1]["p_bonferroni"] == 1.0
    assert not rows[1]["significant"] and rows[1]["stars"] == "n.s."
    table = comparison_table(rows)
    assert table.count("\n") == 4 and "| pretrained | random_init | 5 |" in table


def test_paired_comparisons_pair_by_replicate():
    """A small, consistent offset across very different replicates is significant only when paired."""
    base = np.array([5.0, 50.0, 500.0, 5000.0, 50000.0])
    rows = paired_comparisons({"a": base, "b": base + [1.0, 1.1, 0.9, 1.05, 0.95]}, pairs=[("b", "a")])
    assert rows[0]["mean_difference"] == pytest.approx(1.0) and rows[0]["t"] > 20
    assert rows[0]["p_bonferroni"] == rows[0]["p"] < 1e-4 and rows[0]["stars"] == "***"


def test_paired_comparisons_edge_cases_and_errors():
    constant = paired_comparisons({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 2.0]})[0]
    assert constant["t"] == math.inf and constant["p"] == 0.0 and constant["significant"]
    same = paired_comparisons({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0]})[0]
    assert math.isnan(same["p"]) and not same["significant"] and same["stars"] == "n.s."
    with pytest.raises(ParameterError, match="same number of replicates"):
        paired_comparisons({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0]})
    with pytest.raises(ParameterError, match="at least two condition"):
        paired_comparisons({"a": [1.0, 2.0]})
    with pytest.raises(ParameterError, match="finite"):
        paired_comparisons({"a": [1.0, float("nan")], "b": [1.0, 2.0]})
    with pytest.raises(ParameterError, match="pairs"):
        paired_comparisons({"a": [1.0, 2.0], "b": [1.0, 3.0]}, pairs=[("a", "c")])


class _LocalUnit(torch.nn.Module):
    """An output unit that sums a 3 x 3 patch of one input frame: its receptive field by construction."""

    def __init__(self, frame, weight=1.0):
        super().__init__()
        self.frame = frame
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False)
        with torch.no_grad():
            self.conv.weight.fill_(weight)

    def forward(self, clip):
        return self.conv(clip[:, self.frame: self.frame + 1])


def test_activation_maximisation_finds_a_receptive_field_known_by_construction():
    net = _LocalUnit(frame=4)
    result = receptive_field(net, unit=(6, 9), n_frames=5, frame_shape=(16, 16), n_trials=3, steps=100,
                             blur_sigma=(0, 0), norm_crop_percentile=0, contribution_crop_percentile=0)
    field = result["field"]
    expected = np.zeros((5, 16, 16))
    expected[4, 5:8, 8:11] = 1.0  # the 3 x 3 patch saturates; everything else decays by 0.9 a step
    np.testing.assert_allclose(field, expected, atol=1e-3)
    np.testing.assert_array_equal(result["area_px"], [0, 0, 0, 0, 9])
    assert np.isnan(result["strength"][:4]).all() and result["strength"][4] == pytest.approx(1.0)
    # the kept clip is the one whose activation was measured: the 9 pixels before the last update
    assert result["activation"] == pytest.approx(np.full(3, 9 * 20 * (1 - 0.9**99) / (1 - 0.9) * 0.9), rel=1e-4)


def test_activation_maximisation_with_the_papers_regularisers_stays_on_the_unit():
    # A gradient of 0.05 a pixel: each step adds 1 to the patch, against the decay, the blur and the crops.
    net = _LocalUnit(frame=2, weight=0.05)
    result = receptive_field(net, unit=(8, 10), n_frames=5, frame_shape=(20, 20), n_trials=2)
    area, strength = result["area_px"], result["strength"]
    # The blur spreads the field over time and space, symmetrically about the unit's frame and pixel.
    assert area.argmax() == 2 and strength.argmax() == 2 and strength[2] == pytest.approx(1.0)
    assert min(area[1], area[3]) > max(area[0], area[4]) and abs(area[1] - area[3]) <= 3
    assert strength[1] == pytest.approx(strength[3], abs=0.02) and strength[0] < strength[1]
    rows, cols = np.nonzero(result["field"][2] > 0.1)
    assert rows.mean() == pytest.approx(8, abs=0.25) and cols.mean() == pytest.approx(10, abs=0.25)
    again = activation_maximisation(net, unit=(8, 10), n_frames=5, frame_shape=(20, 20), n_trials=2)
    np.testing.assert_array_equal(again["clips"].mean(axis=0), result["field"])


def test_receptive_field_of_the_predictor_runs_in_eval_mode_and_restores_training():
    model = RecurrentPredictor(hidden_channels=2)
    result = receptive_field(model.logits, n_frames=3, frame_shape=(16, 16), n_trials=2, steps=3)
    assert result["unit"] == (8, 12) and result["field"].shape == (3, 16, 16)
    assert 0 <= result["field"].min() and result["field"].max() <= 1
    assert model.training and all(p.grad is None for p in model.parameters())


def test_receptive_field_size_definitions():
    clip = np.zeros((2, 40, 40))
    clip[0, 20:23, 30:32] = [[0.2, 0.4], [0.6, 0.8], [1.0, 0.05]]
    clip[0, 0, 0] = 1.0  # outside the 27 x 27 window around (20, 30)
    size = receptive_field_size(clip, (20, 30))
    assert size["area_px"].tolist() == [5, 0]
    assert size["strength"][0] == pytest.approx(np.percentile([0.2, 0.4, 0.6, 0.8, 1.0], 95))
    assert np.isnan(size["strength"][1])
    assert receptive_field_size(clip, (20, 30), threshold=0.5)["area_px"][0] == 3
    with pytest.raises(ParameterError, match="unit"):
        receptive_field_size(clip, (50, 3))


def test_activation_maximisation_rejects_bad_input():
    net = _LocalUnit(frame=0)
    with pytest.raises(ParameterError, match="l2_decay"):
        activation_maximisation(net, l2_decay=1.0)
    with pytest.raises(ParameterError, match="outside"):
        activation_maximisation(net, unit=(70, 3))
    with pytest.raises(ParameterError, match="norm_crop_percentile"):
        activation_maximisation(net, norm_crop_percentile=100)
    with pytest.raises(ParameterError, match="output shape"):
        activation_maximisation(net, channel=1, frame_shape=(8, 8), n_frames=2, steps=1, n_trials=1)


def test_static_gratings_follow_the_definition():
    stimuli = static_gratings()
    images = stimuli["images"]
    assert images.shape == (120, 64, 64) and stimuli["blank"].shape == (64, 64)
    assert np.all(stimuli["blank"] == 0.5)
    assert images.min() >= 0.1 - 1e-6 and images.max() <= 0.9 + 1e-6  # contrast 0.8 around 0.5
    assert sorted(set(stimuli["orientation_deg"])) == [0, 30, 60, 90, 120, 150]
    assert sorted(set(stimuli["frequency_per_px"])) == [0.02, 0.04, 0.08, 0.16, 0.32]
    first = images[0]  # 0 degrees, 0.02 cycles/pixel, phase 0: vertical stripes, 0.5 at x = 0
    assert np.allclose(first, first[:1])
    x = np.arange(64) - 31.5
    np.testing.assert_allclose(first[0], 0.5 + 0.4 * np.sin(2 * np.pi * 0.02 * x), atol=1e-6)
    ninety = images[(stimuli["orientation_deg"] == 90) & (stimuli["frequency_per_px"] == 0.16)
                    & (stimuli["phase"] == 0.25)][0]
    assert np.allclose(ninety, ninety[:, :1])  # horizontal stripes
    np.testing.assert_allclose(ninety[:, 0], 0.5 + 0.4 * np.cos(2 * np.pi * 0.16 * x), atol=1e-6)


def test_grating_responses_of_a_pixel_layer_are_known_in_closed_form():
    """A layer that passes the pixels through changes by 0.4 sin(...): over 4 quarter phases its sd is sqrt(0.08)."""
    def layers(clip):
        return {"pixels": clip.unsqueeze(2), "constant": torch.ones(clip.shape[0], 2, 4, 4)}

    result = grating_responses(layers, frame_shape=(16, 16), n_frames=3, keep_changes=True)
    pixels = result["layers"]["pixels"]
    np.testing.assert_allclose(pixels["std_change"], math.sqrt(0.08), rtol=1e-5)
    np.testing.assert_allclose(pixels["mean_change"], 0.0, atol=1e-6)
    assert pixels["mean_std"] == pytest.approx(math.sqrt(0.08), rel=1e-5) and pixels["changes"].shape == (120, 1, 16, 16)
    assert result["layers"]["constant"]["mean_std"] == 0.0
    assert len(result["phase"]) == 120


def test_grating_responses_of_the_predictor_cover_every_layer():
    model = RecurrentPredictor(hidden_channels=3)
    result = grating_responses(model.layer_responses, frame_shape=(16, 16), n_frames=2, batch_size=32)
    assert {name: r["std_change"].shape for name, r in result["layers"].items()} == {
        "recurrent1": (3, 16, 16), "recurrent2": (3, 16, 16), "recurrent3": (3, 16, 16), "output": (1, 16, 16)}
    assert all(r["mean_std"] > 0 for r in result["layers"].values())
    assert model.training
