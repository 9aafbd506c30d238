"""The package as users get it: kernels inside the wheel, an import without CuPy."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_the_cuda_kernels(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("wavesim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"wavesim/kernels/__init__.py", "wavesim/kernels/random.py", "wavesim/kernels/amacrine.py",
            "wavesim/kernels/cpu.py", "wavesim/kernels/cuda.py", "wavesim/kernels/readout.py"} <= names


def test_import_needs_neither_cupy_nor_numba_cuda_and_auto_falls_back_to_cpu():
    code = (
        "import sys; sys.modules['cupy'] = None; sys.modules['numba.cuda'] = None\n"
        "import wavesim, wavesim.cli\n"
        "from wavesim.backends import resolve_backend\n"
        "assert resolve_backend('auto') == 'cpu'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
