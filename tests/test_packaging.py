"""The package as users get it: kernels and licence inside the wheel, its metadata, an import without CuPy."""

import os
import pytest
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_the_cuda_kernels_and_the_licence_and_builds_without_warnings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # e.g. setuptools' "`project.license` as a TOML table is deprecated"
    assert "deprecated" not in result.stdout + result.stderr
    (wheel,) = tmp_path.glob("wavesim-*.whl")
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    assert {"wavesim/kernels/__init__.py", "wavesim/kernels/random.py", "wavesim/kernels/amacrine.py",
            "wavesim/kernels/cpu.py", "wavesim/kernels/cuda.py", "wavesim/kernels/readout.py"} <= names
    (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    lines = archive.read(metadata).decode().splitlines()
    assert "License-Expression: MIT" in lines and "License-File: LICENSE" in lines
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert sum(line.startswith("Classifier: ") for line in lines) >= 5
    assert any(line.startswith("Project-URL: ") for line in lines)


def test_licence_citation_and_changelog_agree_with_the_package():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")
    yaml = pytest.importorskip("yaml")
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["version"] == project["version"]
    assert citation["license"] == project["license"] and citation["authors"] and citation["title"]
    assert f"## {project['version']}" in (ROOT / "CHANGELOG.md").read_text()
    trove = pytest.importorskip("trove_classifiers")
    assert set(project["classifiers"]) <= trove.classifiers
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]  # the SPDX expression says it


def test_import_needs_neither_cupy_nor_numba_cuda_and_auto_falls_back_to_cpu():
    code = (
        "import sys; sys.modules['cupy'] = None; sys.modules['numba.cuda'] = None\n"
        "import wavesim, wavesim.cli\n"
        "from wavesim.backends import resolve_backend\n"
        "assert resolve_backend('auto') == 'cpu'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_second_process_loads_the_cpu_loops_from_numba_s_disk_cache(tmp_path):
    """The loops are closures built from a model's rule; the cache is keyed by the rule's source, not by the
    process-specific pickles of the closure, so first-call compilation is paid once per machine."""
    script = (
        "import wavesim as ws\n"
        "from wavesim.backends.cpu_engine import cpu_runner\n"
        "sim = ws.Simulation(ws.preset('mouse'), [0], retina=ws.Retina(width_um=200, height_um=200), backend='cpu')\n"
        "sim.advance(2); sim.frame()\n"
        "r = cpu_runner(ws.get_model())\n"
        "print(sum(sum(getattr(r, k).stats.cache_hits.values()) for k in ('init_state', 'advance', 'readout')))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    hits = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
            .stdout.split()[-1] for _ in range(2)]
    assert hits == ["0", "3"]


def test_runners_still_compile_and_run_where_numba_s_caching_internals_have_moved(monkeypatch):
    """The on-disk cache relies on Numba internals; without them a runner compiles in-process after one warning."""
    import numpy as np

    from wavesim.kernels import cpu as cpu_kernels

    monkeypatch.setattr(cpu_kernels, "_rule_keyed_cache_class", lambda: (None, "FunctionCache is gone (simulated)"))
    cpu_kernels._warn_uncached.cache_clear()

    def double(x):
        return 2 * x

    with pytest.warns(RuntimeWarning, match=r"not cached on disk .*FunctionCache is gone \(simulated\)"):
        compiled = cpu_kernels._compiled(double, "some-rule-key", False)
    assert compiled(np.int64(21)) == 42
    cpu_kernels._warn_uncached.cache_clear()


def test_a_failing_cache_load_costs_the_cache_not_the_run(tmp_path, monkeypatch):
    """An error inside Numba's cache machinery (say, a changed index format) is caught: the runner compiles."""
    import numpy as np
    from numba.core.caching import FunctionCache

    from wavesim.kernels import cpu as cpu_kernels

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))

    def broken(self, sig, target_context):
        raise KeyError("index format changed")

    monkeypatch.setattr(FunctionCache, "load_overload", broken)
    cpu_kernels._warn_uncached.cache_clear()

    def triple(x):
        return 3 * x

    with pytest.warns(RuntimeWarning, match="loading a cached runner failed: KeyError"):
        compiled = cpu_kernels._compiled(triple, "another-rule-key", False)
        assert compiled(np.int64(5)) == 15
    cpu_kernels._warn_uncached.cache_clear()


def test_numba_is_bounded_above_by_the_release_its_caching_internals_were_tested_with():
    from importlib.metadata import requires, version

    from packaging.requirements import Requirement

    numba_req = next(Requirement(r) for r in requires("wavesim") if Requirement(r).name == "numba")
    assert any(spec.operator == "<" for spec in numba_req.specifier), "numba needs an upper bound"
    assert version("numba") in numba_req.specifier
