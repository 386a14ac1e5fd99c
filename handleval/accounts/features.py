"""Account features from user-object metadata only: what an account looks like at ``observed_at``.

``prepare_accounts`` turns any user-object-like table (strings, API booleans, Twitter or ISO dates) into typed
columns plus a per-row ``error`` (missing ``screen_name``, unparseable ``created_at``, non-numeric counts).
``AccountFeaturizer`` (a scikit-learn transformer) turns prepared rows into numbers:

* ``cnt__``   log counts; ``age__`` account age at ``observed_at`` (never at "today": crawls span 2010-2020);
* ``rate__``  counts per day of age (BotometerLite-style growth rates, robust to when a set was crawled);
* ``ratio__`` follower/friend balance, favourites per status, lists per follower;
* ``prof__``  profile completeness (default theme/avatar, description, location, url);
* ``desc__``  description text shape (length, words, hashtags, mentions, links, emoji, case, "follow",
  self-declared "bot");
* ``sn__``    screen-name shape (length, digits, trailing digits, upper-case share, entropy, pronounceability,
  "bot");
* ``name__``  display name shape and its similarity to the screen name.

Nothing comes from the numeric ``id`` (it encodes creation time and, through it, the collection), from
``lang``/``verified``/crawl timestamps, or from how a source encoded a value. ``FEATURE_INPUTS`` names the raw
columns each feature needs, so a trainer can drop features whose input a training set lacks entirely (a
feature that is always missing in one set identifies that set).
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from handleval._dates import OBSERVED_AT_NAMES, numeric_date_orders, status_created_at
from handleval.errors import DataFormatError
from handleval.estimator import Transformer, as_names, check_is_fitted
from handleval.handles import handle_texts, pandas_text

COUNTS = ("statuses_count", "followers_count", "friends_count", "favourites_count", "listed_count")
#: More than any account's count (the most-followed account has ~2 x 10^8 followers): a larger one is a broken input.
MAX_COUNT = 1_000_000_000
BOOLS = ("verified", "default_profile", "default_profile_image", "geo_enabled", "protected")
TEXTS = ("screen_name", "name", "description", "url", "location")

# feature name -> raw user-object columns it needs (created_at/observed_at are always required).
FEATURE_INPUTS: dict[str, tuple[str, ...]] = {
    "cnt__log_statuses": ("statuses_count",),
    "cnt__log_followers": ("followers_count",),
    "cnt__log_friends": ("friends_count",),
    "cnt__log_favourites": ("favourites_count",),
    "cnt__log_listed": ("listed_count",),
    "age__log_days": (),
    "rate__log_statuses_per_day": ("statuses_count",),
    "rate__log_followers_per_day": ("followers_count",),
    "rate__log_friends_per_day": ("friends_count",),
    "rate__log_favourites_per_day": ("favourites_count",),
    "ratio__followers_share": ("followers_count", "friends_count"),
    "ratio__log_followers_per_friend": ("followers_count", "friends_count"),
    "ratio__log_favourites_per_status": ("favourites_count", "statuses_count"),
    "ratio__log_listed_per_follower": ("listed_count", "followers_count"),
    "prof__default_profile": ("default_profile",),
    "prof__default_profile_image": ("default_profile_image",),
    "prof__has_description": ("description",),
    "prof__has_location": ("location",),
    "prof__has_url": ("url",),
    "prof__completeness": ("default_profile", "default_profile_image", "description", "location"),
    "desc__length": ("description",),
    "desc__n_hashtags": ("description",),
    "desc__n_mentions": ("description",),
    "desc__has_link": ("description",),
    "desc__says_bot": ("description",),
    "desc__n_words": ("description",),
    "desc__upper_share": ("description",),
    "desc__non_ascii_share": ("description",),
    "desc__n_emoji": ("description",),
    "desc__says_follow": ("description",),
    "desc__n_digits": ("description",),
    "sn__length": ("screen_name",),
    "sn__n_digits": ("screen_name",),
    "sn__digit_share": ("screen_name",),
    "sn__trailing_digits": ("screen_name",),
    "sn__upper_share": ("screen_name",),
    "sn__n_underscores": ("screen_name",),
    "sn__entropy": ("screen_name",),
    "sn__says_bot": ("screen_name",),
    "sn__pronounceability": ("screen_name",),
    "sn__consonant_cluster": ("screen_name",),
    "sn__vowel_share": ("screen_name",),
    "sn__has_year": ("screen_name",),
    "cnt__friends_at_follow_cap": ("friends_count",),
    "name__length": ("name",),
    "name__n_words": ("name",),
    "name__digit_share": ("name",),
    "name__sim_screen_name": ("name", "screen_name"),
    "name__says_bot": ("name",),
}
FEATURES = tuple(FEATURE_INPUTS)

#: Input names accepted for each column the flagger reads, first match wins: the Twitter v1.1 user-object name,
#: then X API v2 names (flattened ``public_metrics.*``, or a ``public_metrics`` column holding the object) and
#: a few spellings in circulation (the Bot Repository's ``probe_created_at`` and the Cresci sets' ``crawled_at`` are
#: when the profile was seen; Cresci's fake followers have only ``updated``, as the training loader reads them; a v1.1
#: user object's ``status`` is its latest tweet, whose time training reads as the last activity too).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "screen_name": ("screen_name", "username"),
    "created_at": ("created_at",),
    "statuses_count": ("statuses_count", "public_metrics.tweet_count", "tweet_count"),
    "followers_count": ("followers_count", "public_metrics.followers_count"),
    "friends_count": ("friends_count", "public_metrics.following_count", "following_count"),
    "favourites_count": ("favourites_count", "favorites_count", "public_metrics.like_count", "like_count"),
    "listed_count": ("listed_count", "public_metrics.listed_count", "listedcount"),
    "observed_at": OBSERVED_AT_NAMES,
    "last_active_at": ("last_active_at", "status.created_at"),  # a v1.1 user object's latest tweet
    "verified": ("verified", "is_blue_verified"),  # X's own user JSON names a paid check mark so
    **{c: (c,) for c in ("name", "description", "location", "url", "default_profile", "default_profile_image",
                         "geo_enabled", "protected", "profile_image_url")},
}
#: An account's age in days when it was seen (the 2020 Twitter Human-Bots set's column): ``created_at`` plus it is
#: the observation time, where no ``observed_at`` (or alias) is given.
AGE_AT_OBSERVATION = "account_age_days"
#: More days than any account can be old when seen (X is from 2006).
MAX_AGE_DAYS = 36_500
#: An X API v2 user's latest post: its id holds the time it was posted (a snowflake), read as the last activity
#: where no ``last_active_at`` is given.
LATEST_POST_ID = "most_recent_tweet_id"
#: X's snowflake ids count milliseconds from this epoch (2010-11-04T01:42:54.657Z) in their bits above the 22nd.
SNOWFLAKE_EPOCH_MS = 1288834974657
#: Columns the guard rails and the dormancy policy read: one written otherwise in case ('Verified') would be
#: ignored without a word (a verified account released), so such a file is refused.
GUARD_COLUMNS = (*COLUMN_ALIASES["verified"], "verified_type", "protected", "observed_at", "probe_created_at",
                 "crawled_at", *COLUMN_ALIASES["last_active_at"], LATEST_POST_ID, AGE_AT_OBSERVATION,
                 *COLUMN_ALIASES["followers_count"])  # the notable-account rail
#: Columns the bot model cannot do without: a file lacking one fails as a whole, before any row is scored.
REQUIRED_COLUMNS = ("screen_name", "created_at", "statuses_count", "followers_count", "friends_count",
                    "favourites_count")
#: Objects a column may hold (a dict, JSON text, a Python dict's repr as ``DataFrame.to_csv`` writes it, or a
#: Parquet map's key-value pairs): v2's ``public_metrics``. (A v1.1 ``status``, the latest tweet, is read for its
#: time alone, as training reads it: :func:`~handleval._dates.status_created_at`.)
_NESTED = ("public_metrics",)
#: A v1.1 user's latest tweet: read for its time, ``status.created_at``.
STATUS = "status"
#: Longer text in a nested column is no object the flagger reads (a public_metrics object is ~100 bytes).
_MAX_NESTED_TEXT = 10_000
#: Every input column name the flagger and triage read (each canonical column under all its names).
ACCOUNT_INPUT_NAMES = frozenset(a for aliases in COLUMN_ALIASES.values() for a in aliases) | frozenset(_NESTED) \
    | {LATEST_POST_ID, STATUS, AGE_AT_OBSERVATION}


def resolve_columns(columns: Any) -> dict[str, str]:
    """canonical column -> the input column that provides it (first accepted name present)."""
    present = set(columns)
    for nest in (*_NESTED, STATUS):
        if nest in present:  # its keys are looked up as nest.key once expanded
            present |= {a for names in COLUMN_ALIASES.values() for a in names if a.startswith(f"{nest}.")}
    return {canon: next(a for a in names if a in present) for canon, names in COLUMN_ALIASES.items()
            if any(a in present for a in names)}


def missing_required(columns: Any) -> list[str]:
    """The required columns no accepted name provides, each with the names that would (for the message)."""
    found = resolve_columns(columns)
    return [f"{c} (or {' / '.join(COLUMN_ALIASES[c][1:])})" if len(COLUMN_ALIASES[c]) > 1 else c
            for c in REQUIRED_COLUMNS if c not in found]


def _as_dict(value: Any) -> dict[str, Any]:
    """A nested object as a dict (:data:`_NESTED`); ``{}`` for anything else."""
    import ast
    import json

    if isinstance(value, dict):
        return value
    if isinstance(value, list | tuple | np.ndarray) and all(isinstance(p, list | tuple) and len(p) == 2
                                                             and isinstance(p[0], str) for p in value):
        return dict(value)  # a Parquet map read by pandas: (key, value) pairs
    if not isinstance(value, str) or not value.strip().startswith("{") or len(value) > _MAX_NESTED_TEXT:
        return {}
    for parse in (json.loads, ast.literal_eval):  # JSON, else a Python dict's repr ({'tweet_count': 5, ...})
        try:
            found = parse(value)
            return found if isinstance(found, dict) else {}
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
    return {}


def _expand_nested(frame: pd.DataFrame) -> pd.DataFrame:
    """A nested column (:data:`_NESTED`) as ``<column>.<key>`` columns, a ``status`` as ``status.created_at`` (a new
    frame)."""
    extra = {}
    for nest in _NESTED:
        if nest not in frame:
            continue
        dicts = frame[nest].map(_as_dict)
        # The keys the flagger reads, whatever this chunk holds (a count missing from every object of a chunk is
        # each row's error, as in any other chunk), then the others as first seen.
        read = [a.split(".", 1)[1] for aliases in COLUMN_ALIASES.values() for a in aliases if a.startswith(nest + ".")]
        for key in dict.fromkeys([*read, *(k for d in dicts for k in d)]):
            name, inside = f"{nest}.{key}", dicts.map(lambda d, k=key: d.get(k))
            # a flattened column of that name (pd.json_normalize writes both) keeps its values; the object fills gaps
            extra[name] = frame[name].where(~_blank(frame[name]), inside) if name in frame else inside
    if STATUS in frame:  # its time is the last activity (a flattened status.created_at first)
        inside = status_created_at(frame[STATUS])
        extra["status.created_at"] = frame["status.created_at"].where(~_blank(frame["status.created_at"]), inside) \
            if "status.created_at" in frame else inside
    return frame.assign(**extra) if extra else frame


def _blank(values: pd.Series) -> pd.Series:
    """Missing or empty text."""
    return (values.isna() | (values.astype("string").str.strip() == "")).fillna(True).astype(bool)


def canonical_columns(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The input under canonical (v1.1) names - only the columns the flagger reads - and where each came from.
    The caller's frame is not changed."""
    expanded = _expand_nested(frame)
    found = resolve_columns(expanded.columns)
    columns, basis = {}, None
    for canon in found:  # a row blank under the first name takes the next (v1.1 and v2 objects in one file)
        names = [a for a in COLUMN_ALIASES[canon] if a in expanded]
        if not names:
            continue
        value, source = expanded[names[0]], pd.Series(names[0], index=frame.index, dtype="string")
        for name in names[1:]:
            gap = _blank(value) & ~_blank(expanded[name])
            value, source = value.where(~gap, expanded[name]), source.where(~gap, name)
        if canon in TEXTS and value.dtype == object:  # a lone surrogate ('\ud800') is a '?': a row's error at most
            value = pandas_text(handle_texts(value) if canon == "screen_name" else value)
        columns[canon] = value
        basis = source if canon == "observed_at" else basis
    out = pd.DataFrame(columns, index=frame.index)
    if basis is not None:
        out["observed_basis"] = basis  # which input column each row's observation time came from
    if AGE_AT_OBSERVATION in expanded and "created_at" in out:  # seen when it was that old, where no time is given
        raw_age = expanded[AGE_AT_OBSERVATION]
        age = pd.to_numeric(raw_age, errors="coerce")
        age = age.where((age >= 0) & (age <= MAX_AGE_DAYS))  # not inf, 1e9 (no time) or -5
        seen = (_to_utc(out["created_at"]) + pd.to_timedelta(age, unit="D")).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        # an age given that is none ('1,000', 99999) is that row's error, as an observed_at that is no time
        seen = seen.where(age.notna() | _blank(raw_age), "not an age in days: " + raw_age.astype("string"))
        given = out["observed_at"] if "observed_at" in out else pd.Series(None, index=frame.index, dtype=object)
        gap = _blank(given) & seen.notna()
        out["observed_at"] = given.where(~gap, seen)
        out["observed_basis"] = out.get("observed_basis", pd.Series(pd.NA, index=frame.index, dtype="string")) \
            .where(~gap, AGE_AT_OBSERVATION)
    if LATEST_POST_ID in expanded:
        text = _post_id_text(expanded[LATEST_POST_ID])
        posted = snowflake_times(text)
        last = out["last_active_at"] if "last_active_at" in out else pd.Series(None, index=frame.index, dtype=object)
        both = (posted.notna() & ~_blank(last)).to_numpy(dtype=bool)
        later = posted.notna() & _blank(last)
        if both.any():  # the later of the two: both are activity
            later[both] = (_to_utc(posted[both]) > _to_utc(last[both])).fillna(False).to_numpy(dtype=bool)
        out["last_active_at"] = last.where(~later, posted)
        # read where it would be the last activity: a value that is no post id is then a row error, not "unknown"
        # (an id of fewer digits is a post from before 2010's snowflake ids, whose time it does not hold)
        old_id = text.str.fullmatch(r"\d{1,14}").fillna(False)
        out["post_id_unread"] = _blank(last) & ~_blank(expanded[LATEST_POST_ID]) & posted.isna() & ~old_id
    if "default_profile_image" not in out and "profile_image_url" in out:  # v2 has only the image URL
        url = out["profile_image_url"].astype("string")
        out["default_profile_image"] = url.str.contains("default_profile_images").where(url.notna())
    return out, found

def _post_id_text(ids: pd.Series) -> pd.Series:
    """Post ids as text: a float id (pandas reads a column with gaps so) is its integer."""
    return handle_texts(ids).astype("string").str.strip().str.strip('"')


def rounded_ids(text: pd.Series) -> np.ndarray:
    """Per id (as text): written with fewer than 10 significant digits where it has 12 or more (a spreadsheet's
    ``8.41E+17``, or that float's integer ``841000000000000000``). Its low digits are lost: two accounts share it,
    and a post's time is off by days (10 digits keep it within a second)."""
    mantissa = text.str.extract(r"^(\d+)(?:\.0*)?$|^(\d)[.,](\d*)[eE]\+?(?:1[1-9]|2\d)$")  # 8,41E+17: German
    digits = mantissa[0].str.rstrip("0").str.len()
    long_enough = mantissa[0].str.len() >= 12
    sci = mantissa[1].notna()
    digits = digits.where(~sci, 1 + mantissa[2].fillna("").str.rstrip("0").str.len())
    return ((sci | long_enough) & (digits < 10)).fillna(False).to_numpy(dtype=bool)


def snowflake_times(ids: pd.Series) -> pd.Series:
    """The time an X post id says it was made at (ISO 8601 text; NA for a value that is no id of 15-20 digits, or
    a rounded one: :func:`rounded_ids`). A float id is its integer: the lost low bits are below the id's
    millisecond."""
    text = _post_id_text(ids)
    rounded = rounded_ids(text)
    # a float written out as text by pandas' to_csv ('2.1217550546994463e+18') is that float's integer
    floats = text.str.fullmatch(r"\d\.\d+[eE]\+?1[4-9]|\d{15,20}\.0*").fillna(False).to_numpy(dtype=bool)
    if floats.any():
        text = text.copy()
        text[floats] = [str(int(float(v))) if "e" in v.lower() else v.split(".")[0] for v in text[floats].tolist()]
    out = pd.Series(pd.NA, index=ids.index, dtype="string")
    valid = text.str.fullmatch(r"\d{15,20}").fillna(False).to_numpy(dtype=bool) & ~rounded
    valid[valid] = [int(v) < 2 ** 63 for v in text[valid].tolist()]  # an id is a signed 64-bit number
    if valid.any():
        ms = [(int(v) >> 22) + SNOWFLAKE_EPOCH_MS for v in text[valid].tolist()]
        out[valid] = pd.to_datetime(pd.Series(ms, dtype="int64"), unit="ms", utc=True).dt.strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ").to_numpy()
    return out


_TWITTER_FMT = "%a %b %d %H:%M:%S %z %Y"
#: 'bot' in a description or name, as the model's ``says_bot`` features read it (wider than :data:`_DECLARED_BOT`,
#: which decides self-declaration in triage; changing this one changes the model's features).
_BOT_WORD = re.compile(r"(?:^|[^a-z])bot(?:s|$|[^a-z])|_bot|bot_|robot", re.IGNORECASE)
_BOT_SN = re.compile(r"bot", re.IGNORECASE)
#: A profile that says it is a bot: 'bot' or 'bots' as a word or beside an underscore ('weather_bot'), or X's
#: 'Automated account' / 'Automated by @owner' label; not 'Botswana', 'robotics', 'abbott' (:data:`_BOT_WORD`, the
#: model's reading, counts some of those).
_DECLARED_BOT = re.compile(r"(?<![^\W_])bots?(?![^\W_])|\bautomated (?:account|by)\b", re.IGNORECASE)
#: ... unless it says it is not one ('not a bot', 'no soy bot', "I'm no bot").
_DENIED_BOT = re.compile(r"(?:\bnot|\bno|\bnever|n't)\s+(?:\w+\s+)?(?:a\s+)?bots?\b", re.IGNORECASE)

_LINK = re.compile(r"https?://|www\.|\.com\b", re.IGNORECASE)
_EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")


def declares_automation(canonical: pd.DataFrame) -> np.ndarray:
    """Per account (canonical columns), whether its screen name, name or description says it is a bot
    (:data:`_DECLARED_BOT`) and none says it is not: a self-declared bot, whatever the type model guesses."""
    says = np.zeros(len(canonical), dtype=bool)
    denies = np.zeros(len(canonical), dtype=bool)
    for column in ("screen_name", "name", "description"):
        if column in canonical:
            text = canonical[column].astype("string").fillna("")
            says |= text.str.contains(_DECLARED_BOT).to_numpy(dtype=bool)
            denies |= text.str.contains(_DENIED_BOT).to_numpy(dtype=bool)
    return says & ~denies


#: Times outside these bounds (year 1, year 9999) are not a plausible account time: read as unparseable.
_EARLIEST, _LATEST = pd.Timestamp("1970-01-01", tz="UTC"), pd.Timestamp("2200-01-01", tz="UTC")


def _to_utc(values: pd.Series) -> pd.Series:
    """Datetimes from Twitter strings, ISO strings, epoch milliseconds (12-13 digits) or seconds (10 digits:
    2001-2286; as milliseconds they would be January 1970) or datetime objects, as UTC nanoseconds (NaT if none
    of these, or outside 1970-2200)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return _plausible(pd.to_datetime(values, utc=True))
    s = values.astype("string").str.strip().str.strip('"')
    # A string that starts with a digit (ISO date, epoch) cannot match the Twitter format (it starts with a
    # weekday name); strptime would reject it by raising once per row, which was most of the parse time, so it
    # is handed over as missing and parsed below like before.
    digit_first = s.str.match(r"[0-9]").fillna(False).to_numpy(dtype=bool)
    out = _plausible(pd.to_datetime(s.mask(digit_first) if digit_first.any() else s, format=_TWITTER_FMT,
                                    errors="coerce", utc=True))
    rest = out.isna() & s.notna() & (s != "")
    if rest.any():
        epoch = rest & s.str.fullmatch(r"\d{12,13}(?:L|\.0)?").fillna(False)  # 1183552203000.0: a float column's
        if epoch.any():
            out[epoch] = _plausible(pd.to_datetime(s[epoch].str.replace(r"(?:L|\.0)$", "", regex=True)
                                                   .astype("int64"), unit="ms", utc=True))
        rest &= ~epoch
        seconds = rest & s.str.fullmatch(r"\d{10}(?:\.\d+)?").fillna(False)  # pandas' to_json(date_unit="s")
        if seconds.any():
            out[seconds] = _plausible(pd.to_datetime(s[seconds].astype("float64"), unit="s", utc=True))
        rest &= ~seconds
        if rest.any():
            out[rest] = _plausible(pd.to_datetime(s[rest], errors="coerce", utc=True, format="mixed"))
            out[rest & numeric_date_orders(s)[2]] = pd.NaT  # '12/03/2020': 12 March or 3 December
    return out


def _plausible(times: pd.Series) -> pd.Series:
    """``times`` as UTC nanoseconds, NaT outside 1970-2200 (pandas 3 parses at the resolution the text needs, and
    seconds cannot hold '…56.789Z')."""
    return times.where((times >= _EARLIEST) & (times < _LATEST)).astype("datetime64[ns, UTC]")


def _either_order(values: pd.Series) -> pd.Series:
    """The dates written with day and month as numbers that either order could read (``12/03/2020``): unread, as a
    file's other dates cannot settle them in a streamed batch (each chunk would decide on its own)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.Series(False, index=values.index)
    return numeric_date_orders(values.astype("string").str.strip().str.strip('"'))[2]


TRUE_WORDS = ("true", "t", "yes", "y", "1", "1.0", "on")
FALSE_WORDS = ("false", "f", "no", "n", "0", "0.0", "off")


def _to_bool(values: pd.Series) -> pd.Series:
    """The one way handleval reads a yes/no column: ``TRUE_WORDS``/``FALSE_WORDS`` in any case, blank is
    unknown (<NA>); anything else is <NA> too, and :func:`unreadable_bool` tells those apart."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    low = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[low.isin(TRUE_WORDS).fillna(False)] = True
    out[low.isin(FALSE_WORDS).fillna(False)] = False
    return out


def unreadable_bool(values: pd.Series) -> pd.Series:
    """True where a yes/no cell holds something :func:`_to_bool` cannot read (not blank, not a known word)."""
    if pd.api.types.is_bool_dtype(values):
        return pd.Series(False, index=values.index)
    low = values.astype("string").str.strip().str.lower()
    blank = low.isna() | low.isin(["", "nan", "none", "null", "<na>"])
    return ~blank & ~low.isin(TRUE_WORDS + FALSE_WORDS)


def prepare_accounts(frame: pd.DataFrame, now: pd.Timestamp | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Typed copy of ``frame`` (same index and order) under canonical names (``COLUMN_ALIASES``) and a per-row
    error message (``<NA>`` when fine).

    ``observed_at`` defaults to ``now`` (UTC) where missing; ``observed_basis`` says which time each row was
    measured at (the input column it came from: ``observed_at``, ``probe_created_at``, ``crawled_at``,
    ``updated``; or ``now``). ``last_active_at`` is optional. A row gets
    an error for a missing ``screen_name``, an unparseable ``created_at`` or ``observed_at``, a count that is not
    a whole number from 0 to :data:`MAX_COUNT`, a blank required count (:data:`REQUIRED_COLUMNS`), or
    ``created_at`` after ``observed_at`` (the message names the input's column for it, or says "in the future" when
    measured now), ``observed_at`` in the future, or ``last_active_at`` before ``created_at``."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    frame, found = canonical_columns(frame)
    out = pd.DataFrame(index=frame.index)
    errors: list[pd.Series] = []

    def flag(mask: pd.Series, message: str) -> None:
        errors.append(pd.Series(np.where(mask.fillna(False).to_numpy(bool), message, None), index=frame.index))

    def flag_observed(mask: pd.Series, message: str) -> None:
        """``message`` with ``{seen}`` as each row's own name for the time it was measured at."""
        for seen in out["observed_basis"].dropna().unique():
            flag(mask & (out["observed_basis"] == seen), message.format(seen=seen))

    def flag_after_observed(col: str) -> None:
        late = out[col] > out["observed_at"] + pd.Timedelta(days=1)
        at_now = out["observed_basis"] == "now"
        flag(late & at_now, f"{col} in the future")
        flag_observed(late & ~at_now, f"{col} after {{seen}}")

    for col in TEXTS:
        if col in frame:
            given = handle_texts(frame[col]) if col == "screen_name" else frame[col]  # 7.0 is "7", as in pricing
            s = given.astype("string").str.replace(r"[\x00-\x1f\x7f]", " ", regex=True).str.strip()
            # 'null' and 'None' are names people have (predict prices them); elsewhere they are a crawler's gaps
            out[col] = s.mask(s.isin([""] if col == "screen_name" else ["", "NULL", "null", "None", "nan"]))
        else:
            out[col] = pd.Series(pd.NA, index=frame.index, dtype="string")
    out["screen_name"] = out["screen_name"].str.lstrip("@")
    flag(out["screen_name"].isna() | (out["screen_name"] == ""), "missing screen_name")

    for col in ("created_at", "observed_at", "last_active_at"):  # said before "unparseable": why it is
        if col in frame:
            flag(_either_order(frame[col]), f"{col} could be day-first or month-first: write YYYY-MM-DD")
    if "created_at" in frame:
        out["created_at"] = _to_utc(frame["created_at"])
        flag(out["created_at"].isna(), "created_at missing or unparseable")
    else:
        out["created_at"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
        flag(pd.Series(True, index=frame.index), "no created_at column")
    if "observed_at" in frame:
        given = frame["observed_at"]
        parsed = _to_utc(given)
        blank = given.isna() | (given.astype("string").str.strip() == "")
        out["observed_at"] = parsed.where(~blank, now)
        out["observed_basis"] = frame["observed_basis"].where(~blank, "now")
        flag_observed(parsed.isna() & ~blank, "{seen} unparseable")
    else:
        out["observed_at"] = pd.Series(now, index=frame.index)
        out["observed_basis"] = pd.Series("now", index=frame.index, dtype="string")
    if "last_active_at" in frame:
        given = frame["last_active_at"]
        parsed = _to_utc(given)
        blank = given.isna() | (given.astype("string").str.strip() == "")
        flag(parsed.isna() & ~blank, "last_active_at unparseable")
        out["last_active_at"] = parsed
        flag_after_observed("last_active_at")
    else:
        out["last_active_at"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    flag_after_observed("created_at")
    flag_observed(out["observed_at"] > now + pd.Timedelta(days=1), "{seen} in the future")
    flag(out["last_active_at"] < out["created_at"] - pd.Timedelta(days=1), "last_active_at before created_at")
    if "post_id_unread" in frame:
        flag(frame["post_id_unread"], f"{LATEST_POST_ID} is not an X post id (15-20 digits, not rounded as a "
                                      "spreadsheet writes 1.88E+18: export ids as text)")

    for col in COUNTS:
        if col in frame:
            raw = frame[col]
            num = pd.to_numeric(raw, errors="coerce").astype("float64")
            blank = raw.isna() | (raw.astype("string").str.strip() == "")
            given = found.get(col, col)  # the input's own name for it (public_metrics.tweet_count)
            bad = (num.isna() & ~blank) | (num < 0) | np.isinf(num)
            flag(bad, f"{given} is not a non-negative number")
            # '150.000' is 150,000 written with a dot between thousands (a German spreadsheet's), or 150: no guess
            dotted = pd.Series(False, index=raw.index)  # a float is a float; text may be a German spreadsheet's
            if not pd.api.types.is_numeric_dtype(raw):
                dotted = raw.astype("string").str.strip().str.fullmatch(r"\d{1,3}(?:\.\d{3})+").fillna(False)
            flag(dotted & ~bad, f"{given} is written with a dot between thousands, or with three decimals "
                                "(150.000): write whole numbers without separators")
            bad |= dotted
            # a count of 10^12 tweets made a profile-less account a self-declared bot, which triage never releases
            flag(~bad & num.notna() & (num % 1 != 0), f"{given} is not a whole number")
            flag(~bad & (num > MAX_COUNT), f"{given} is more than any account has (at most {MAX_COUNT:,})")
            if col in REQUIRED_COLUMNS:  # the model cannot do without it: a blank is no account to score
                flag(blank, f"{given} missing")
            out[col] = num.where((num >= 0) & (num <= MAX_COUNT) & (num % 1 == 0) & ~dotted)
        else:
            out[col] = np.nan
    for col in BOOLS:
        out[col] = _to_bool(frame[col]) if col in frame else pd.Series(pd.NA, index=frame.index, dtype="boolean")
        if col in frame:
            flag(unreadable_bool(frame[col]), f"{col} is not a yes/no value (true/false, t/f, yes/no, y/n, 1/0)")

    error = pd.Series(pd.NA, index=frame.index, dtype="string")
    for e in reversed(errors):  # the first failed check wins
        error = error.mask(e.notna(), e.astype("string"))
    return out, error


@functools.cache
def _length_family() -> Any:
    """The handle model's length/pattern family, fitted once per process (its trigram model is cached on disk)."""
    from handleval.features.length import LengthPatternFeatures

    return LengthPatternFeatures().fit(["a"])


def _entropy(text: str) -> float:
    if not text:
        return 0.0
    counts = Counter(text.lower())
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_NOT_ALNUM = re.compile(r"[^0-9a-z]")
_TRAILING_DIGITS = re.compile(r"(\d*)$")


def _alnum_lower(texts: list[str]) -> list[str]:
    """``texts`` lower-cased with everything but ``[0-9a-z]`` removed, computed once per distinct text."""
    table = {t: _NOT_ALNUM.sub("", t.lower()) for t in set(texts)}
    return [table[t] for t in texts]


def _name_similarity(names: pd.Series, screens: pd.Series) -> np.ndarray:
    """fuzz.ratio/100 of the alphanumeric lower-case display name and screen name (0 if either is empty, NaN
    if either is missing). One ``cpdist`` call instead of a Python loop: same scorer, same float64 values."""
    from rapidfuzz import fuzz, process

    out = np.full(len(names), np.nan)
    a = names.to_numpy(dtype=object, na_value=None)
    b = screens.to_numpy(dtype=object, na_value=None)
    both = np.fromiter((isinstance(x, str) and isinstance(y, str) for x, y in zip(a, b, strict=True)),
                       dtype=bool, count=len(a))
    idx = np.flatnonzero(both)
    if not len(idx):
        return out
    a2 = _alnum_lower(a[idx].tolist())
    b2 = _alnum_lower(b[idx].tolist())
    filled = np.fromiter((bool(x) and bool(y) for x, y in zip(a2, b2, strict=True)), dtype=bool, count=len(idx))
    sim = np.zeros(len(idx))
    if filled.any():
        pick = np.flatnonzero(filled)
        sim[pick] = process.cpdist([a2[i] for i in pick], [b2[i] for i in pick], scorer=fuzz.ratio,
                                   dtype=np.float64, workers=1) / 100.0
    out[idx] = sim
    return out


def _bool_num(s: pd.Series) -> np.ndarray:
    return s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def compute_features(p: pd.DataFrame) -> pd.DataFrame:
    """Every feature in ``FEATURES`` for prepared rows (missing inputs give NaN, never an exception)."""
    age = (p["observed_at"] - p["created_at"]).dt.total_seconds().to_numpy(dtype=float) / 86400.0
    age = np.clip(age, 1.0, None)  # an account seen on its first day has lived one day
    c = {k: p[k].to_numpy(dtype=float) for k in COUNTS}
    f: dict[str, Any] = {}
    f["cnt__log_statuses"] = np.log1p(c["statuses_count"])
    f["cnt__log_followers"] = np.log1p(c["followers_count"])
    f["cnt__log_friends"] = np.log1p(c["friends_count"])
    f["cnt__log_favourites"] = np.log1p(c["favourites_count"])
    f["cnt__log_listed"] = np.log1p(c["listed_count"])
    f["age__log_days"] = np.log(age)
    f["rate__log_statuses_per_day"] = np.log1p(c["statuses_count"] / age)
    f["rate__log_followers_per_day"] = np.log1p(c["followers_count"] / age)
    f["rate__log_friends_per_day"] = np.log1p(c["friends_count"] / age)
    f["rate__log_favourites_per_day"] = np.log1p(c["favourites_count"] / age)
    fo, fr = c["followers_count"], c["friends_count"]
    with np.errstate(invalid="ignore", divide="ignore"):
        f["ratio__followers_share"] = np.where(fo + fr > 0, fo / (fo + fr), 0.5)
    f["ratio__log_followers_per_friend"] = np.log1p(fo) - np.log1p(fr)
    f["ratio__log_favourites_per_status"] = np.log1p(c["favourites_count"]) - np.log1p(c["statuses_count"])
    f["ratio__log_listed_per_follower"] = np.log1p(c["listed_count"]) - np.log1p(fo)

    desc = p["description"].fillna("")
    f["prof__default_profile"] = _bool_num(p["default_profile"])
    f["prof__default_profile_image"] = _bool_num(p["default_profile_image"])
    f["prof__has_description"] = (desc.str.len() > 0).to_numpy(dtype=float)
    f["prof__has_location"] = p["location"].notna().to_numpy(dtype=float)
    f["prof__has_url"] = p["url"].notna().to_numpy(dtype=float)
    f["prof__completeness"] = (
        f["prof__has_description"] + f["prof__has_location"]
        + (1 - np.nan_to_num(f["prof__default_profile"], nan=0.5))
        + (1 - np.nan_to_num(f["prof__default_profile_image"], nan=0.5))
    )
    f["desc__length"] = desc.str.len().to_numpy(dtype=float)
    f["desc__n_hashtags"] = desc.str.count(r"#\w").to_numpy(dtype=float)
    f["desc__n_mentions"] = desc.str.count(r"@\w").to_numpy(dtype=float)
    f["desc__has_link"] = desc.str.contains(_LINK).to_numpy(dtype=float)
    f["desc__says_bot"] = desc.str.contains(_BOT_WORD).to_numpy(dtype=float)

    sn = p["screen_name"].fillna("")
    n = sn.str.len().to_numpy(dtype=float)
    digits = sn.str.count(r"\d").to_numpy(dtype=float)
    f["sn__length"] = n
    f["sn__n_digits"] = digits
    f["sn__digit_share"] = np.where(n > 0, digits / np.maximum(n, 1), 0.0)
    sn_list = sn.tolist()
    f["sn__trailing_digits"] = np.fromiter((len(_TRAILING_DIGITS.search(t).group(1)) for t in sn_list),
                                           dtype=float, count=len(sn_list))
    letters = sn.str.count(r"[A-Za-z]").to_numpy(dtype=float)
    f["sn__upper_share"] = np.where(letters > 0, sn.str.count(r"[A-Z]").to_numpy(dtype=float)
                                    / np.maximum(letters, 1), 0.0)
    f["sn__n_underscores"] = sn.str.count("_").to_numpy(dtype=float)
    uniq = {s: _entropy(s) for s in sn.unique()}
    f["sn__entropy"] = sn.map(uniq).to_numpy(dtype=float)
    f["sn__says_bot"] = sn.str.contains(_BOT_SN).to_numpy(dtype=float)
    # Random-looking generated names (the handle price model's length family, on the lower-cased name).
    shape = _length_family().transform(sn.str.lower().tolist())
    # A name without letters has no pronounceability: it gets the floor of the scale rather than NaN (a missing
    # value pattern that only some collections have would help identify them).
    f["sn__pronounceability"] = np.nan_to_num(shape["len__pronounce_loglik"].to_numpy(dtype=float), nan=-6.0)
    f["sn__consonant_cluster"] = np.nan_to_num(shape["len__max_consonant_cluster"].to_numpy(dtype=float))
    f["sn__vowel_share"] = np.nan_to_num(shape["len__vowel_ratio"].to_numpy(dtype=float))
    f["sn__has_year"] = shape["len__year"].notna().to_numpy(dtype=float)

    has_desc = f["prof__has_description"] > 0
    letters_d = desc.str.count(r"[A-Za-z]").to_numpy(dtype=float)
    f["desc__n_words"] = desc.str.split().str.len().fillna(0).to_numpy(dtype=float)
    f["desc__upper_share"] = np.where(letters_d > 0, desc.str.count(r"[A-Z]").to_numpy(dtype=float)
                                      / np.maximum(letters_d, 1), 0.0)
    f["desc__non_ascii_share"] = np.where(has_desc, desc.str.count(r"[^\x00-\x7f]").to_numpy(dtype=float)
                                          / np.maximum(f["desc__length"], 1), 0.0)
    f["desc__n_emoji"] = desc.str.count(_EMOJI).to_numpy(dtype=float)
    f["desc__says_follow"] = desc.str.contains("follow", case=False).to_numpy(dtype=float)
    f["desc__n_digits"] = desc.str.count(r"\d").to_numpy(dtype=float)
    # Twitter stopped new follows at 2,000 until an account had enough followers: farms pile up there.
    f["cnt__friends_at_follow_cap"] = np.where(np.isnan(c["friends_count"]), np.nan,
                                               ((c["friends_count"] >= 1990) & (c["friends_count"] <= 2010)))

    name = p["name"]
    has_name = name.notna().to_numpy()
    nm = name.fillna("")
    f["name__length"] = np.where(has_name, nm.str.len(), np.nan)
    f["name__n_words"] = np.where(has_name, nm.str.split().str.len(), np.nan)
    nlen = nm.str.len().to_numpy(dtype=float)
    f["name__digit_share"] = np.where(has_name, nm.str.count(r"\d").to_numpy(dtype=float)
                                      / np.maximum(nlen, 1), np.nan)
    f["name__sim_screen_name"] = _name_similarity(name, p["screen_name"])
    f["name__says_bot"] = np.where(has_name, nm.str.contains(_BOT_WORD).to_numpy(dtype=float), np.nan)
    return pd.DataFrame({k: np.asarray(f[k], dtype=float) for k in FEATURES}, index=p.index)


class AccountFeaturizer(Transformer):
    """User-object rows -> numeric feature frame (scikit-learn transformer).

    ``exclude_inputs``: raw columns to ignore (features needing them are dropped, e.g. columns a training set
    lacks); ``drop_features``: feature names to drop. ``fit`` only fixes the output columns, so the featurizer
    is stateless with respect to the data and can be rebuilt from the manifest's feature list."""

    def __init__(self, exclude_inputs: tuple[str, ...] = (), drop_features: tuple[str, ...] = ()):
        self.exclude_inputs = exclude_inputs
        self.drop_features = drop_features

    def fit(self, X: pd.DataFrame, y: Any = None) -> AccountFeaturizer:
        """Fix the output columns (one name given as a string is that name, not its letters)."""
        excluded = set(as_names(self.exclude_inputs))
        dropped = set(as_names(self.drop_features))
        unknown = dropped - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown feature(s) to drop: {', '.join(sorted(unknown))}")
        self.feature_names_out_ = np.asarray([
            name for name, inputs in FEATURE_INPUTS.items() if name not in dropped and not excluded.intersection(inputs)
        ], dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The features of each row (NaN where an input is unknown); a frame lacking a column the model cannot do
        without is refused, as ``flag`` refuses it (it gave features of guessed values: a followers share of 0.5)."""
        check_is_fitted(self, "feature_names_out_")
        missing = missing_required(X.columns)
        if missing:
            raise DataFormatError(f"the accounts lack required column(s) {'; '.join(missing)}; `handleval flag "
                                  "--help` lists every accepted column")
        prepared, _ = prepare_accounts(X, now=_fixed_now(X))
        return compute_features(prepared)[list(self.feature_names_out_)]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_out_, dtype=object)


def _fixed_now(X: pd.DataFrame) -> pd.Timestamp | None:
    """The same 'now' for a whole batch (observed_at defaults to it)."""
    return pd.Timestamp.now(tz="UTC") if "observed_at" not in X else None
