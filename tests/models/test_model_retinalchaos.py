"""RetinalChaos (Tarchick et al.): parameters, the fixed-point rule against its references and against SciPy.

The single-cell check integrates the authors' equations for one isolated,
noise-free cell (their figure 2 set-up: 15 pA applied, no transmitter)
with SciPy's LSODA at tight tolerances, independently of the rule, and
holds the compiled rule's bursts and sAHP course to it; with noise, SciPy
follows the path of the noise current the rule drew through one burst.
"""

import dataclasses

import numpy as np
import pytest
from numba import njit
from scipy.integrate import solve_ivp

from continuous_helpers import assert_rule_matches_reference, random_fixed_state, square_lattice
from wavesim.errors import ParameterError
from wavesim.kernels import retinalchaos as rule
from wavesim.kernels.random import retina_keys
from wavesim.models import retinalchaos as model
from wavesim.models.retinalchaos_reference import (FixedSheet, FloatSheet, initial_state, single_cell_rhs,
                                                   single_cell_rhs_along)

SHIFTS = dict(zip(rule.STATE_FIELDS, (rule.V_SHIFT, rule.N_SHIFT, rule.C_SHIFT, rule.A_SHIFT, rule.B_SHIFT,
                                      rule.E_SHIFT, rule.I_SHIFT, rule.W_SHIFT)))
RANGES = {"v": (-80.0, 10.0), "n": (0.0, 0.9), "c": (0.03, 0.6), "a": (0.0, 0.9), "b": (0.0, 0.9),
          "e": (0.0, 4.0), "i": (0.0, 4.0), "w": (-4.0, 4.0)}
SPACING_UM = 20.0


def _bursts(t_ms, v_mV, gap_ms=500.0):
    """Spike times (upward crossings of -20 mV), and the onsets and durations of bursts (spikes < gap apart)."""
    spikes = t_ms[1:][(v_mV[1:] > -20) & (v_mV[:-1] <= -20)]
    if spikes.size == 0:
        return spikes, spikes, spikes
    breaks = np.flatnonzero(np.diff(spikes) > gap_ms)
    starts = np.r_[spikes[0], spikes[breaks + 1]]
    ends = np.r_[spikes[breaks], spikes[-1]]
    return spikes, starts, ends - starts


def test_presets_are_the_authors_sets():
    p = model.PRESETS[model.DEFAULT_PRESET]
    assert (p.g_Ca_nS, p.g_K_nS, p.g_TREK_nS, p.C_m_pF, p.tau_a_ms, p.tau_b_ms) == (8.5, 4.0, 3.0, 13.6, 8300, 8300)
    assert (p.rho_e, p.rho_i, p.D_e_cells2_per_ms, p.D_i_cells2_per_ms, p.gaba_drift) == (6, 5, 0.01, 0.01, 0.9)
    assert (p.sigma_pA_per_sqrt_ms, p.tau_w_ms) == (0.1, 800)
    assert model.PRESETS["isolated_15pA"].I_app_pA == 15.0
    assert model.RetinalChaosParams() == p


def test_fit_ranges_are_valid_and_keep_the_relations():
    assert set(model.FIT_DEFAULTS) == set(model.FIT_RANGES)
    assert model.RetinalChaosParams.check_ranges(model.FIT_RANGES) == model.FIT_RANGES
    for pick in (0, 1):
        model.RetinalChaosParams(**{k: bounds[pick] for k, bounds in model.FIT_RANGES.items()})


def test_bad_parameters_name_the_field_and_the_fix():
    with pytest.raises(ParameterError, match=r"RetinalChaosParams.tau_n_ms = 0.1 ms is outside the allowed range"):
        model.RetinalChaosParams(tau_n_ms=0.1)
    with pytest.raises(ParameterError, match=r"dt / tau_n_ms = 0.2 exceeds 0.0625 per step.*lower dt_s"):
        model.RetinalChaosParams(dt_s=1e-3)
    disc = square_lattice(3, 3, SPACING_UM).retina
    disc = dataclasses.replace(disc, width_um=200, height_um=200, shape="disc")
    from wavesim.lattice import SquareLattice

    with pytest.raises(ParameterError, match=r"rectangular sheets"):
        model.tables(SquareLattice(disc))


def _isolated_cell(p, duration_ms: float) -> np.ndarray:
    """The compiled rule for one isolated cell from the initial state: the state after every step, as floats."""
    cell_step = rule.build_rule(njit(inline="always")).cell_step

    @njit
    def run(n, u0, prow, table):
        out = np.empty((n, 8), np.int64)
        u = (u0[0], u0[1], u0[2], u0[3], u0[4], u0[5], u0[6], u0[7])
        for t in range(1, n + 1):
            # an isolated cell: its neighbours' sums equal four times its own value, no drift
            u = cell_step(t, u, 4 * u[5], 4 * u[6], np.int64(0), np.uint64(1), 0, prow, table)
            for f in range(8):
                out[t - 1, f] = u[f]
        return out

    scale = np.array([2.0**SHIFTS[f] for f in rule.STATE_FIELDS])
    u0 = np.round(initial_state() * scale).astype(np.int64)
    table = model.tables(square_lattice(2, 2, SPACING_UM))["table"]
    return run(round(duration_ms / p.dt_ms), u0, model.quantise([p])[0], table) / scale


@pytest.fixture(scope="module")
def single_cell():
    """30 s of one isolated cell (their figure 2: 15 pA, no release, no noise): the rule and SciPy."""
    p = dataclasses.replace(model.PRESETS["isolated_15pA"], sigma_pA_per_sqrt_ms=0.0)
    duration_ms = 30_000.0
    trace = _isolated_cell(p, duration_ms)
    t_rule = np.arange(1, trace.shape[0] + 1) * p.dt_ms
    sol = solve_ivp(single_cell_rhs(p), (0, duration_ms), initial_state(), method="LSODA", rtol=1e-9, atol=1e-11,
                    max_step=0.5, dense_output=True)
    return t_rule, trace, sol


def test_single_cell_bursts_match_scipy(single_cell):
    t_rule, trace, sol = single_cell
    spikes, starts, durations = _bursts(t_rule, trace[:, 0])
    t = np.arange(0, 30_000, 0.05)
    ref_spikes, ref_starts, ref_durations = _bursts(t, sol.sol(t)[0])
    assert len(ref_starts) == 2 and 600 < ref_durations[0] < 900  # two bursts of ~0.65-0.85 s, 25 s apart
    assert len(spikes) == len(ref_spikes)
    assert np.max(np.abs(starts - ref_starts)) < 5.0  # ms: the burst period (~25 s) within 0.02 %
    assert np.max(np.abs(durations - ref_durations)) < 5.0  # ms
    assert np.max(np.abs(spikes - ref_spikes)) < 5.0  # every spike within 5 ms


def test_single_cell_sahp_time_course_matches_scipy(single_cell):
    t_rule, trace, sol = single_cell
    every = round(500 / (t_rule[1] - t_rule[0]))  # every 0.5 s
    t = t_rule[every - 1 :: every]
    ref = sol.sol(t)
    for k, name in ((2, "c"), (3, "a"), (4, "b")):
        got = trace[every - 1 :: every, k]
        assert np.max(np.abs(got - ref[k])) < 2e-3 * max(1.0, np.max(np.abs(ref[k]))), name
    assert np.max(ref[4]) > 0.5  # the TREK gate opened after the first burst ...
    assert np.min(ref[4][(t > 5_000) & (t < 24_000)]) < np.max(ref[4]) / 2  # ... and closed before the next


def test_a_noisy_burst_matches_scipy_along_the_rule_s_noise_path():
    """The default parameters, noise on: from the rule's state 1 s before its first burst, SciPy driven by the
    path of W the rule drew (an Ornstein-Uhlenbeck current, linear between steps) gives the same spikes."""
    p = model.PRESETS[model.DEFAULT_PRESET]
    assert p.sigma_pA_per_sqrt_ms > 0
    trace = _isolated_cell(p, 16_500.0)
    start = round(14_000 / p.dt_ms)  # steps; this key's first burst starts at 15.1 s
    window = trace[start - 1:]  # the state after step `start`, then every step to 16.5 s
    duration_ms = (window.shape[0] - 1) * p.dt_ms
    sol = solve_ivp(single_cell_rhs_along(p, window[:, 7]), (0, duration_ms), window[0, :7], method="LSODA",
                    rtol=1e-7, atol=1e-9, max_step=0.5, dense_output=True)
    t_rule = np.arange(1, window.shape[0]) * p.dt_ms
    spikes = _bursts(t_rule, window[1:, 0])[0]
    t = np.arange(0, duration_ms, 0.05)
    ref_spikes, ref_starts, _ = _bursts(t, sol.sol(t)[0])
    assert len(ref_starts) == 1 and len(ref_spikes) >= 5  # one burst of several spikes
    assert np.ptp(window[:, 7]) > 1.0  # pA: the noise current moved while it was driven
    assert len(spikes) == len(ref_spikes)
    assert np.max(np.abs(spikes - ref_spikes)) < 1.0  # ms: 0.15 ms over 60 s in examples/retinalchaos_validation.py


def test_the_compiled_rule_matches_the_fixed_point_reference_bit_for_bit():
    lattice = square_lattice(7, 9, SPACING_UM)
    base = model.RetinalChaosParams()
    params = [base, dataclasses.replace(base, sigma_pA_per_sqrt_ms=2.0, gaba_drift=0.3, I_app_pA=10.0)]
    assert_rule_matches_reference(rule, FixedSheet, model.quantise(params), model.tables(lattice), RANGES, SHIFTS,
                                  seed=2)


def test_the_fixed_point_scheme_follows_the_float_equations():
    """From one state, 300 steps (30 ms) of the fixed-point and the float scheme, same noise, stay within rounding."""
    lattice = square_lattice(6, 5, SPACING_UM)
    p = dataclasses.replace(model.RetinalChaosParams(), sigma_pA_per_sqrt_ms=1.0)
    tables = model.tables(lattice)
    start = random_fixed_state(np.random.default_rng(4), lattice.shape, RANGES, SHIFTS)
    key = int(retina_keys([6])[0])
    fixed = FixedSheet.from_params(p, tables["table"], lattice.shape, key=key)
    real = FloatSheet(p, lattice.shape, key=key)
    fixed.load(start)
    real.u = {name: values / 2.0**SHIFTS[name] for name, values in start.items()}
    for _ in range(300):
        fixed.step()
        real.step()
    got = fixed.as_float()
    assert np.max(np.abs(got["v"] - real.u["v"])) < 0.01  # mV
    for name in ("n", "c", "a", "b", "e", "i", "w"):
        assert np.max(np.abs(got[name] - real.u[name])) < 1e-4, name
    assert np.array_equal(fixed.active(), real.active())


def test_default_entry_points_run():
    p = model.PRESETS[model.DEFAULT_PRESET]
    sheet = FloatSheet(p)
    assert sheet.u["v"].shape == (model.AUTHORS_NODES, model.AUTHORS_NODES)
    sheet.step()
    assert sheet.t == 1 and not sheet.active().any()
    rows = model.quantise([p])
    assert rows.shape == (1, rule.N_PARAMS)
    lattice = square_lattice(3, 3, SPACING_UM)
    fixed = FixedSheet.from_params(p, model.tables(lattice)["table"], lattice.shape)
    fixed.step()
    assert fixed.t == 1 and set(fixed.state()) == set(rule.STATE_FIELDS)
