"""Flag accounts (bot, dormant, reasons) with a trained bundle.

``load_accounts()`` reads ``models/accounts`` (sha256-verified, no pickle) and returns an ``AccountFlagger``;
``flag(df)`` returns every input row, in order, with the ``FLAG_COLUMNS`` appended (a bot type and per-type
scores, the bot and dormancy flags, the time each account was measured at, reasons, error). Input columns are
never overwritten: a name clash is refused with the list of clashes, and ``prefix`` renames the outputs.
Triage (these flags × the price model) lives in :mod:`handleval.release`.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from handleval._dates import given_time
from handleval.accounts.features import (
    ACCOUNT_INPUT_NAMES,
    AGE_AT_OBSERVATION,
    COLUMN_ALIASES,
    FEATURE_INPUTS,
    FEATURES,
    GUARD_COLUMNS,
    REQUIRED_COLUMNS,
    compute_features,
    missing_required,
    prepare_accounts,
    resolve_columns,
)
from handleval.config import MODELS_DIR
from handleval.data.accounts import BOT_TYPES  # the type model's class order
from handleval.errors import (
    BundleError,
    ColumnCollisionError,
    DataFormatError,
    HandlevalWarning,
    case_hint,
    check_prefix,
    check_unique_columns,
    output_collisions,
)

#: The accounts bundle: its manifest kind and model files (written by :mod:`handleval.accounts.train`).
BUNDLE_KIND = "accounts"
BOT_MODEL_FILE = "model.txt"
DORMANCY_MODEL_FILE = "dormancy.txt"
TYPE_MODEL_FILE = "types.txt"


def apply_calibration(cal: dict[str, Any], p: np.ndarray) -> np.ndarray:
    """A manifest's calibration (Platt on the logit, or isotonic knots) applied to raw scores: here, so that
    flagging reads a bundle without importing the training module that wrote it."""
    p = np.asarray(p, dtype=float)
    if cal["method"] == "platt":
        return 1.0 / (1.0 + np.exp(-(cal["a"] * logit(p) + cal["b"])))
    if cal["method"] == "isotonic":
        return np.interp(p, np.asarray(cal["x"]), np.asarray(cal["y"]))
    raise ValueError(f"unknown calibration method {cal['method']!r}")


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


#: ``measured_at_basis`` of a row that gave no observation time: measured at the run's "now".
NOW_BASIS = "now (no observed_at given)"
FLAG_COLUMNS = ["p_bot", "bot", "bot_type", *(f"p_{t}" for t in BOT_TYPES), "days_inactive", "p_dormant", "dormant",
                "dormancy_basis", "measured_at", "measured_at_basis", "account_status", "reasons", "error"]


def output_names(prefix: str = "") -> list[str]:
    """flag's output column names with ``prefix`` (``error`` too, as predict and triage name theirs)."""
    return [f"{prefix}{c}" for c in FLAG_COLUMNS]


def check_required(columns: Any, where: str = "the accounts input") -> None:
    """Raise (one message, before any row is scored) when a column the bot model cannot do without is missing
    under every name it is accepted by (flag and triage alike), or when a column the guard rails read is written
    otherwise in case (:data:`GUARD_COLUMNS`). ``where``: the input, as the message names it."""
    for column in map(str, columns):
        meant = next((g for g in GUARD_COLUMNS if column != g and column.strip().lower() == g.lower()), None)
        if meant:  # refused even beside the exact name: which of the two to read would be a guess
            raise DataFormatError(f"{where} has a column {column!r}, which is not {meant!r}: names are read exactly "
                                  f"(case and spaces), and {meant!r} decides whether an account may be released; "
                                  "rename it")
    missing = missing_required(columns)
    if missing:
        found = resolve_columns(columns)
        names = [a for c in REQUIRED_COLUMNS if c not in found for a in COLUMN_ALIASES[c]]
        raise DataFormatError(
            f"{where} lacks required column(s) {'; '.join(missing)}{case_hint(names, columns)}. Required: "
            f"{', '.join(REQUIRED_COLUMNS)} (Twitter v1.1 user-object names, or the X API v2 names; "
            "`handleval flag --help` lists every accepted column)")


def check_columns(columns: Any, prefix: str = "", where: str = "the accounts input") -> None:
    """Raise (one message, before any row is scored) when a required column is missing or an output would
    overwrite an input column."""
    check_prefix(prefix)
    check_required(columns, where)
    taken = output_collisions(columns, output_names(prefix))
    if taken:
        raise ColumnCollisionError(taken, prefix, "flag", columns)


# How a feature reads in a reason: words, and how to turn the feature back into the number a person knows.
_REASON_TEXT: dict[str, tuple[str, str]] = {
    "cnt__log_statuses": ("tweets", "expm1"), "cnt__log_followers": ("followers", "expm1"),
    "cnt__log_friends": ("following", "expm1"), "cnt__log_favourites": ("likes", "expm1"),
    "cnt__log_listed": ("lists", "expm1"), "age__log_days": ("account age (days)", "exp"),
    "rate__log_statuses_per_day": ("tweets per day", "expm1"),
    "rate__log_followers_per_day": ("followers gained per day", "expm1"),
    "rate__log_friends_per_day": ("accounts followed per day", "expm1"),
    "rate__log_favourites_per_day": ("likes per day", "expm1"),
    "ratio__followers_share": ("followers share of followers+following", "raw"),
    "ratio__log_followers_per_friend": ("followers per followed account", "exp"),
    "ratio__log_favourites_per_status": ("likes per tweet", "exp"),
    "ratio__log_listed_per_follower": ("lists per follower", "exp"),
    "prof__default_profile": ("default profile theme", "bool"),
    "prof__default_profile_image": ("default avatar", "bool"),
    "prof__has_description": ("has a description", "bool"), "prof__has_location": ("has a location", "bool"),
    "prof__has_url": ("has a profile link", "bool"),
    "prof__completeness": ("profile completeness (0-4)", "raw"),
    "desc__length": ("description length", "raw"), "desc__n_hashtags": ("hashtags in description", "raw"),
    "desc__n_mentions": ("mentions in description", "raw"), "desc__has_link": ("link in description", "bool"),
    "desc__says_bot": ("description says 'bot'", "bool"), "sn__length": ("screen-name length", "raw"),
    "sn__n_digits": ("digits in screen name", "raw"), "sn__digit_share": ("digit share of screen name", "raw"),
    "sn__trailing_digits": ("trailing digits in screen name", "raw"),
    "sn__upper_share": ("upper-case share of screen name", "raw"),
    "sn__n_underscores": ("underscores in screen name", "raw"),
    "sn__entropy": ("screen-name randomness (entropy)", "raw"), "sn__says_bot": ("screen name says 'bot'", "bool"),
    "name__length": ("display-name length", "raw"), "name__n_words": ("words in display name", "raw"),
    "name__digit_share": ("digit share of display name", "raw"),
    "name__sim_screen_name": ("display name vs screen name similarity", "raw"),
    "name__says_bot": ("display name says 'bot'", "bool"),
    "desc__n_words": ("words in description", "raw"),
    "desc__upper_share": ("upper-case share of description", "raw"),
    "desc__non_ascii_share": ("non-ASCII share of description", "raw"),
    "desc__n_emoji": ("emoji in description", "raw"),
    "desc__says_follow": ("description says 'follow'", "bool"), "desc__n_digits": ("digits in description", "raw"),
    "sn__pronounceability": ("screen-name pronounceability (log-likelihood)", "raw"),
    "sn__consonant_cluster": ("longest consonant run in screen name", "raw"),
    "sn__vowel_share": ("vowel share of screen name", "raw"), "sn__has_year": ("screen name holds a year", "bool"),
    "cnt__friends_at_follow_cap": ("following count at the 2,000 follow cap", "bool"),
}


_HOW_CODE = {"raw": 0, "expm1": 1, "exp": 2, "bool": 3}


#: Ratios of two counts shown from the counts themselves: the words for each count.
_RATIO_SHOWN = {"ratio__log_followers_per_friend": ("followers", "followed"),
                "ratio__log_favourites_per_status": ("likes", "tweets"),
                "ratio__log_listed_per_follower": ("lists", "followers")}


def _readable_many(features: list[str], idx: np.ndarray, values: np.ndarray) -> list[str]:
    """Per ``(features[idx[i]], values[i])``: the feature in words and its value, transformed back (``expm1``,
    ``exp``) and rounded for reading, or yes/no for a flag. Number transforms run as arrays (per-value Python
    was most of the time spent on reasons); tests check the text against a per-value reference."""
    words = [_REASON_TEXT.get(f, (f, "raw"))[0] for f in features]
    codes = np.array([_HOW_CODE[_REASON_TEXT.get(f, (f, "raw"))[1]] for f in features], dtype=np.int8)[idx]
    with np.errstate(over="ignore", invalid="ignore"):
        numbers = np.where(codes == 1, np.expm1(values), np.where(codes == 2, np.exp(values), values))
    out: list[str] = []
    for j, code, value, number in zip(idx.tolist(), codes.tolist(), values.tolist(), numbers.tolist(),
                                      strict=True):
        w = words[j]
        if value != value:  # NaN
            out.append(f"{w} unknown")
        elif code == 3:
            out.append(w if value >= 0.5 else f"not: {w}")
        else:
            a = abs(number)
            text = f"{number:,.0f}" if a >= 100 else f"{number:.2g}" if a < 1 else f"{number:.1f}"
            out.append(f"{w} {text}")
    return out


class AccountFlagger:
    """Bot and dormancy flags from a trained bundle (see ``load_accounts``)."""

    def __init__(self, bundle_dir: Path, manifest: dict[str, Any], bot_model: Any, dormancy_model: Any,
                 type_model: Any):
        self.bundle_dir = bundle_dir
        self.manifest = manifest
        self.bot_model = bot_model
        self.dormancy_model = dormancy_model
        self.features: list[str] = list(manifest["features"])
        self.calibration: dict[str, Any] = manifest["calibration"]
        self.threshold: float = float(manifest["threshold"]["threshold"])
        self.policy_days: int = int(manifest["dormancy"]["policy_days"])
        self.dormancy_calibration: dict[str, Any] = manifest["dormancy"]["calibration"]
        self.dormancy_threshold: float = float(manifest["dormancy"].get("estimate_threshold", 0.5))
        self.type_model = type_model
        self.bot_types: list[str] = list(manifest["types"]["classes"])

    @functools.cached_property
    def bot_paths(self) -> Any:
        """The bot model as a compiled forest with path attributions, built on first use (flags with reasons)."""
        from handleval.trees.forest import Forest

        return Forest.from_boosters([self.bot_model], n_explained=1)

    def flag(self, accounts: pd.DataFrame, now: pd.Timestamp | str | None = None, reasons: bool = True,
             prefix: str = "") -> pd.DataFrame:
        """Every input row back, same order and index, with the ``FLAG_COLUMNS`` appended; ``prefix`` goes in
        front of each output name, ``error`` too. An output that would overwrite an input column, or a missing
        required column, raises ``DataFormatError`` before any row is scored. ``observed_at`` (or
        ``probe_created_at``, ``crawled_at``, ``updated``) defaults to ``now`` (default: the current time, UTC);
        ``measured_at`` and ``measured_at_basis`` say which time each row was measured at.

        ``reasons=False`` leaves ``reasons`` empty and skips the path attributions behind them (as
        ``handleval predict --no-reasons``); every other column is unchanged."""
        check_columns(_accounts_frame(accounts).columns, prefix)
        if now is None:  # a time given is the one they are measured at
            warn_without_observed_at(accounts.columns)
        columns = self.flag_columns(accounts, now, reasons)
        result = accounts.copy()
        for col, name in zip(FLAG_COLUMNS, output_names(prefix), strict=True):
            result[name] = columns[col].array  # its type kept: a yes/no column of no value is still yes/no
        return result

    def flag_columns(self, accounts: pd.DataFrame, now: pd.Timestamp | str | None = None, reasons: bool = True
                     ) -> pd.DataFrame:
        """Only :data:`FLAG_COLUMNS`, unprefixed, one row per account in order, the input's index, whatever the
        input's own columns are called: for callers that put them beside the input under names of their own
        (batch jobs, triage). ``now`` and ``reasons`` as in :meth:`flag`."""
        check_required(_accounts_frame(accounts).columns)
        now_ts = measuring_time(now)
        prepared, error = prepare_accounts(accounts.reset_index(drop=True), now=now_ts)
        n = len(prepared)
        na_str = pd.Series(pd.NA, index=range(n), dtype="string")
        out = pd.DataFrame({
            "p_bot": np.full(n, np.nan), "bot": pd.Series(pd.NA, index=range(n), dtype="boolean"),
            "bot_type": na_str, **{f"p_{t}": np.full(n, np.nan) for t in BOT_TYPES},
            "days_inactive": np.full(n, np.nan), "p_dormant": np.full(n, np.nan),
            "dormant": pd.Series(pd.NA, index=range(n), dtype="boolean"),
            "dormancy_basis": na_str.copy(),
            "measured_at": prepared["observed_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("string"),
            "measured_at_basis": prepared["observed_basis"].map(
                lambda b: NOW_BASIS if b == "now" else b).astype("string"),
            "account_status": na_str.copy(),
            "reasons": pd.Series("", index=range(n), dtype="string"),
            "error": error.reset_index(drop=True),
        })
        ok = error.isna().to_numpy()
        if ok.any():
            x = compute_features(prepared[ok])[self.features]
            # Reasons: path attributions on the log-odds, from the same pass that scores (handleval.trees.forest).
            if reasons:
                margins, contrib = self.bot_paths.predict(x)
                margin = margins[:, 0]
                raw = 1.0 / (1.0 + np.exp(-margin))  # the binary objective's sigmoid, as Booster.predict gives
            else:
                raw, contrib = self.bot_model.predict(x), None
            p_bot = np.clip(apply_calibration(self.calibration, raw), 0.0, 1.0)
            p_dorm_est = np.clip(apply_calibration(self.dormancy_calibration, self.dormancy_model.predict(x)), 0, 1)
            # an account younger than the policy window cannot have been inactive for it
            age = ((prepared.loc[ok, "observed_at"] - prepared.loc[ok, "created_at"]).dt.total_seconds()
                   / 86400.0).to_numpy(dtype=float)
            p_dorm_est[age < self.policy_days] = 0.0
            last = prepared.loc[ok, "last_active_at"]
            days = ((prepared.loc[ok, "observed_at"] - last).dt.total_seconds() / 86400.0).to_numpy(dtype=float)
            days = np.where(days < 0, 0.0, days)  # active up to a day after the observation (time zones): 0 days
            known = ~np.isnan(days)
            dormant_known = days > self.policy_days
            p_dormant = np.where(known, dormant_known.astype(float), p_dorm_est)
            dormant = np.where(known, dormant_known, p_dorm_est >= self.dormancy_threshold)
            # without a last activity, 'not dormant' is no finding: unknown, unless too young to be dormant
            unknown = ~known & ~dormant & (age >= self.policy_days)
            bot = p_bot >= self.threshold
            idx = np.flatnonzero(ok)
            out.loc[idx, "p_bot"] = np.round(p_bot, 4)
            out.loc[idx, "bot"] = bot
            # Per-type scores: P(type | bot) from the type model times P(bot); they add up to p_bot.
            p_type = np.asarray(self.type_model.predict(x), dtype=float).reshape(len(x), -1)
            for j, t in enumerate(self.bot_types):
                out.loc[idx, f"p_{t}"] = np.round(p_bot * p_type[:, j], 4)
            out.loc[idx, "bot_type"] = pd.array(np.where(bot, np.asarray(self.bot_types)[p_type.argmax(axis=1)],
                                                         None), dtype="string")
            out.loc[idx, "days_inactive"] = np.round(days, 1)
            out.loc[idx, "p_dormant"] = np.round(p_dormant, 4)
            out.loc[idx, "dormant"] = pd.array(np.where(unknown, None, dormant), dtype="boolean")
            out.loc[idx, "dormancy_basis"] = np.where(known, "last_active_at", "estimate")
            # 'active' only where a last activity says so: without one, dormancy is an estimate that seldom flags
            out.loc[idx, "account_status"] = np.select([bot & dormant, bot, dormant, known],
                                                       ["bot_and_dormant", "bot", "dormant", "active"],
                                                       "activity_unknown")
            if contrib is not None:
                out.loc[idx, "reasons"] = self._reasons(x, contrib, p_bot, bot, days, p_dorm_est, known, age,
                                                        prepared.loc[ok].reset_index(drop=True))
        return out.set_axis(accounts.index)

    def _reasons(self, x: pd.DataFrame, contrib: np.ndarray, p_bot: np.ndarray, bot: np.ndarray,
                 days: np.ndarray, p_dorm: np.ndarray, known: np.ndarray, age: np.ndarray,
                 counts: pd.DataFrame) -> list[str]:
        """Per row: the verdict, up to three features pushing towards it (largest path attribution
        first), and the dormancy basis. Sorting and number transforms run on whole arrays; only the
        formatting is per row. A ratio of two counts is shown from the row's ``counts`` (the model reads it
        smoothed, each count + 1: 0 likes for 0 tweets read "likes per tweet 1.0")."""
        values = x.to_numpy(dtype=float)
        names = list(x.columns)
        n = len(x)
        if n == 0:
            return []
        sign = np.where(bot, 1.0, -1.0)
        # Row by row this was np.argsort(-sign * contrib[i])[:3]: the same sort on the same values per row.
        order = np.argsort(-sign[:, None] * contrib, axis=1)[:, :3]
        rows = np.arange(n)[:, None]
        pushes = (sign[:, None] * contrib[rows, order]) > 0
        which_rows, which_slot = np.nonzero(pushes)
        feat = order[which_rows, which_slot]
        texts = _readable_many(names, feat, values[which_rows, feat])
        for k in np.flatnonzero(np.isin(np.asarray(names, dtype=object)[feat], list(_RATIO_SHOWN))).tolist():
            name = names[feat[k]]
            (top, bottom), (top_word, bottom_word) = FEATURE_INPUTS[name], _RATIO_SHOWN[name]
            a, b = counts[top].iloc[which_rows[k]], counts[bottom].iloc[which_rows[k]]
            if a != a or b != b:  # a count not given: the feature is unknown, as the text says
                continue
            ratio = "n/a" if not b > 0 else f"{a / b:,.0f}" if a / b >= 100 else f"{a / b:.2g}"
            texts[k] = f"{_REASON_TEXT[name][0]} {ratio} ({a:,.0f} {top_word}, {b:,.0f} {bottom_word})"
        drivers: list[list[str]] = [[] for _ in range(n)]
        for i, text in zip(which_rows.tolist(), texts, strict=True):
            drivers[i].append(text)
        out = []
        for i in range(n):
            # as many decimals as tell the two apart (two numbers that round alike would read as a tie)
            places = next((d for d in (2, 3, 4) if f"{p_bot[i]:.{d}f}" != f"{self.threshold:.{d}f}"), 4)
            part = f"{'bot' if bot[i] else 'not bot'} (P(bot) {p_bot[i]:.{places}f}, " \
                   f"threshold {self.threshold:.{places}f})"
            if drivers[i]:
                part += ": " + "; ".join(drivers[i])
            if known[i]:
                state = "dormant" if days[i] > self.policy_days else "active"
                dorm = f"{state}: last active {days[i]:.0f} days before measured_at (policy {self.policy_days})"
            elif age[i] < self.policy_days:
                dorm = (f"no last activity given; created {age[i]:.0f} days before measured_at, within the policy "
                        f"({self.policy_days}): not dormant")
            else:
                dorm = (f"no last activity given: P(dormant) {p_dorm[i]:.2f} is a model ESTIMATE from the profile")
            out.append(f"{part} | {dorm}")
        return out


def _accounts_frame(accounts: Any) -> pd.DataFrame:
    if not isinstance(accounts, pd.DataFrame):
        raise DataFormatError(f"flag() needs a pandas DataFrame of accounts, got {type(accounts).__name__}")
    check_unique_columns(accounts.columns, read=ACCOUNT_INPUT_NAMES)
    return accounts


def measuring_time(now: object) -> pd.Timestamp:
    """The time accounts without an observation time are measured at (UTC): ``now`` as given, else the current
    time. :class:`DataFormatError` for what is no date, a number (2019 was read as nanoseconds after 1970) or a
    time after the current one (an account 'inactive' until 2099 was released)."""
    if now is None:
        return pd.Timestamp.now(tz="UTC")
    now_ts = given_time(now)
    if now_ts is None:  # pandas' own words were "Unknown datetime string format"
        raise DataFormatError(f"now {now!r} is not a date or time (e.g. 2025-03-01)")
    now_ts = now_ts.tz_localize("UTC") if now_ts.tzinfo is None else now_ts.tz_convert("UTC")
    if now_ts > pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1):  # a day for time zones, as observed_at's check
        raise DataFormatError(f"now {now!r} is after the current time: accounts are measured as they were, not as "
                              "they will be")
    if now_ts < pd.Timestamp("2006-03-21", tz="UTC"):  # the first tweet: no account was measured before it
        raise DataFormatError(f"now {now!r} is before X existed (2006-03-21)")
    return now_ts


def warn_without_observed_at(columns: Any) -> None:
    """The warning for accounts given without a time they were seen: they are measured now."""
    if not {*COLUMN_ALIASES["observed_at"], AGE_AT_OBSERVATION} & {str(c) for c in columns}:
        warnings.warn("no observed_at (or probe_created_at, crawled_at, updated, account_age_days) column: account "
                      "age and inactivity are measured at the time of this run (see measured_at); an old snapshot "
                      "then looks human, and a last activity long before today dormant", HandlevalWarning,
                      stacklevel=3)


def load_accounts(bundle_dir: str | Path | None = None) -> AccountFlagger:
    """The account flagger from ``bundle_dir`` (default ``models/accounts``); a missing, corrupt or foreign
    bundle raises ``BundleError`` saying what is wrong."""
    from handleval.trees.bundle import load_booster, malformed, manifest_values, read_bundle

    path = Path(bundle_dir) if bundle_dir else MODELS_DIR / "accounts"
    manifest, verified = read_bundle(path, BUNDLE_KIND)
    for key in ("features", "calibration", "threshold", "dormancy", "types"):
        if key not in manifest:
            raise BundleError(f"{path}/manifest.json lacks {key!r}: retrain with `handleval train accounts`")
    with manifest_values(path):
        features = list(manifest["features"])
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise BundleError(f"{path} was built with features this version does not compute: {', '.join(unknown)}")
    bot = load_booster(path, verified, BOT_MODEL_FILE)
    dormancy = load_booster(path, verified, DORMANCY_MODEL_FILE)
    types = load_booster(path, verified, TYPE_MODEL_FILE)
    for name, booster in (("bot", bot), ("dormancy", dormancy), ("type", types)):
        if list(booster.feature_name()) != features:
            raise BundleError(f"{path}: the {name} model's features differ from the manifest's feature list")
    with manifest_values(path):  # the values the flagger reads, and its calibrations tried once
        flagger = AccountFlagger(path, manifest, bot, dormancy, types)
        # a damaged calibration fails here, not in a batch (a NaN in it had left every P(bot) empty, no error)
        calibrated = [apply_calibration(c, np.array([0.0, 0.5, 1.0]))
                      for c in (flagger.calibration, flagger.dormancy_calibration)]
    if not (0 < flagger.threshold <= 1 and flagger.policy_days >= 0 and 0 <= flagger.dormancy_threshold <= 1
            and np.isfinite(calibrated).all() and sorted(flagger.bot_types) == sorted(BOT_TYPES)
            and len(flagger.bot_types) == types.num_model_per_iteration()):
        raise malformed(path, "a threshold outside (0, 1], negative policy_days, a calibration that gives no "
                              "probability, or type classes other than the four bot types")
    return flagger


def batch_scorer(bundle_dir: str | None = None, reasons: bool = True, prefix: str = "", now: str | None = None
                 ) -> Any:
    """A chunk scorer for :func:`handleval.batch.run_batch` (built once per process or Dask worker), as predict's:
    every input column, then the flag columns (:meth:`AccountFlagger.flag`, ``reasons``, ``prefix`` and ``now``
    as there: give ``now`` so that every part of a run is measured at the same time)."""
    return _with_facts(functools.partial(load_accounts(bundle_dir).flag, reasons=reasons, prefix=prefix, now=now),
                       bundle_dir)


def outputs_scorer(bundle_dir: str | None = None, reasons: bool = True, now: str | None = None) -> Any:
    """A chunk scorer that returns only the flag columns (:meth:`AccountFlagger.flag_columns`), for a batch that
    declares them (``output_columns``) and names them itself after the input's (``handleval flag --prefix``);
    ``now`` as in :func:`batch_scorer`."""
    return _with_facts(functools.partial(load_accounts(bundle_dir).flag_columns, now=now, reasons=reasons),
                       bundle_dir)


def _with_facts(score: Any, bundle_dir: str | None) -> Any:
    score.facts = scoring_facts(bundle_dir)  # as this process sees them: a Dask worker's are checked against the run's
    return score


def scoring_facts(bundle_dir: str | Path | None = None) -> dict[str, str | None]:
    """What a batch's flags rest on besides its options: the bundle's digest (recorded in the run's manifest, and
    the same on every Dask worker)."""
    from handleval.trees.bundle import bundle_digest

    return {"bundle": bundle_digest(bundle_dir, "accounts")}
