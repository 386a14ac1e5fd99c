"""handleval: price social-media handles and flag bot-controlled or dormant accounts.

Importing the package is cheap: heavy dependencies (lightgbm, mlflow, dask, matplotlib) load on first use.

    >>> import handleval
    >>> handleval.load().value("pizza", platform="x")          # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from handleval.errors import BundleError, DataDirNotFound, DataFormatError, HandlevalError, InvalidHandle
from handleval.handles import Handle, normalise, parse_handle

__version__ = "0.1.0"

# Public names that live in heavier modules, resolved on first access (PEP 562).
_LAZY = {
    "load": "handleval.price.predict",
    "Valuer": "handleval.price.predict",
    "Valuation": "handleval.price.predict",
    "load_accounts": "handleval.accounts",
    "triage": "handleval.release",
    "HandleFeaturizer": "handleval.features",
}

__all__ = [
    "BundleError",
    "DataDirNotFound",
    "DataFormatError",
    "Handle",
    "HandlevalError",
    "InvalidHandle",
    "__version__",
    "normalise",
    "parse_handle",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'handleval' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names and the lazy ones: tab completion and ``dir(handleval)`` show ``load`` and ``triage``."""
    return sorted({*globals(), *_LAZY})
