"""Backend conformance: :class:`wavesim.testing.ConformanceSuite` for every registered model on every engine.

Run here for ``cpu`` and ``cpu-events``, and for ``cuda`` where a real GPU is usable (skipped
otherwise). ``tests/kernels/test_cuda_kernels.py`` runs this module again in a
process with Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, blocks
shrunk to 8 x 1 threads so that tiny lattices span several blocks), where
``cuda`` is usable and ``WAVESIM_CONFORMANCE_BACKENDS=cuda`` skips the rest.
"""

import wavesim as ws
from wavesim.testing import ConformanceSuite


class TestAmacrineConformance(ConformanceSuite):
    model = "amacrine"

    @staticmethod
    def active_params():
        return [ws.AmacrineParams(P_s=3.0, D_s=0.2, spont_rate_hz=0.5),
                ws.AmacrineParams(P_s=5.0, H2=0.3, D_s=0.15, tau_K_s=0.05, spont_rate_hz=0.8)]


class TestDirectionalConformance(ConformanceSuite):
    model = "directional"

    @staticmethod
    def active_params():
        # Steps of 0.025 s as the amacrine model's, short refractoriness so that cells fire again within the test:
        # one wave from step 0 (with the released script's quirks) and a continuous Poisson-started sheet.
        return [
            ws.DirectionalParams(dt_s=0.025, q=5.0, t_wave_s=0.025, tau_off_s=0.05, tau_iei_s=0.1, angles="unwrapped",
                                 inhibition_rounding="truncate", initiation_margin_cells=1),
            ws.DirectionalParams(dt_s=0.025, q=3.0, t_wave_s=0.05, tau_on_s=0.025, tau_off_s=0.1, tau_iei_s=0.05,
                                 directionality="undirectional", mode="continuous", start_rate_hz=1.0),
        ]


def _square(spacing_um):
    """The suite's rectangle on a model's square lattice: 13 x 7 cells of 31.75 um, 20 x 12 of 20 um."""
    return {"rectangle": ws.Retina(width_um=420, height_um=250, spacing_um=spacing_um, dendrite_radius_um=spacing_um)}


class TestLansdell2014Conformance(ConformanceSuite):
    model = "lansdell2014"
    retinas = _square(ws.get_model("lansdell2014").run.retina.spacing_um)

    @staticmethod
    def active_params():
        # Noise events 10 and 5 times a second per cell: cells cross -60 mV within the first steps, and waves spread.
        return [ws.Lansdell2014Params(noise_rate_hz=10.0, noise_period_s=0.01),
                ws.Lansdell2014Params(noise_rate_hz=5.0, noise_period_s=0.02, g_ACh_nS=4.0)]


class TestRetinalChaosConformance(ConformanceSuite):
    model = "retinalchaos"
    # The dynamics do not depend on the spacing (diffusion is in cells^2/ms): the Lansdell sheet's 13 x 7 cells.
    retinas = _square(ws.get_model("lansdell2014").run.retina.spacing_um)

    @staticmethod
    def active_params():
        # Steps of 1 ms (their 0.1 ms would cost the CUDA simulator ten times as many launches), with the K gating
        # and capacitance slowed to keep the explicit step within its relations; calcium thresholds just above the
        # resting 0.085 and strong noise (and a depolarising current): cells cross a few steps in, some at a time.
        slow = dict(dt_s=1e-3, tau_n_ms=20.0, C_m_pF=30.0)
        return [ws.RetinalChaosParams(**slow, c_threshold=0.085, sigma_pA_per_sqrt_ms=10.0),
                ws.RetinalChaosParams(**slow, c_threshold=0.0851, sigma_pA_per_sqrt_ms=5.0, I_app_pA=30.0)]


def test_every_registered_model_has_a_conformance_suite():
    suites = {cls.model for cls in ConformanceSuite.__subclasses__()}
    assert set(ws.list_models()) <= suites, "add a ConformanceSuite subclass for every registered model"
