"""The price model: what a handle is worth, per market, with reasons and an interval.

    >>> valuer = handleval.load()                      # doctest: +SKIP  (models/price bundle)
    >>> valuer.value("pizza", platform="x")            # doctest: +SKIP  a Valuation

One module per stage: ``train`` (``train_price``), ``evaluate`` (metrics and plots), ``model_card``, ``predict``
(``load``, ``Valuer``, ``Valuation``), ``market`` (market encoding and intervals), ``premium`` (market rules:
own sales, floors, rare handles) and ``tiers`` (the name-tier check). Features are :mod:`handleval.features`;
the bundle format and tree scoring, shared with the account model, are :mod:`handleval.trees`.
"""

from __future__ import annotations

from typing import Any

from handleval.price.predict import Valuation, Valuer, load

__all__ = ["Valuation", "Valuer", "load", "train_price"]


def train_price(*args: Any, **kwargs: Any) -> Any:
    """See ``handleval.price.train.train_price`` (imported lazily: it pulls in training-only code)."""
    from handleval.price.train import train_price as _train

    return _train(*args, **kwargs)
