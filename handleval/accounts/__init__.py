"""Account flags: is the account holding a handle a bot, is it dormant, and what could be released.

    >>> flagger = handleval.load_accounts()            # doctest: +SKIP  (models/accounts bundle)
    >>> flagger.flag(df)                               # doctest: +SKIP  same rows, same order, + flags

Triage (these flags × the price model) is :mod:`handleval.release`. Training lives in
``handleval.accounts.train`` (``train_accounts``); lightgbm and matplotlib load on first use.
The canonical *data* table is ``handleval.data.accounts.load_account_table`` (a different thing from
``load_accounts``, which loads the trained bundle).
"""

from __future__ import annotations

from typing import Any

from handleval.accounts.features import AccountFeaturizer, prepare_accounts
from handleval.accounts.flag import FLAG_COLUMNS, AccountFlagger, load_accounts

__all__ = ["FLAG_COLUMNS", "AccountFeaturizer", "AccountFlagger", "load_accounts", "prepare_accounts",
           "train_accounts"]


def train_accounts(*args: Any, **kwargs: Any) -> Any:
    """See ``handleval.accounts.train.train_accounts`` (imported lazily: it pulls in training-only code)."""
    from handleval.accounts.train import train_accounts as _train

    return _train(*args, **kwargs)
