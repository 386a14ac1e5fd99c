"""Triage: which handles could come free, and what they are worth. Composes the two models.

``triage(df)`` flags each account (:mod:`handleval.accounts`), prices its screen name on X
(:mod:`handleval.price`) and ranks by ``expected_value = price_usd * p_releasable``, with guard rails that are
never overridden: verified accounts, protected ones with no last activity at their newest observation, accounts
created or known to be active within the policy window, notable ones (:data:`NOTABLE_FOLLOWERS`), a row of an
account listed under another handle and an older row of a handle whose newest observation could not be scored are
not releasable, and a self-declared bot is never releasable for being a bot.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from handleval._arrays import group_ids
from handleval.accounts.features import (
    COLUMN_ALIASES,
    _to_bool,
    _to_utc,
    canonical_columns,
    declares_automation,
    rounded_ids,
)
from handleval.accounts.flag import (
    FLAG_COLUMNS,
    NOW_BASIS,
    AccountFlagger,
    load_accounts,
    measuring_time,
    warn_without_observed_at,
)
from handleval.errors import HandlevalError, HandlevalWarning, InvalidHandle, check_prefix
from handleval.handles import disallowed_characters, handle_texts, pandas_text, parse_handle

#: A flag error about one of the times triage reads (the row's times are then not read as evidence).
_TIME_ERROR = r"created_at|observed_at|last_active_at|probe_created_at|crawled_at|updated|day-first"
#: Followers from which an account is notable: released by a person's decision, never by triage's rule (a famous
#: account without a check mark at P(bot) 0.3 outranked every real bot of a 50,000-account run).
NOTABLE_FOLLOWERS = 100_000
TRIAGE_COLUMNS = ["row", "screen_name", "price_usd", "risk", "p_releasable", "releasable", "expected_value",
                  "guard_rail", "triage_reasons"]


def _prices(valuer: Any, names: list[str], as_of: object = None) -> pd.DataFrame:
    """X prices of ``names`` as of ``as_of`` (default: today), by any valuer with ``value_many`` (a stand-in may take
    no ``platform`` or ``as_of``)."""
    import inspect

    given = {k: v for k, v in {"platform": "x", "as_of": as_of}.items() if v is not None}
    try:
        accepted = inspect.signature(valuer.value_many).parameters
    except (TypeError, ValueError):  # no signature to read (a compiled callable): the arguments as they are
        accepted = {}
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()) and accepted:
        given = {k: v for k, v in given.items() if k in accepted}
    priced = valuer.value_many(names, **given)
    if not isinstance(priced, pd.DataFrame) or "price_usd" not in priced or len(priced) != len(names):
        raise HandlevalError("the valuer must return a DataFrame with `price_usd`, one row per screen name in order")
    return priced.reset_index(drop=True)


def check_triage_columns(columns: Any, prefix: str = "") -> None:
    """Raise :class:`~handleval.errors.ColumnCollisionError` when triage's output columns (named ``prefix + name``)
    would overwrite input columns."""
    from handleval.batch import check_output_columns

    names = [prefix + c for c in ["row", *FLAG_COLUMNS, *TRIAGE_COLUMNS[2:]]]
    check_output_columns(columns, names, whose="triage's output")


def triage(accounts: pd.DataFrame, valuer: Any = None, flagger: AccountFlagger | None = None,
           now: pd.Timestamp | str | None = None, *, prefix: str = "",
           input_errors: list[str | None] | None = None) -> pd.DataFrame:
    """Flag ``accounts``, price each screen name on X, and rank by ``expected_value = price_usd *
    p_releasable`` (highest first; rows that cannot be priced or flagged last, with ``error``). ``row`` is
    each account's position in the input and each row keeps its index label, so nothing is lost by sorting
    (with a unique index, ``accounts.join(ranked[["expected_value"]])`` puts each value on its own account;
    else sort by ``row``).

    ``p_releasable = 1 - (1 - p_bot') * (1 - p_dormant)`` with ``p_bot' = p_bot - p_self_declared`` (0 for a
    self-declared bot): the handle can come free if the account is removed as a bot or purged as inactive (an
    assumption about platform policy, not a measured rate); it ranks.
    ``releasable`` is what the flags say: the account is flagged a bot (not a self-declared one) or dormant, and no
    guard rail holds (NA where the account or its handle could not be scored, unless a guard rail holds). Guard
    rails set both to 0/False for verified accounts (``verified``, or an X API v2 ``verified_type`` other than
    ``none``), protected accounts with no last activity at their newest observation, accounts created or known to be
    active within the policy window and accounts with :data:`NOTABLE_FOLLOWERS` or more. A handle listed more than
    once (any case, with or without '@', or as a profile address) is one account: its newest observation that could
    be scored counts (then the first in input order), the others get 0, its age and activity are judged at that
    newest observation (with the latest activity any of its rows gives), and a guard rail on any of its rows holds
    for all (not a malformed CSV row's). A row of an account (``id_str`` or ``id``) listed under another handle
    observed later, at the same time or at no known time, and an older row of a handle whose newest observation
    could not be scored, are never releasable.
    ``risk`` is the price model's (``could impersonate …``).

    The input's columns come back unchanged, after ``prefix + "row"``; the other output columns are named
    ``prefix + name`` after them, and
    :class:`~handleval.errors.ColumnCollisionError` names any input column they would overwrite. Rows with an
    ``input_errors`` entry (a ragged CSV row) are not scored: they carry that error. Called in a loop, pass
    ``valuer`` and ``flagger`` loaded once: without them each call loads both bundles again (about a second)."""
    if not isinstance(accounts, pd.DataFrame):
        raise TypeError(f"triage takes a DataFrame of accounts (a 'screen_name' column and the profile columns "
                        f"`handleval flag --help` lists), not a {type(accounts).__name__}")
    check_prefix(prefix)
    for name, given, method in (("valuer", valuer, "value_many"), ("flagger", flagger, "flag_columns")):
        if given is not None and not callable(getattr(given, method, None)):  # a path was an AttributeError
            raise TypeError(f"triage's {name} is an object with {method}() (handleval.load"
                            f"{'' if name == 'valuer' else '_accounts'}() gives one), not {type(given).__name__}")
    if input_errors is not None and len(input_errors) != len(accounts):
        raise ValueError(f"input_errors has {len(input_errors)} entries for {len(accounts)} accounts: one per row")
    check_triage_columns(accounts.columns, prefix)
    if now is None:  # a time given is the one they are measured at
        warn_without_observed_at(accounts.columns)
    flagger = flagger or load_accounts()
    from handleval.price.predict import default_as_of
    if valuer is None:
        from handleval.price.predict import load as load_valuer

        valuer = load_valuer()
    index = accounts.index
    accounts = accounts.reset_index(drop=True)
    flagged = flagger.flag_columns(accounts, now=now)
    bad = np.zeros(len(accounts), dtype=bool)
    if input_errors is not None:
        bad = np.array([e is not None for e in input_errors], dtype=bool)
        for col in FLAG_COLUMNS:  # every output of a row not scored is empty, as flag leaves it
            if pd.api.types.is_float_dtype(flagged[col]):
                flagged.loc[bad, col] = np.nan
            elif col != "error":
                flagged[col] = flagged[col].astype(object).where(~bad, None)
        flagged.loc[bad, "error"] = [e for e in input_errors if e is not None]
    canonical = canonical_columns(accounts)[0]
    screen_names = canonical["screen_name"]  # v1.1 screen_name or v2 username
    # a spreadsheet's quotes around a name ('"lenirvana666"', Kaggle 2017) are no part of it: X names hold none
    names = pandas_text(handle_texts(screen_names)).fillna("").str.strip().str.strip('"').str.lstrip("@").tolist()
    # priced as of the time the accounts are measured at (a triage of 2016 priced as of today), as pricing reads it
    # (a date alone is the end of that day); a time later today is priced as of today
    as_of = None if now is None or measuring_time(now).tz_localize(None) >= default_as_of() else now
    priced = _prices(valuer, names, as_of)
    price = pd.to_numeric(priced["price_usd"], errors="coerce").to_numpy(dtype=float, copy=True)
    price[bad] = np.nan
    price_error = priced["error"] if "error" in priced else pd.Series(pd.NA, index=priced.index)

    p_bot = flagged["p_bot"].to_numpy(dtype=float)
    p_dorm = flagged["p_dormant"].to_numpy(dtype=float)
    # A self-declared (benign) bot is never releasable for being a bot: only the other bot types count. Self-declared
    # by the type model, or by its own profile ('Automated account'): the model missed most of a held-out set's.
    p_self = flagged["p_self_declared"].to_numpy(dtype=float)
    p_bot_release = np.clip(p_bot - p_self, 0.0, 1.0)
    declared = declares_automation(canonical)
    self_declared = (flagged["bot_type"] == "self_declared").fillna(False).to_numpy(dtype=bool) | declared
    p_bot_release[self_declared] = 0.0
    p_rel = 1.0 - (1.0 - p_bot_release) * (1.0 - p_dorm)
    # One handle is one account: listed again (any case, with or without '@', as a profile address), its newest
    # observation that could be scored counts and speaks for the others (a 2019 snapshot of a dormant account does
    # not outvote this year's busy one), and a guard rail on any of its rows holds for all of them (not a ragged
    # row's: its 'verified' may be another field). Age and activity are judged at the handle's newest observation.
    keys = np.array([_handle_key(n) for n in names], dtype=object)
    # a screen name X would not show as written ('ni\u200dke', full-width letters) is no listing of the handle it
    # reads as: an account's data holds X's own spelling, so such a row is an error, never merged with that handle
    disallowed = [disallowed_characters(n, "x") if k else None for n, k in zip(names, keys, strict=True)]
    unreadable = np.array([d is not None for d in disallowed], dtype=bool)
    if unreadable.any():
        price_error = price_error.astype(object).copy()
        for i in np.flatnonzero(unreadable):
            price_error[i] = (f"screen name written with characters X does not allow ({disallowed[i]}): no X "
                              f"spelling of '{keys[i]}', not ranked")
        price[unreadable] = np.nan
        keys[unreadable] = ""
    ids = group_ids(keys)
    scorable = ~np.isnan(price * p_rel)
    n_handles = int(ids.max(initial=-1)) + 1
    policy = flagger.policy_days
    # times from every row whose times could be read (a count's error does not hide its activity); not a ragged
    # row's, whose fields may have shifted
    time_error = flagged["error"].astype("string").str.contains(_TIME_ERROR).fillna(False).to_numpy(dtype=bool)
    # each observation as given, to the millisecond (measured_at is written to the second); NaT where none was given
    observed = _times(canonical, "observed_at")
    at_now = (flagged["measured_at_basis"].astype("string").fillna("") == NOW_BASIS).to_numpy(dtype=bool)
    days, own_days, age, newest = _days_at_newest(ids, keys != "", flagged, canonical, observed, at_now,
                                                  usable=~bad & ~time_error)
    # protected at the handle's newest observation, which gives no last activity (posts from before it went private
    # are no sign of what it does now)
    protected = _yes(canonical, "protected") & (newest | at_now) & np.isnan(own_days)  # undated: it may be newest
    followers = pd.to_numeric(canonical.get("followers_count"), errors="coerce")
    notable = (np.nan_to_num(np.asarray(followers, dtype=float)) >= NOTABLE_FOLLOWERS) if len(canonical) else \
        np.zeros(0, dtype=bool)
    rules = [
        (_verified(accounts), "verified account: never releasable"),
        (protected & ~bad, "protected account with no last activity given: its posts cannot be seen; never "
                           "releasable"),
        (age < policy, f"created within the {policy}-day policy window: never releasable"),
        # a row that shows the activity; its handle's other rows are held by it, as by any rail
        ((own_days <= policy) & (days <= policy), f"active within the {policy}-day policy window: never releasable"),
        (notable & ~bad, f"followed by {NOTABLE_FOLLOWERS:,} or more: a person decides on a notable account, not "
                         "triage"),
    ]
    guard = np.select([on for on, _ in rules], [why for _, why in rules], "").astype(object)
    guarded = guard != ""
    # the time each row was observed, to the millisecond as the rails read it; a row measured "now" because it gave
    # no observed_at was seen at no known time
    measured = observed.fillna(pd.to_datetime(flagged["measured_at"], utc=True, errors="coerce")).where(~at_now)
    newest_first = -measured.to_numpy(dtype="datetime64[ns]").astype(np.int64)  # NaT is the oldest
    newest_first[measured.isna().to_numpy()] = np.iinfo(np.int64).max
    order = np.lexsort((np.arange(len(ids)), newest_first, ~scorable))  # scorable, newest, then in input order
    handles, at = np.unique(ids[order], return_index=True)  # each handle's first row in that order
    first_of = np.zeros(n_handles, dtype=np.int64)
    first_of[handles] = order[at]
    first = first_of[ids]
    rail_of = np.full(n_handles, None, dtype=object)
    rail_row_of = np.zeros(n_handles, dtype=np.int64)
    on_rail = np.flatnonzero(guarded & ~bad)  # a row flagging could not score is still verified
    handles, at = np.unique(ids[on_rail], return_index=True)  # each handle's first guarded scorable row
    rail_of[handles], rail_row_of[handles] = guard[on_rail[at]], on_rail[at]
    rail, rail_row = rail_of[ids], rail_row_of[ids]
    named = keys != ""
    again = (first != np.arange(len(names))) & named
    held = pd.notna(rail) & ~guarded & named
    guard[held] = [f"{r} (row {f} of the same handle)" for r, f in zip(rail[held], rail_row[held], strict=True)]
    guard[again & ~guarded & ~held] = [f"the same handle as row {f}: counted once" for f in
                                       first[again & ~guarded & ~held]]
    # an account's older row under a name it has since left is no account's holding of that name now; nor does an
    # older row speak for a handle whose newest observation could not be scored
    for stale in (_renamed_since(accounts, keys, names, observed, ~bad),
                  _behind_an_unscored_newest(ids, keys != "", observed, ~bad, flagged["error"].isna().to_numpy())):
        moved = (stale != "") & ~guarded & ~held
        guard[moved] = stale[moved]
        held |= moved
    rails = guarded | held  # never releasable, whatever could be scored
    guarded = rails | again
    p_rel = np.where(guarded & ~np.isnan(p_rel), 0.0, p_rel)
    # releasable as the flags say (a bot at the flag threshold, not a self-declared one, or dormant): P(releasable)
    # ranks, it does not decide (a P(bot) of 0.50 is "unknown" at the balanced calibration, not half a bot)
    flagged_out = (flagged["bot"].fillna(False).to_numpy(dtype=bool) & ~self_declared) \
        | flagged["dormant"].fillna(False).to_numpy(dtype=bool)
    expected = price * p_rel
    releasable = pd.array(np.where(np.isnan(expected) & ~rails, None, flagged_out & ~guarded), dtype="boolean")

    error = flagged["error"].astype("string")
    perr = price_error.astype("string").reset_index(drop=True)
    error = error.fillna(perr.where(perr.notna() & (perr != ""), pd.NA).map(
        lambda e: f"price: {e}" if isinstance(e, str) else e).astype("string"))
    why = []
    for i in range(len(flagged)):
        if guard[i]:
            why.append(guard[i])
        elif np.isnan(expected[i]):
            why.append("")
        else:
            if declared[i] or self_declared[i]:
                counted = (", counted 0: " + ("its profile says it is automated" if declared[i] else
                                             "its type is self-declared") + ", not released for being a bot")
            elif p_bot_release[i] < p_bot[i] - 0.05:
                counted = f", counted {p_bot_release[i]:.2f}: less P(self-declared bot) {p_self[i]:.2f}"
            else:
                counted = ""
            why.append(f"${price[i]:,.0f} x P(releasable) {p_rel[i]:.2f} (P(bot) {p_bot[i]:.2f}{counted}, "
                       f"P(dormant) {p_dorm[i]:.2f}"
                       + (" estimated" if flagged.at[i, "dormancy_basis"] == "estimate" else "") + ")")
    outputs = {c: flagged[c].to_numpy() for c in FLAG_COLUMNS if c != "error"}
    risk = priced["risk"].to_numpy(dtype=object).copy() if "risk" in priced else np.full(len(price), None)
    risk[bad] = None
    outputs.update({"price_usd": price, "risk": risk, "p_releasable": np.round(p_rel, 4), "releasable": releasable,
                    "expected_value": np.round(expected, 2), "guard_rail": guard,
                    "triage_reasons": np.array(why, dtype=object),
                    "error": error.to_numpy()})
    out = accounts.set_axis(index).copy()
    out.insert(0, prefix + "row", np.arange(len(accounts)))
    for name, values in outputs.items():
        out[prefix + name] = values
    return out.sort_values([prefix + "expected_value", prefix + "row"], ascending=[False, True],
                           na_position="last", kind="stable")


def _handle_key(name: str) -> str:
    """What makes two listings one handle: its X name as parsed (``https://x.com/Jack``, ``@jack`` and ``jack`` are
    one), else its text in lower case (a name X would refuse)."""
    try:
        return parse_handle(name, "x").name
    except InvalidHandle:
        return name.lower()


def _times(canonical: pd.DataFrame, name: str) -> pd.Series:
    """The column ``name`` of the canonical accounts as UTC times (NaT where missing or unread, all NaT without it)."""
    return _to_utc(canonical[name]) if name in canonical else \
        pd.Series(pd.NaT, index=canonical.index, dtype="datetime64[ns, UTC]")


def _days_at_newest(ids: np.ndarray, named: np.ndarray, flagged: pd.DataFrame, canonical: pd.DataFrame,
                    observed: pd.Series, at_now: np.ndarray, usable: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: days inactive at its handle's newest usable observation from the latest activity any of its usable
    rows gives, its own days inactive, the account's age (days) at that observation (NaN where unknown), and
    whether the row is that newest observation. A row without a handle name speaks for itself alone."""
    def days_of(times: pd.Series) -> np.ndarray:
        out = times.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float) / 86400e9
        out[times.isna().to_numpy()] = np.nan
        return np.where(usable, out, np.nan)

    seen = days_of(observed.fillna(pd.to_datetime(flagged["measured_at"], utc=True, errors="coerce")))  # or now
    last, born = days_of(_times(canonical, "last_active_at")), days_of(_times(canonical, "created_at"))
    own = np.maximum(seen - last, 0.0)  # active up to a day after it was seen (time zones): 0 days, as flag says
    groups = np.where(named, ids, ids.max(initial=-1) + 1 + np.arange(len(ids)))  # unnamed: a group each

    def group_max(values: np.ndarray) -> np.ndarray:
        return pd.Series(values).groupby(groups).transform("max").to_numpy()

    # a row measured now for want of an observed_at was seen at no known time: newest only for want of another
    newest = group_max(np.where(at_now, np.nan, seen))
    newest = np.where(np.isnan(newest), group_max(seen), newest)
    return np.maximum(newest - group_max(last), 0.0), own, newest - born, seen == newest


def _renamed_since(accounts: pd.DataFrame, keys: np.ndarray, names: list[str], measured: pd.Series,
                   usable: np.ndarray) -> np.ndarray:
    """Per row, why it holds no name of its own when the same account (``id_str`` or ``id``, any case) is listed
    under another handle: observed later (a 2020 row of 'pizza' is no holding of it once the account is
    'pizza_fan'), at the same time, or this row at no known time (no observed_at); "" otherwise."""
    stale = np.full(len(keys), "", dtype=object)
    column = next((c for want in ("id_str", "id") for c in accounts.columns if str(c).strip().lower() == want),
                  None)  # id_str first: the exact text of an id a float column would round
    if column is None:
        return stale
    ident = handle_texts(accounts[column]).astype("string").str.strip()
    rounded = rounded_ids(ident)
    if rounded.any():  # 8.41E+17 is many accounts: it tells no renamed one (it held different accounts as one)
        warnings.warn(f"{int(rounded.sum()):,} rows have a rounded {column} ({ident[rounded].iloc[0]}: a spreadsheet "
                      "keeps 15 digits at most, and this one fewer than 10): not used to tell an account listed "
                      "under two names; export ids as text", HandlevalWarning, stacklevel=2)
    ident = ident.mask(pd.Series(rounded, index=ident.index)).to_numpy(dtype=object, na_value="")
    rows = np.flatnonzero(usable & (ident != "") & (keys != ""))
    seen = pd.DataFrame({"id": ident[rows], "key": keys[rows], "seen": measured.to_numpy()[rows], "row": rows})
    seen = seen[seen.groupby("id")["key"].transform("nunique").to_numpy() > 1]  # accounts listed under two names
    if seen.empty:
        return stale
    # each account's names, newest first (a row seen at no known time last), the first row of each name
    order = seen.sort_values(["id", "seen", "row"], ascending=[True, False, True], na_position="last")
    names_of = order.drop_duplicates(["id", "key"])
    rank = names_of.groupby("id").cumcount().to_numpy()
    first = names_of[rank == 0].set_index("id")
    second = names_of[rank == 1].set_index("id")
    latest = seen["id"].map(seen.groupby("id")["seen"].max())
    at_latest = seen["seen"].notna() & (seen["seen"] == latest)
    names_at_latest = seen["id"].map(seen[at_latest].groupby("id")["key"].nunique()).fillna(0)
    holder = seen["id"].map(seen[at_latest].groupby("id")["key"].first())
    # an undated row under another name may be the newest: then no name is known to be held
    undated_other = seen["seen"].isna() & (seen["key"] != holder)
    sure = (names_at_latest == 1) & ~seen["id"].isin(seen.loc[undated_other, "id"])
    held = seen[~(sure & (seen["key"] == holder))]  # all but the rows of the one name the account holds
    top_key, top_row = held["id"].map(first["key"]), held["id"].map(first["row"])
    other = np.where(held["key"].to_numpy() != top_key.to_numpy(), top_row, held["id"].map(second["row"]))
    other_seen = pd.Series(np.asarray(other, dtype=np.int64)).map(seen.set_index("row")["seen"]).to_numpy()
    how = np.select([held["seen"].isna().to_numpy(), pd.isna(other_seen), at_latest[held.index].to_numpy()],
                    ["this row was seen at no known time (no observed_at)", "seen at no known time (no observed_at)",
                     "seen at the same time"], "observed later")
    stale[held["row"].to_numpy()] = [
        f"{'renamed since' if h == 'observed later' else 'two names'}: the same account ({column} {i}) is "
        f"'{names[int(o)]}' in row {int(o)}, {h}; never releasable by this row"
        for i, o, h in zip(held["id"], other, how, strict=True)]
    return stale


def _behind_an_unscored_newest(ids: np.ndarray, named: np.ndarray, observed: pd.Series, usable: np.ndarray,
                               scored: np.ndarray) -> np.ndarray:
    """Per row, why it does not speak for its handle when the handle's newest observation (a later time than
    this row's, or this row seen at no known time) could not be scored; "" otherwise (a newest row with an error
    handed its handle's decision to a 2020 row)."""
    stale = np.full(len(ids), "", dtype=object)
    rows = np.flatnonzero(usable & named)
    frame = pd.DataFrame({"handle": ids[rows], "seen": observed.to_numpy()[rows], "scored": scored[rows],
                          "row": rows})
    latest = frame["handle"].map(frame.groupby("handle")["seen"].max())
    at_latest = frame["seen"].notna() & (frame["seen"] == latest)
    unscored = frame[at_latest].groupby("handle")["scored"].any()
    newest_row = frame[at_latest].groupby("handle")["row"].first()
    behind = frame[~at_latest & frame["scored"] & frame["handle"].isin(unscored.index[~unscored])]  # else NA
    stale[behind["row"].to_numpy()] = [f"its handle's newest observation (row {int(k)}) could not be scored; never "
                                       "releasable by this row" for k in behind["handle"].map(newest_row)]
    return stale


def _yes(canonical: pd.DataFrame, column: str) -> np.ndarray:
    """Where a yes/no column of the canonical input says yes (False where it is absent or blank)."""
    if column not in canonical:
        return np.zeros(len(canonical), dtype=bool)
    return _to_bool(canonical[column]).fillna(False).to_numpy(dtype=bool)


def _verified(flagged: pd.DataFrame) -> np.ndarray:
    """``verified`` true, or an X API v2 ``verified_type`` other than ``none`` (blue, business, government: a paid
    or an official account is no abandoned one)."""
    verified = np.zeros(len(flagged), dtype=bool)
    for column in COLUMN_ALIASES["verified"]:  # 'is_blue_verified' too
        if column in flagged:
            verified |= _to_bool(flagged[column]).fillna(False).to_numpy(dtype=bool)
    if "verified_type" in flagged:
        kind = flagged["verified_type"].astype("string").str.strip().str.lower().fillna("")
        verified |= ~kind.isin(["", "none", "false", "null"]).to_numpy(dtype=bool)
    return verified
