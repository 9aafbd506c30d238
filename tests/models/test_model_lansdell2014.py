"""Lansdell, Ford & Kutz 2014: parameters, the fixed-point rule against its NumPy references.

The side-by-side validation with the authors' Matlab code (under Octave)
is a long run, not a test: examples/lansdell2014_validation.py and
docs/models/lansdell2014.md.
"""

import dataclasses

import numpy as np
import pytest

import wavesim as ws
from continuous_helpers import assert_rule_matches_reference, random_fixed_state, square_lattice
from wavesim.errors import ParameterError
from wavesim.kernels import lansdell2014 as rule
from wavesim.kernels.fixed_point import COSH_SHIFT, TABLE_LEN, TANH_SHIFT, X_MAX, function_tables
from wavesim.kernels.random import retina_keys
from wavesim.models import lansdell2014 as model
from wavesim.models.lansdell2014_reference import FixedSheet, FloatSheet

SHIFTS = {"v": rule.V_SHIFT, "r": rule.R_SHIFT, "s": rule.S_SHIFT, "e": rule.E_SHIFT}
# States a sheet passes through: rest, wave fronts, refractory tails.
RANGES = {"v": (-85.0, 30.0), "r": (0.0, 0.9), "s": (0.0, 1.5), "e": (0.0, 0.9)}


def _lattice(rows=7, cols=9):
    return square_lattice(rows, cols, model.AUTHORS_SPACING_UM)


def test_presets_are_the_authors_sets():
    p = model.PRESETS[model.DEFAULT_PRESET]
    assert (p.C_m_pF, p.g_Ca_nS, p.g_K_nS, p.g_L_nS, p.g_ACh_nS) == (160, 10, 30, 3, 2)
    assert (p.tau_R_s, p.tau_S_s, p.tau_ACh_s, p.alpha, p.gamma_per_s, p.delta) == (5, 60, 0.2, 2, 0.3, 800)
    assert p.noise_probability == pytest.approx(0.1 / 800)  # their Bernoulli p = noiseStepSize / 800
    assert p.noise_steps == 100 and p.dt_s == 0.001
    assert model.PRESETS["pharmacology"].D_um2_per_s == 7500
    fast = model.PRESETS["ml_sahp_2time"]
    assert fast.noise_steps == 100 and fast.noise_probability == pytest.approx(0.05 / 800)
    assert model.Lansdell2014Params() == p


def test_fit_ranges_are_valid_and_keep_the_relations():
    assert set(model.FIT_DEFAULTS) == set(model.FIT_RANGES)
    assert model.Lansdell2014Params.check_ranges(model.FIT_RANGES) == model.FIT_RANGES
    for corner in ({k: lo for k, (lo, hi) in model.FIT_RANGES.items()}, {k: hi for k, (lo, hi) in model.FIT_RANGES.items()}):
        params = model.Lansdell2014Params(**corner)
        model.tables(_lattice(), [params])  # the explicit diffusion stays stable on the authors' grid


def test_bad_parameters_name_the_field_and_the_fix():
    with pytest.raises(ParameterError, match=r"Lansdell2014Params.tau_S_s = 0.0 s is outside the allowed range"):
        model.Lansdell2014Params(tau_S_s=0)
    with pytest.raises(ParameterError, match=r"noise_period_s = 0.0015 s must be a whole number of steps"):
        model.Lansdell2014Params(noise_period_s=0.0015)
    with pytest.raises(ParameterError, match=r"noise_rate_hz \* noise_period_s = 20 exceeds 1"):
        model.Lansdell2014Params(noise_rate_hz=10.0, noise_period_s=2.0)
    with pytest.raises(ParameterError, match=r"summed conductances .* exceed 1.0 per step.*lower dt_s"):
        model.Lansdell2014Params(dt_s=0.005)
    with pytest.raises(ParameterError, match=r"beta_per_s \* tau_ACh_s = 10 exceeds 4"):
        model.Lansdell2014Params(beta_per_s=50.0)


def test_tables_check_the_sheet():
    p = model.Lansdell2014Params()
    t = model.tables(_lattice(), [p])
    assert t["table"].shape == (rule.TABLE_SIZE,) and t["site"].shape == (7, 9) and t["pull_w"].shape == (1, 4)
    with pytest.raises(ParameterError, match=r"D_um2_per_s \* dt_s / spacing_um\*\*2 = 0.4 exceeds 0.25"):
        model.tables(square_lattice(5, 5, 10.0), [dataclasses.replace(p, D_um2_per_s=4e5, dt_s=1e-4)])
    disc = ws.SquareLattice(ws.Retina(width_um=320, height_um=320, spacing_um=32, dendrite_radius_um=32, shape="disc"))
    with pytest.raises(ParameterError, match=r"rectangular sheets .*shape='rectangle'"):
        model.tables(disc)


def test_function_tables_interpolate_tanh_and_cosh_closely():
    from numba import njit

    from wavesim.kernels.fixed_point import build_fixed_point

    lookup = build_fixed_point(njit).lookup
    tanh, cosh = function_tables()
    table = np.concatenate([tanh, cosh])
    x = np.linspace(-X_MAX + 1e-3, X_MAX - 1e-3, 2001)
    got_tanh = np.array([lookup(table, 0, int(round(v * 2**24))) for v in x]) / 2**TANH_SHIFT
    got_cosh = np.array([lookup(table, TABLE_LEN, int(round(v * 2**24))) for v in x]) / 2**COSH_SHIFT
    assert np.max(np.abs(got_tanh - np.tanh(x))) < 3e-6
    assert np.max(np.abs(got_cosh / np.cosh(x) - 1)) < 1e-5
    assert lookup(table, 0, 100 << 24) == tanh[-1] and lookup(table, 0, -(100 << 24)) == tanh[0]  # clamped


def test_the_compiled_rule_matches_the_fixed_point_reference_bit_for_bit():
    lattice = _lattice()
    slow = model.Lansdell2014Params()
    params = [slow, dataclasses.replace(slow, noise_rate_hz=2.0, noise_period_s=0.02)]
    refs = assert_rule_matches_reference(rule, FixedSheet, model.quantise(params), model.tables(lattice, params),
                                         RANGES, SHIFTS, seed=5)
    assert 0 < refs[1].active().sum() < refs[1].active().size


def test_the_fixed_point_scheme_follows_the_float_equations():
    """From one state, 200 steps (0.2 s) of the fixed-point and the float explicit scheme stay within rounding."""
    lattice = _lattice()
    p = dataclasses.replace(model.Lansdell2014Params(), noise_rate_hz=2.0, noise_period_s=0.02)
    tables = model.tables(lattice, [p])
    rng = np.random.default_rng(11)
    start = random_fixed_state(rng, lattice.shape, RANGES, SHIFTS)
    key = int(retina_keys([9])[0])
    fixed = FixedSheet.from_params(p, tables["table"], lattice.shape, key=key)
    real = FloatSheet(p, lattice.shape, model.AUTHORS_SPACING_UM, key=key, diffusion="explicit")
    fixed.load(start)
    for name, values in start.items():
        setattr(real, name, values / 2.0**SHIFTS[name])
    for _ in range(200):
        fixed.step()
        real.step()
    got = fixed.as_float()
    assert np.max(np.abs(got["v"] - real.v)) < 0.01  # mV
    for name in ("r", "s", "e"):
        assert np.max(np.abs(got[name] - getattr(real, name))) < 1e-5, name


def test_crank_nicolson_and_explicit_diffusion_agree_on_a_smooth_field():
    """The authors' diffusion and the rule's differ by O(dt^2): 1 s of pure diffusion of a bump, h = 2 mm / 63."""
    p = dataclasses.replace(model.Lansdell2014Params(), beta_per_s=0.0, tau_ACh_s=10.0, noise_rate_hz=0.0)
    sheets = [FloatSheet(p, (16, 16), diffusion=d) for d in ("crank-nicolson", "explicit")]
    y, x = np.mgrid[0:16, 0:16]
    for s in sheets:
        s.e = np.exp(-((y - 5.0) ** 2 + (x - 9.0) ** 2) / 4.0)
        s.v = np.full((16, 16), -90.0)  # no release, K held open: e only diffuses and decays
        for _ in range(1000):
            s.step()
    assert sheets[0].e.max() < 0.5  # it spread
    assert np.max(np.abs(sheets[0].e - sheets[1].e)) < 2e-4


def test_the_float_reference_makes_a_wave_from_one_noise_event():
    """A noise event at the centre of a rested sheet depolarises its neighbours through ACh: a spreading wave."""
    p = dataclasses.replace(model.Lansdell2014Params(), noise_rate_hz=0.0)
    sheet = FloatSheet(p, (15, 15))
    for _ in range(2000):  # 2 s at rest: r relaxes towards r_inf
        sheet.step()
    assert not sheet.active().any()
    sheet.v[7, 7] = 0.0
    areas = []
    for _ in range(6):
        for _ in range(250):
            sheet.step()
        areas.append(int(sheet.active().sum()))
    assert max(areas) > 50 and areas.index(max(areas)) > 0


def test_default_entry_points_run():
    p = model.PRESETS[model.DEFAULT_PRESET]
    sheet = FloatSheet(p)
    assert sheet.v.shape == (model.AUTHORS_NODES, model.AUTHORS_NODES)
    sheet.step()
    assert sheet.t == 1 and abs(np.median(sheet.v) - p.E_L_mV) < 0.1  # at rest but for the closed K gate
    assert model.authors_sheet_um() == pytest.approx(64.5 * 2000 / 63)
    rows = model.quantise([p])
    assert rows.shape == (1, rule.N_PARAMS) and rows[0, rule.P_NOISE_STEPS] == 100
    lattice = square_lattice(3, 3, model.AUTHORS_SPACING_UM)
    fixed = FixedSheet.from_params(p, model.tables(lattice)["table"], lattice.shape)
    fixed.step()
    assert fixed.t == 1 and set(fixed.state()) == set(rule.STATE_FIELDS)
