"""scikit-learn's estimator conventions, with scikit-learn imported only when they need it.

Importing ``sklearn`` at all costs ~1 s (its ``utils`` import ``scipy.stats``), a third of what ``handleval value``
took, and scoring uses none of it. So the transformers derive from :class:`Transformer` instead of
``BaseEstimator``: the parameters are read by scikit-learn's rule (the arguments of ``__init__``), and
``set_params`` and the tags are ``BaseEstimator``'s own methods, imported on first use. ``clone``, ``Pipeline``
and grid searches see the same parameters as with the base class (``tests/code/test_features_api.py``). Not
provided: the HTML repr of notebooks (they show the text repr), ``get_metadata_routing`` (no transformer here takes
metadata; scikit-learn routes none to an object without it), and outputs other than pandas.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any


def _base() -> Any:
    from sklearn.base import BaseEstimator

    return BaseEstimator


class Transformer:
    """A scikit-learn transformer by convention: parameters in ``__init__``, learned state in attributes ending in
    ``_``, ``fit``/``transform``/``get_feature_names_out`` defined by the subclass."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The parameters are the named arguments of ``__init__`` (scikit-learn's rule), sorted."""
        signature = inspect.signature(cls.__init__)
        return sorted(p.name for p in signature.parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Each parameter's value, read from the attribute of its name; with ``deep``, also the parameters of a
        value that has them, as ``<name>__<parameter>`` (scikit-learn's ``get_params``, which a cache key at load
        reads without importing scikit-learn)."""
        params = {name: getattr(self, name) for name in self._get_param_names()}
        if deep:
            for name, value in list(params.items()):
                if hasattr(value, "get_params") and not isinstance(value, type):
                    params.update((f"{name}__{k}", v) for k, v in value.get_params().items())
        return params

    def set_params(self, **params: Any) -> Any:
        return _base().set_params(self, **params)

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """``fit(X, y)`` then ``transform(X)``; ``fit_params`` (a Pipeline's ``sample_weight`` …) are not used."""
        return self.fit(X, y).transform(X)

    def set_output(self, *, transform: str | None = None) -> Any:
        """Outputs are pandas DataFrames already: ``"pandas"``, ``"default"`` and ``None`` are accepted as they are."""
        if transform not in (None, "default", "pandas"):
            raise ValueError(f"{type(self).__name__} returns pandas DataFrames; set_output(transform={transform!r}) "
                             "is not supported")
        return self

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import TransformerTags

        tags = _base().__sklearn_tags__(self)
        tags.transformer_tags = TransformerTags()
        return tags

    def __repr__(self) -> str:
        """The class and the parameters whose value differs from its default, as scikit-learn shows them."""
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params(deep=False).items() if repr(v) != repr(defaults[k])]
        return f"{type(self).__name__}({', '.join(changed)})"


def check_is_fitted(estimator: Any, attribute: str) -> None:
    """Raise scikit-learn's ``NotFittedError`` unless ``estimator`` has the learned ``attribute``."""
    if not hasattr(estimator, attribute):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
                             "appropriate arguments before using this estimator.")


def as_names(names: str | Iterable[str]) -> tuple[str, ...]:
    """A parameter of names as a tuple: one name given as a string is that name, not its letters."""
    return (names,) if isinstance(names, str) else tuple(names)
