"""tsbrunbook: a terminal runbook assistant for on-call engineers running Tetrate Service Bridge."""

__version__ = "0.1.0"

# Before anything creates a dataclass: their generated methods' bytecode is cached like a .pyc.
from ._dataclass_bytecode import install as _install_dataclass_bytecode  # noqa: E402

_install_dataclass_bytecode()
