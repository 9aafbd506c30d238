"""Numba CUDA kernels of wavesim, installed as ``wavesim.kernels``.

Importing this package imports numba-cuda; wavesim imports it only when the
``cuda`` backend is used.
"""
