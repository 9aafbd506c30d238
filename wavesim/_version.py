"""The installed wavesim's version, for provenance; lower layers import it from here, not the package root."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wavesim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
