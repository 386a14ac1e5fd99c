"""Labelled bot/human account sets under ``accounts/`` as one canonical account table.

``load_account_table()`` reads every set that holds raw Twitter v1.1 user objects and returns one row per
account with the API's column names, plus:

* ``observed_at`` - when the profile (its counts) was seen: Cresci-2017 ``crawled_at`` (fake_followers:
  ``updated``), Cresci-2015 ``updated`` (the release crawl), the Bot Repository collection date (latest probe
  in the file), the Kaggle-2017 collection date (latest status in the file) and the 2020 re-hydration date
  (``created_at + account_age_days``). Account age must be measured against this, never against today,
  or age leaks the collection year (= the source set).
* ``last_active_at`` - only where a set records it: the Kaggle-2017 ``status`` (latest tweet) and the Bot
  Repository probe tweet time (*assumption*: the probe is the account's latest tweet; SOURCE.txt cannot
  verify it). ``last_active_kind`` says which.
* ``label`` (``bot``/``human``), ``source`` (e.g. ``cresci2017/social_spambots_1``) and ``source_set`` (the
  folder under ``accounts/``: the unit of leave-one-dataset-out evaluation).
* ``bot_type`` - for bots whose group says what they do (``BOT_TYPES``, see ``bot_type_of``): fake follower,
  spam, amplifier (retweet/political), self-declared; missing for humans and for bots of unknown kind.

Encoding quirks are normalised here so no model can learn them: Cresci booleans are ``1``/blank (the MySQL
dump wrote API ``false`` as blank), so blank means False, while the literal ``NULL`` of the 2010 crawl means
"field did not exist yet" and becomes missing (``default_profile*`` is then derived from the profile image
and theme URLs, which that crawl does have). ``TRUE``/``FALSE``/``1.0`` strings, two Excel-mangled date formats,
epoch-millisecond dates and the 2020 set's ``location == "unknown"`` placeholder are normalised too.

Rows are never dropped silently: every rejected row is counted per source with a reason in the
``LoadReport``, including cross-set de-duplication (reasons starting with ``duplicate id``) - see
``SOURCE_PRIORITY`` for the rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from handleval._dates import status_created_at
from handleval.config import data_dir as default_data_dir
from handleval.data.report import LoadReport, SourceReport
from handleval.errors import DataFormatError

COUNT_COLUMNS = ["statuses_count", "followers_count", "friends_count", "favourites_count", "listed_count"]
BOOL_COLUMNS = ["verified", "default_profile", "default_profile_image", "geo_enabled", "protected"]
ACCOUNT_COLUMNS = [
    "id", "screen_name", "name", "created_at", *COUNT_COLUMNS, *BOOL_COLUMNS, "description", "url", "location",
    "lang", "profile_image_url", "observed_at", "last_active_at", "last_active_kind", "label", "source",
    "source_set", "bot_type",
]

#: Bot types (like Botometer's sub-scores), from the group labels the sets carry.
BOT_TYPES = ("fake_follower", "spam", "amplifier", "self_declared")

# source (or its group prefix) -> bot type. Why each: Cresci-2017 social_spambots_1 retweeted a political
# candidate (amplifier), _2/_3 and the traditional spambots advertised apps, products, links (spam), fake_followers
# and the Cresci-2015 FSF/INT/TWT groups were bought followers; the Bot Repository lists are named for what they
# hold; in the 2020 re-hydration the per-id provenance names the list (midterm-2018 and political: political
# bots; cresci-stock-2018: cashtag spam). Gilani, Varol, feedback and Kaggle-2017 bots are of no single kind.
_TYPE_BY_SOURCE = {
    "cresci2017/social_spambots_1": "amplifier", "cresci2017/social_spambots_2": "spam",
    "cresci2017/social_spambots_3": "spam", "cresci2017/traditional_spambots": "spam",
    "cresci2017/fake_followers": "fake_follower", "cresci2015_bas/FSF": "fake_follower",
    "cresci2015_bas/INT": "fake_follower", "cresci2015_bas/TWT": "fake_follower",
    "botrepo_botwiki2019": "self_declared", "botrepo_vendor2019": "fake_follower", "botrepo_pronbots2019": "spam",
    "botrepo_political2019": "amplifier",
    "twitter_human_bots_2020_subset/botwiki-2019": "self_declared",
    "twitter_human_bots_2020_subset/vendor-purchased-2019": "fake_follower",
    "twitter_human_bots_2020_subset/pronbots-2019": "spam",
    "twitter_human_bots_2020_subset/cresci-stock-2018": "spam",
    "twitter_human_bots_2020_subset/midterm-2018": "amplifier",
    "twitter_human_bots_2020_subset/political-bots-2019": "amplifier",
}


def bot_type_of(source: str, label: str) -> str | None:
    """The bot type of a bot from ``source`` (exact source, or its group before a trailing ``_<n>``); None for
    humans and for bots of unknown kind."""
    if label != "bot":
        return None
    return _TYPE_BY_SOURCE.get(source) or _TYPE_BY_SOURCE.get(re.sub(r"_\d+$", "", source))

# De-duplication rule. An id that occurs in several sets keeps the row of the set listed first here; the
# other rows are rejected as "duplicate id". Why this order: the Bot Repository 2019 sets come first because
# they carry the probe time (the only last-activity signal besides Kaggle-2017); Cresci-2015 precedes
# Cresci-2017 so that both Cresci sets keep both classes (all 1,950 Cresci-2015 fakes are re-crawls of
# Cresci-2017 fake_followers); the 2020 re-hydration comes last because it is the largest set and its
# overlaps are a small share of it. If the labels of one id disagree (between table rows, or with a Bot
# Repository label list), every row of that id is rejected: neither label can be trusted.
SOURCE_PRIORITY = [
    "botrepo_verified2019", "botrepo_botwiki2019", "botrepo_vendor2019", "botrepo_political2019",
    "botrepo_pronbots2019", "cresci2015_bas", "cresci2017", "kaggle_bots_2017", "twitter_human_bots_2020_subset",
]

# Columns a set does not provide at all (absent from its files, or present but never filled: the Bot
# Repository 2019 files were collected after the API stopped filling ``lang``). A model feature that needs one
# of these would be missing for a whole set - a source signature - so the trainer only uses features whose
# inputs every training set provides.
UNAVAILABLE_COLUMNS: dict[str, frozenset[str]] = {
    "cresci2017": frozenset(),
    "cresci2015_bas": frozenset(),
    "botrepo_verified2019": frozenset({"lang"}),
    "botrepo_botwiki2019": frozenset({"lang"}),
    "botrepo_vendor2019": frozenset(),
    "botrepo_political2019": frozenset(),
    "botrepo_pronbots2019": frozenset(),
    "kaggle_bots_2017": frozenset({"geo_enabled", "protected"}),
    "twitter_human_bots_2020_subset": frozenset({"name", "url", "listed_count", "protected"}),
}

# Sets under accounts/ that are deliberately not part of the canonical table, and why.
EXCLUDED_SETS = {
    "gilani2017_processed": "aggregated per-account features computed from tweets (likes_per_tweet, "
    "tweet_frequency, ...), keyed by screen_name without id or raw profile; only 3 of 16 columns map to "
    "profile fields, so it cannot be mapped honestly onto user-object columns",
    "botrepo_labels_only": "ids and labels only (no profile); used for label-conflict checks",
}

_TWITTER_FMT = "%a %b %d %H:%M:%S %z %Y"
_NULLS = {"", "NULL", "null", "None", "nan", "NaN", '""'}


# ----------------------------------------------------------------------------------------------- helpers
def _text(series: pd.Series) -> pd.Series:
    """Strings with every spelling of 'missing' turned into NA and control characters into spaces."""
    s = series.astype("string").str.replace(r"[\x00-\x1f\x7f]", " ", regex=True).str.strip()
    return s.mask(s.isin(_NULLS))


def _bool(series: pd.Series, blank_means_false: bool) -> pd.Series:
    """API booleans from ``True/False``, ``TRUE/FALSE``, ``1/1.0/0`` strings. Blank is False only where the
    source documents blank as the dump of ``false`` (Cresci); ``NULL`` is always unknown."""
    from handleval.accounts.features import _to_bool  # the one reading of yes/no everywhere

    out = _to_bool(series)
    if blank_means_false:
        raw = series.astype("string").str.strip()
        out[(raw.isna() | (raw == "")).fillna(False)] = False
    return out


def _parse_twitter_dates(series: pd.Series) -> pd.Series:
    """Twitter's ``Tue Jun 11 11:20:35 +0000 2013``, epoch milliseconds ``1183552203000L`` or ISO strings, as
    UTC; anything else is NaT."""
    s = series.astype("string").str.strip().str.strip('"')
    out = pd.to_datetime(s, format=_TWITTER_FMT, errors="coerce", utc=True)
    epoch = s.str.fullmatch(r"\d{12,13}L?").fillna(False) & out.isna()
    if epoch.any():
        out[epoch] = pd.to_datetime(s[epoch].str.rstrip("L").astype("int64"), unit="ms", utc=True)
    iso = s.str.fullmatch(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?").fillna(False) & out.isna()
    if iso.any():
        out[iso] = pd.to_datetime(s[iso], utc=True, errors="coerce")
    return out


def _parse_kaggle_dates(series: pd.Series, observed_at: pd.Timestamp) -> tuple[pd.Series, int]:
    """Kaggle-2017 ``created_at`` went through a spreadsheet: besides Twitter's format it holds ``m/d/yyyy H:MM``
    and ``dd-mm-yyyy HH:MM`` *and* ``mm-dd-yyyy HH:MM`` (both occur: ``13-03-2017`` and ``02-12-2017`` - the
    latter cannot be 2 Dec 2017 in a March-2017 crawl). A dash date is read day-first unless that is
    impossible (field > 12 or after the crawl); the count of still-ambiguous values is returned for the report.
    """
    s = series.astype("string").str.strip().str.strip('"')
    out = _parse_twitter_dates(s)
    slash = s.str.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d").fillna(False) & out.isna()
    out[slash] = pd.to_datetime(s[slash], format="%m/%d/%Y %H:%M", errors="coerce", utc=True)
    dash = s.str.fullmatch(r"\d\d-\d\d-\d{4} \d{1,2}:\d\d").fillna(False) & out.isna()
    day_first = pd.to_datetime(s[dash], format="%d-%m-%Y %H:%M", errors="coerce", utc=True)
    month_first = pd.to_datetime(s[dash], format="%m-%d-%Y %H:%M", errors="coerce", utc=True)
    day_ok = day_first.notna() & (day_first <= observed_at)
    month_ok = month_first.notna() & (month_first <= observed_at)
    out[dash] = day_first.where(day_ok, month_first.where(month_ok))
    ambiguous = int((day_ok & month_ok & (day_first != month_first)).sum())
    return out, ambiguous


def _counts(frame: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Non-negative integer counts; returns the parsed columns and a mask of rows with a bad value."""
    bad = pd.Series(False, index=frame.index)
    parsed = {}
    for col in columns:
        if col not in frame:
            parsed[col] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
            continue
        raw = frame[col].astype("string").str.strip()
        num = pd.to_numeric(raw, errors="coerce")
        invalid = raw.notna() & (raw != "") & (num.isna() | (num < 0) | (num != np.floor(num)))
        if col != "listed_count":
            invalid |= num.isna()
        bad |= invalid.fillna(True)
        parsed[col] = num.where(~invalid).astype("Float64").round().astype("Int64")
    return pd.DataFrame(parsed, index=frame.index), bad


def _ids(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Integer ids; ``8.41E+17`` (a spreadsheet destroyed the digits) and other non-integers are invalid."""
    raw = series.astype("string").str.strip().str.strip('"')
    ok = raw.str.fullmatch(r"\d{1,20}").fillna(False)
    ids = pd.Series(pd.NA, index=series.index, dtype="Int64")
    ids[ok] = raw[ok].astype("int64")
    return ids, ~ok


def _read_csv(path: Path, **kwargs: object) -> pd.DataFrame:
    if not path.is_file():
        raise DataFormatError(f"account file missing: {path}")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, **kwargs)  # type: ignore[call-overload]
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path}: cannot be parsed as CSV: {exc}") from exc


def _require(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataFormatError(f"{path}: missing required column(s) {', '.join(missing)}")


def _finish(raw: pd.DataFrame, rep: SourceReport, *, ids: pd.Series, bad_id: pd.Series,
            created: pd.Series, observed: pd.Series, extra: dict[str, pd.Series]) -> pd.DataFrame:
    """Shared validation: reject rows with a bad id, screen name, count or date, with the reason."""
    counts, bad_count = _counts(raw, COUNT_COLUMNS)
    screen = _text(raw["screen_name"]) if "screen_name" in raw else pd.Series(pd.NA, index=raw.index)
    checks = [
        (bad_id, "id is not an integer (e.g. spreadsheet scientific notation): cannot de-duplicate"),
        (screen.isna(), "missing screen_name"),
        (bad_count, "count column not a non-negative integer (misaligned or corrupt row)"),
        (created.isna(), "created_at unparseable"),
        (observed.isna(), "observed_at unknown"),
        (created > observed + pd.Timedelta(days=1), "created_at after observed_at"),
    ]
    keep = pd.Series(True, index=raw.index)
    for mask, reason in checks:
        mask = mask.fillna(True).astype(bool) & keep
        rep.reject(reason, int(mask.sum()))
        keep &= ~mask
    if "last_active_at" in extra:  # a last activity before the account existed is unknown, not years of silence
        last = pd.to_datetime(extra["last_active_at"], utc=True)
        impossible = (last < created - pd.Timedelta(days=1)).fillna(False).astype(bool) & keep
        if impossible.any():
            extra = {**extra, "last_active_at": last.mask(impossible)}
            rep.notes.append(f"{int(impossible.sum()):,} last_active_at before created_at: taken as unknown")
    out = pd.DataFrame({"id": ids, "screen_name": screen, "created_at": created, **counts,
                        "observed_at": observed, **extra, "_report": rep.source}, index=raw.index)
    for col in ("name", "description", "url", "location", "lang", "profile_image_url"):
        if col not in out:
            out[col] = _text(raw[col]) if col in raw else pd.Series(pd.NA, index=raw.index, dtype="string")
    return out[keep]


# ------------------------------------------------------------------------------------------- per-set readers
_CRESCI17_GROUPS = {
    "genuine_accounts": "human", "social_spambots_1": "bot", "social_spambots_2": "bot",
    "social_spambots_3": "bot", "traditional_spambots_1": "bot", "traditional_spambots_2": "bot",
    "traditional_spambots_3": "bot", "traditional_spambots_4": "bot", "fake_followers": "bot",
}


def _derive_default_flags(raw: pd.DataFrame, flags: dict[str, pd.Series]) -> None:
    """The 2010 crawl predates ``default_profile``/``default_profile_image`` (``NULL``); derive them from the
    URLs it does have: the default avatar is ``default_profile_images/...`` and the default theme is
    ``themes/theme1``. Filled only where the flag is missing."""
    img = _text(raw.get("profile_image_url", pd.Series(pd.NA, index=raw.index)))
    bg = _text(raw.get("profile_background_image_url", pd.Series(pd.NA, index=raw.index)))
    for col, derived in (("default_profile_image", img.str.contains("default_profile_images")),
                         ("default_profile", bg.str.contains(r"themes/theme1/"))):
        missing = flags[col].isna() & derived.notna()
        flags[col] = flags[col].mask(missing, derived.astype("boolean"))


def _cresci_frame(raw: pd.DataFrame, rep: SourceReport, *, observed: pd.Series, label: pd.Series | str,
                  source: pd.Series | str, source_set: str) -> pd.DataFrame:
    ids, bad_id = _ids(raw["id"])
    created = _parse_twitter_dates(raw["created_at"])
    flags = {c: _bool(raw[c], blank_means_false=True) if c in raw else pd.Series(pd.NA, index=raw.index,
                                                                                dtype="boolean")
             for c in BOOL_COLUMNS}
    for c in BOOL_COLUMNS:  # the literal NULL of old crawls is "unknown", not False
        if c in raw:
            flags[c] = flags[c].mask(raw[c].astype("string").str.strip() == "NULL")
    _derive_default_flags(raw, flags)
    extra = {**flags, "last_active_at": pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]"),
             "last_active_kind": pd.Series(pd.NA, index=raw.index, dtype="string"),
             "label": label, "source": source, "source_set": source_set}
    return _finish(raw, rep, ids=ids, bad_id=bad_id, created=created, observed=observed, extra=extra)


def _load_cresci2017(root: Path, report: LoadReport) -> list[pd.DataFrame]:
    frames = []
    for group, label in _CRESCI17_GROUPS.items():
        path = root / "cresci2017" / f"{group}.users.csv"
        raw = _read_csv(path)
        _require(raw, ["id", "screen_name", "created_at", "statuses_count"], path)
        rep = report.source(f"cresci2017/{group}")
        rep.rows_read = len(raw)
        when = raw["crawled_at"] if "crawled_at" in raw else raw["updated"]
        if "crawled_at" not in raw:
            rep.notes.append("no crawled_at: observed_at = updated (the 2013 crawl)")
        observed = pd.to_datetime(when.str.strip(), errors="coerce", utc=True)
        frame = _cresci_frame(raw, rep, observed=observed, label=label, source=f"cresci2017/{group}",
                              source_set="cresci2017")
        if group == "traditional_spambots_1":
            rep.notes.append("2010 crawl: default_profile(_image) are NULL; derived from image/theme URLs")
        rep.rows_loaded = len(frame)
        frames.append(frame)
    return frames


def _load_cresci2015(root: Path, report: LoadReport) -> list[pd.DataFrame]:
    path = root / "cresci2015_bas" / "bas_users.csv"
    raw = _read_csv(path)
    _require(raw, ["id", "screen_name", "created_at", "dataset", "updated"], path)
    labels = raw["dataset"].map({"E13": "human", "TFP": "human", "FSF": "bot", "INT": "bot", "TWT": "bot"})
    rep = report.source("cresci2015_bas")
    rep.rows_read = len(raw)
    unknown = labels.isna()
    rep.reject("unknown `dataset` group (label)", int(unknown.sum()))
    raw, labels = raw[~unknown], labels[~unknown]
    observed = pd.to_datetime(raw["updated"].str.strip(), errors="coerce", utc=True)
    frame = _cresci_frame(raw, rep, observed=observed, label=labels,
                          source="cresci2015_bas/" + raw["dataset"], source_set="cresci2015_bas")
    rep.rows_loaded = len(frame)
    return [frame]


def _load_botrepo(root: Path, report: LoadReport, folder: str) -> list[pd.DataFrame]:
    path = root / folder / "users_flat.csv"
    raw = _read_csv(path)
    _require(raw, ["id", "screen_name", "created_at", "probe_created_at", "label"], path)
    rep = report.source(folder)
    rep.rows_read = len(raw)
    label = raw["label"].str.strip().str.lower()
    unlabelled = ~label.isin(["bot", "human"])
    rep.reject("id not in the set's label file (no label)", int(unlabelled.sum()))
    raw, label = raw[~unlabelled], label[~unlabelled]
    probe = _parse_twitter_dates(raw["probe_created_at"])
    collected = probe.max()
    rep.notes.append(f"observed_at = collection date {collected:%Y-%m-%d} (latest probe in the file); "
                     "last_active_at = probe tweet time (ASSUMPTION: the account's latest tweet)")
    ids, bad_id = _ids(raw["id"])
    flags = {c: _bool(raw[c], blank_means_false=False) if c in raw else pd.Series(pd.NA, index=raw.index,
                                                                                 dtype="boolean")
             for c in BOOL_COLUMNS}
    extra = {**flags, "last_active_at": probe,
             "last_active_kind": pd.Series("probe_tweet_assumed_latest", index=raw.index, dtype="string"),
             "label": label, "source": folder, "source_set": folder}
    observed = pd.Series(collected, index=raw.index)
    frame = _finish(raw, rep, ids=ids, bad_id=bad_id, created=_parse_twitter_dates(raw["created_at"]),
                    observed=observed, extra=extra)
    rep.rows_loaded = len(frame)
    return [frame]


def _status_time(status: pd.Series) -> pd.Series:
    """The latest tweet's time (:func:`~handleval._dates.status_created_at`), read in Twitter's format."""
    return pd.to_datetime(status_created_at(status), format=_TWITTER_FMT, errors="coerce", utc=True)


def _load_kaggle2017(root: Path, report: LoadReport) -> list[pd.DataFrame]:
    folder = root / "kaggle_bots_2017"
    raws = {}
    for name in ("bots_data.csv", "nonbots_data.csv", "test.csv"):
        raw = _read_csv(folder / name, encoding="utf-8-sig")
        raw = raw.rename(columns={"listedcount": "listed_count"})
        _require(raw, ["id", "screen_name", "created_at", "status", "bot"], folder / name)
        raws[name] = raw
    # The crawl date is not stated; the latest status across the files is its lower bound (2017-03-14).
    status_times = {name: _status_time(raw["status"]) for name, raw in raws.items()}
    observed_at = max(t.max() for t in status_times.values())
    frames = []
    for name, raw in raws.items():
        rep = report.source(f"kaggle_bots_2017/{name}")
        rep.rows_read = len(raw)
        rep.notes.append(f"observed_at = {observed_at:%Y-%m-%d %H:%M} (latest status in the set); "
                         "last_active_at = the `status` tweet time")
        label = raw["bot"].str.strip().map({"1": "bot", "0": "human"})
        bad_label = label.isna()
        rep.reject("bot column not 0/1 (misaligned row)", int(bad_label.sum()))
        raw, label, last = raw[~bad_label], label[~bad_label], status_times[name][~bad_label]
        created, ambiguous = _parse_kaggle_dates(raw["created_at"], observed_at)
        if ambiguous:
            rep.notes.append(f"{ambiguous} created_at values valid both day- and month-first; read day-first")
        ids, bad_id = _ids(raw["id"])
        flags = {c: _bool(raw[c], blank_means_false=False) if c in raw else pd.Series(pd.NA, index=raw.index,
                                                                                     dtype="boolean")
                 for c in BOOL_COLUMNS}
        last = last.where(last <= observed_at)
        extra = {**flags, "last_active_at": last,
                 "last_active_kind": pd.Series("latest_status", index=raw.index, dtype="string").where(
                     last.notna()),
                 "label": label, "source": f"kaggle_bots_2017/{name.removesuffix('.csv')}",
                 "source_set": "kaggle_bots_2017"}
        frame = _finish(raw, rep, ids=ids, bad_id=bad_id, created=created,
                        observed=pd.Series(observed_at, index=raw.index), extra=extra)
        # Exact duplicate ids inside one file: keep the first occurrence (same account listed twice).
        dup = frame["id"].duplicated(keep="first")
        rep.reject("duplicate id within the file", int(dup.sum()))
        frame = frame[~dup]
        rep.rows_loaded = len(frame)
        frames.append(frame)
    return frames


def _load_thb2020(root: Path, report: LoadReport) -> list[pd.DataFrame]:
    folder = root / "twitter_human_bots_2020_subset"
    prov_path = folder / "provenance_by_id.csv"
    prov = _read_csv(prov_path)
    _require(prov, ["id", "source_datasets"], prov_path)
    provenance = dict(zip(prov["id"].str.strip(), prov["source_datasets"].str.strip(), strict=True))
    frames = []
    for name in ("val_10pct.csv", "test_10pct.csv"):
        path = folder / name
        raw = _read_csv(path)
        _require(raw, ["id", "screen_name", "created_at", "account_age_days", "account_type"], path)
        rep = report.source(f"twitter_human_bots_2020_subset/{name}")
        rep.rows_read = len(raw)
        label = raw["account_type"].str.strip().map({"1": "bot", "0": "human", "bot": "bot", "human": "human"})
        bad = label.isna()
        rep.reject("account_type not bot/human (a record broken by an unquoted line break)", int(bad.sum()))
        raw, label = raw[~bad], label[~bad]
        created = _parse_twitter_dates(raw["created_at"])
        age = pd.to_numeric(raw["account_age_days"], errors="coerce")
        hydrated = (created + pd.to_timedelta(age, unit="D")).median()
        rep.notes.append(f"observed_at = {hydrated:%Y-%m-%d} (median created_at + account_age_days: the 2020 "
                         "re-hydration); location 'unknown' is a placeholder -> missing; no listed_count, url")
        ids, bad_id = _ids(raw["id"])
        flags = {c: _bool(raw[c], blank_means_false=False) if c in raw else pd.Series(pd.NA, index=raw.index,
                                                                                     dtype="boolean")
                 for c in BOOL_COLUMNS}
        src = raw["id"].str.strip().map(provenance).fillna("unknown").str.replace(";", "+")
        raw = raw.assign(location=raw["location"].mask(raw["location"].str.strip().str.lower() == "unknown", ""))
        extra = {**flags, "last_active_at": pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]"),
                 "last_active_kind": pd.Series(pd.NA, index=raw.index, dtype="string"),
                 "label": label, "source": "twitter_human_bots_2020_subset/" + src,
                 "source_set": "twitter_human_bots_2020_subset"}
        frame = _finish(raw, rep, ids=ids, bad_id=bad_id, created=created,
                        observed=pd.Series(hydrated, index=raw.index), extra=extra)
        rep.rows_loaded = len(frame)
        frames.append(frame)
    return frames


def _label_lists(root: Path) -> dict[int, dict[str, str]]:
    """id -> {list name: label} from the Bot Repository label-only lists (for conflict checks)."""
    folder = root / "botrepo_labels_only"
    out: dict[int, dict[str, str]] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".tsv", ".csv") or path.name.startswith("twitter_human_bots"):
            continue  # the 2020 id list is the 2020 set's own label source, not an independent label
        sep = "\t" if path.suffix == ".tsv" else ","
        frame = pd.read_csv(path, sep=sep, header=None, dtype=str, names=["id", "label"], keep_default_na=False,
                            on_bad_lines="skip")
        ids = frame["id"].str.strip().str.extract(r"(\d+)$")[0]
        lab = frame["label"].str.strip().str.lower().map({"bot": "bot", "human": "human", "1": "bot", "0": "human"})
        ok = ids.notna() & lab.notna()
        for i, lb in zip(ids[ok].astype("int64"), lab[ok], strict=True):
            out.setdefault(int(i), {})[path.stem] = lb
    return out


_LOADERS: dict[str, Callable[[Path, LoadReport], list[pd.DataFrame]]] = {
    "cresci2017": _load_cresci2017,
    "cresci2015_bas": _load_cresci2015,
    "botrepo_verified2019": lambda r, rep: _load_botrepo(r, rep, "botrepo_verified2019"),
    "botrepo_botwiki2019": lambda r, rep: _load_botrepo(r, rep, "botrepo_botwiki2019"),
    "botrepo_vendor2019": lambda r, rep: _load_botrepo(r, rep, "botrepo_vendor2019"),
    "botrepo_political2019": lambda r, rep: _load_botrepo(r, rep, "botrepo_political2019"),
    "botrepo_pronbots2019": lambda r, rep: _load_botrepo(r, rep, "botrepo_pronbots2019"),
    "kaggle_bots_2017": _load_kaggle2017,
    "twitter_human_bots_2020_subset": _load_thb2020,
}


def deduplicate(table: pd.DataFrame, report: LoadReport,
                label_lists: dict[int, dict[str, str]] | None = None) -> pd.DataFrame:
    """Apply the ``SOURCE_PRIORITY`` rule: one row per id; conflicting labels reject every row of the id.

    ``table`` needs ``id, label, source_set`` and a ``_report`` column naming each row's report entry; the
    rejected rows are counted there (and ``rows_loaded`` lowered) so the report still adds up."""
    label_lists = label_lists or {}
    rank = table["source_set"].map({s: i for i, s in enumerate(SOURCE_PRIORITY)}).fillna(len(SOURCE_PRIORITY))
    table = table.assign(_rank=rank.astype(int))
    n_labels = table.groupby("id")["label"].transform("nunique")
    external = table["id"].map(lambda i: label_lists.get(int(i), {}))
    ext_conflict = [
        next((f"{name} says {lab}" for name, lab in ext.items() if lab != row_label), None)
        for ext, row_label in zip(external, table["label"], strict=True)
    ]
    ext_conflict = pd.Series(ext_conflict, index=table.index)
    id_ext_conflict = ext_conflict.notna().groupby(table["id"]).transform("any")
    reject_reason = pd.Series(pd.NA, index=table.index, dtype="string")
    reject_reason[n_labels > 1] = "label conflict: the same id is bot in one set and human in another"
    mask = reject_reason.isna() & id_ext_conflict
    reject_reason[mask] = "label conflict with a Bot Repository label list"
    survivors = table[reject_reason.isna()].sort_values(["_rank"], kind="stable")
    keeper = survivors.drop_duplicates("id", keep="first")
    dup = survivors.index.difference(keeper.index)
    reject_reason[dup] = ("duplicate id (same label): kept the row from "
                          + table.loc[dup, "id"].map(keeper.set_index("id")["source_set"]).astype(str))
    for idx, reason in reject_reason.dropna().items():
        rep = report.sources[table.at[idx, "_report"]]
        rep.reject(str(reason))
        rep.rows_loaded -= 1
    return table.loc[reject_reason.isna()].drop(columns=["_rank"])


def account_set_files(accounts: Path, name: str) -> list[Path]:
    """The tables of account set ``name`` under the ``accounts/`` folder ``accounts`` (its CSV and TSV files, sorted):
    what its loader may read, for fingerprints."""
    return sorted(p for p in (accounts / name).iterdir() if p.suffix in (".csv", ".tsv") and p.is_file())


def accounts_folder(root: Path) -> Path:
    """The folder holding the account sets: ``root/accounts`` where the data root is given, else ``root`` itself."""
    return root / "accounts" if (root / "accounts").is_dir() else root


def load_account_table(data_dir: str | Path | None = None, sets: list[str] | None = None,
                       dedupe: bool = True) -> tuple[pd.DataFrame, LoadReport]:
    """The canonical account table and its load report.

    ``data_dir`` is the data root (holding ``accounts/``) or the ``accounts/`` folder itself; default
    ``handleval.config.data_dir()``. ``sets`` restricts to some folders (default: every set in
    ``SOURCE_PRIORITY``). With ``dedupe`` (default) ids are unique across sets (see ``SOURCE_PRIORITY``).
    """
    root = accounts_folder(Path(data_dir) if data_dir is not None else default_data_dir())
    if not root.is_dir():
        raise DataFormatError(f"accounts folder not found: {root}")
    wanted = sets or list(SOURCE_PRIORITY)
    unknown = [s for s in wanted if s not in _LOADERS]
    if unknown:
        raise DataFormatError(f"unknown account set(s) {', '.join(unknown)}: choose from {', '.join(_LOADERS)}")
    report = LoadReport()
    frames: list[pd.DataFrame] = []
    for name in wanted:
        for frame in _LOADERS[name](root, report):
            frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    if dedupe:
        table = deduplicate(table, report, _label_lists(root))
    table = table.drop(columns=["_report"])
    for col in ("screen_name", "name", "description", "url", "location", "lang", "profile_image_url",
                "label", "source", "source_set", "last_active_kind"):
        table[col] = table[col].astype("string")
    for col in ("created_at", "observed_at", "last_active_at"):
        table[col] = pd.to_datetime(table[col], utc=True)
    table["id"] = table["id"].astype("int64")
    table["bot_type"] = pd.Series([bot_type_of(s, lb) for s, lb in zip(table["source"], table["label"], strict=True)],
                                  index=table.index, dtype="string")
    table = table[ACCOUNT_COLUMNS].reset_index(drop=True)
    table.attrs["excluded_sets"] = dict(EXCLUDED_SETS)
    return table, report
