"""Run under NUMBA_ENABLE_CUDASIM=1: the continuous models' CUDA kernels (kernels/pull_cuda.py) against the CPU runner.

Both models, two retinas each from random states, a few steps on a tiny
sheet: the states must be equal bit for bit. Prints ``OK`` or raises.
"""

import os
import sys
import warnings

import numpy as np

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", "run me with NUMBA_ENABLE_CUDASIM=1"
warnings.simplefilter("ignore", RuntimeWarning)  # uint64 hash overflow is intended

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "models"))
from continuous_helpers import random_fixed_state, rule_sheets, set_state, square_lattice  # noqa: E402
from test_model_lansdell2014 import RANGES as LANSDELL_RANGES, SHIFTS as LANSDELL_SHIFTS  # noqa: E402
from test_model_retinalchaos import RANGES as CHAOS_RANGES, SHIFTS as CHAOS_SHIFTS  # noqa: E402

from wavesim.kernels import lansdell2014, retinalchaos  # noqa: E402
from wavesim.kernels.pull_cuda import build_pull_cuda_kernels, run_on_device  # noqa: E402
from wavesim.kernels.random import retina_keys  # noqa: E402
from wavesim.models import lansdell2014 as lansdell_model, retinalchaos as chaos_model  # noqa: E402

N_STEPS = 6
cases = [
    (lansdell2014, lansdell_model, [lansdell_model.PRESETS["ml_sahp"],
                                    lansdell_model.Lansdell2014Params(noise_rate_hz=5.0, noise_period_s=0.002)],
     lansdell_model.AUTHORS_SPACING_UM, LANSDELL_RANGES, LANSDELL_SHIFTS),
    (retinalchaos, chaos_model, [chaos_model.PRESETS["default"],
                                 chaos_model.RetinalChaosParams(sigma_pA_per_sqrt_ms=3.0, gaba_drift=0.4)],
     20.0, CHAOS_RANGES, CHAOS_SHIFTS),
]
for rule, model, params, spacing, ranges, shifts in cases:
    lattice = square_lattice(3, 5, spacing)
    tables = model.tables(lattice)
    prows = model.quantise(params)
    seeds = [1, 2]
    cpu = rule_sheets(rule, prows, seeds, tables)
    rng = np.random.default_rng(8)
    for b in range(len(seeds)):
        set_state(cpu, b, rule.STATE_FIELDS, random_fixed_state(rng, lattice.shape, ranges, shifts))
    start = cpu.state.copy()
    cpu.advance(N_STEPS)
    gpu = run_on_device(build_pull_cuda_kernels(rule.build_rule), *lattice.shape, prows, retina_keys(seeds), tables,
                        len(rule.STATE_FIELDS), N_STEPS, state0=start)
    assert np.array_equal(gpu, cpu.state), rule.__name__
    assert not np.array_equal(start, cpu.state)
print("OK")
