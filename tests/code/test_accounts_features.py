"""Account features: no crawl-date, id or encoding artefacts; row-level input validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from handleval.accounts.features import FEATURES, AccountFeaturizer, compute_features, prepare_accounts


def _accounts() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [11, 22, 33],
        "screen_name": ["Anna_Rossi", "xq82734bot", "news_daily"],
        "name": ["Anna Rossi", "XQ bot", "Daily News"],
        "created_at": ["Tue Jun 11 11:20:35 +0000 2013", "2016-01-02T00:00:00Z", "1183552203000L"],
        "observed_at": ["2015-05-01 12:00:00", "2017-03-14", "2010-11-07"],
        "statuses_count": [2177, 15000, 40], "followers_count": [208, 3, 900], "friends_count": [332, 2000, 950],
        "favourites_count": [265, 0, 8], "listed_count": [1, 0, 2],
        "default_profile": ["1", "0", "0"], "default_profile_image": ["0", "1", "0"],
        "description": ["ciao #roma", "", "news http://x.co @a @b"], "location": ["Roma", None, ""],
    })


def test_time_translation_invariance():
    """Shifting every timestamp by the same amount (another crawl year) changes no feature: account age is
    measured at observed_at, never against today or a calendar year."""
    a = _accounts()
    p, err = prepare_accounts(a)
    assert err.isna().all()
    shifted = p.copy()
    for col in ("created_at", "observed_at"):
        shifted[col] = shifted[col] + pd.Timedelta(days=1234)
    pd.testing.assert_frame_equal(compute_features(p), compute_features(shifted))


def test_no_feature_depends_on_the_numeric_id():
    a = _accounts()
    b = a.assign(id=[99999999999, 1, 5])
    fz = AccountFeaturizer().fit(a)
    pd.testing.assert_frame_equal(fz.transform(a), fz.transform(b))


def test_boolean_encodings_give_identical_features():
    a = _accounts()
    b = a.assign(default_profile=["TRUE", "FALSE", "FALSE"], default_profile_image=[False, True, False])
    c = a.assign(default_profile=[1.0, 0.0, 0.0], default_profile_image=["false", "True", "0"])
    fz = AccountFeaturizer().fit(a)
    pd.testing.assert_frame_equal(fz.transform(a), fz.transform(b))
    pd.testing.assert_frame_equal(fz.transform(a), fz.transform(c))


def test_feature_values_make_sense():
    f = AccountFeaturizer().fit(_accounts()).transform(_accounts())
    assert f.loc[0, "age__log_days"] == pytest.approx(np.log(689.03), abs=0.01)  # 2013-06-11 -> 2015-05-01
    assert f.loc[1, "sn__says_bot"] == 1 and f.loc[0, "sn__says_bot"] == 0
    assert f.loc[1, "sn__trailing_digits"] == 0 and f.loc[1, "sn__n_digits"] == 5
    assert f.loc[2, "desc__n_mentions"] == 2 and f.loc[2, "desc__has_link"] == 1
    assert f.loc[0, "name__sim_screen_name"] == 1.0
    assert f.loc[1, "prof__has_location"] == 0 and f.loc[2, "prof__has_location"] == 0


def test_exclude_inputs_and_feature_names():
    fz = AccountFeaturizer(exclude_inputs=("name", "listed_count"), drop_features=("sn__entropy",)).fit(_accounts())
    names = list(fz.get_feature_names_out())
    assert not any(n.startswith("name__") for n in names)
    assert "cnt__log_listed" not in names and "sn__entropy" not in names
    assert set(names) < set(FEATURES)
    assert list(fz.transform(_accounts()).columns) == names
    with pytest.raises(ValueError, match="unknown feature"):
        AccountFeaturizer(drop_features=("nope",)).fit(_accounts())


def test_row_errors_are_reported_not_raised():
    a = _accounts().astype({"statuses_count": object})
    a.loc[0, "screen_name"] = "  "
    a.loc[1, "created_at"] = "yesterday-ish"
    a.loc[2, "statuses_count"] = "many"
    p, err = prepare_accounts(a)
    assert err.tolist() == ["missing screen_name", "created_at missing or unparseable",
                            "statuses_count is not a non-negative number"]
    assert len(p) == 3 and list(p.index) == list(a.index)


def test_a_count_no_account_can_have_is_a_row_error():
    """10^12 tweets (a profile-less account came out a self-declared bot, which triage never releases) or 1.5
    tweets is a broken input, not an account to score; 10^9 and a whole float are counts."""
    a = pd.concat([_accounts()] * 2, ignore_index=True).astype({"statuses_count": object})
    a["statuses_count"] = [1e12, 1.5, 1e9, 120.0, "7", -1][:len(a)]
    _, err = prepare_accounts(a)
    assert err.tolist()[:2] == ["statuses_count is more than any account has (at most 1,000,000,000)",
                                "statuses_count is not a whole number"]
    assert err.iloc[2:5].isna().all() and err.iloc[5] == "statuses_count is not a non-negative number"


def test_a_blank_required_count_is_a_row_error_and_a_blank_optional_one_is_unknown():
    """An account with empty tweet/follower/friend/like counts is no account to score (it had come out a bot);
    listed_count is optional: blank means unknown."""
    a = _accounts().astype({"followers_count": object, "favourites_count": object, "listed_count": object})
    a.loc[0, "followers_count"] = ""
    a.loc[1, "favourites_count"] = None
    a.loc[2, "listed_count"] = " "
    p, err = prepare_accounts(a)
    assert err.tolist()[:2] == ["followers_count missing", "favourites_count missing"]
    assert pd.isna(err.iloc[2]) and np.isnan(p.loc[2, "listed_count"])
    v2 = pd.DataFrame({"username": ["a"], "created_at": ["2020-01-01"], "public_metrics.tweet_count": [None],
                       "public_metrics.followers_count": [1], "public_metrics.following_count": [2],
                       "public_metrics.like_count": [3]})
    assert prepare_accounts(v2)[1].tolist() == ["public_metrics.tweet_count missing"]  # the input's own name


def test_observed_at_defaults_to_now():
    a = _accounts().drop(columns=["observed_at"])
    now = pd.Timestamp("2020-01-01", tz="UTC")
    p, err = prepare_accounts(a, now=now)
    assert (p["observed_at"] == now).all() and err.isna().all()


def test_a_time_after_the_observation_is_named_as_the_input_names_it():
    """'created_at after observed_at' named a column the input did not have: the error names the input's own
    column for the observation time (probe_created_at), or says 'in the future' where the row was measured now."""
    a = _accounts().rename(columns={"observed_at": "probe_created_at"}).assign(last_active_at=[None, None,
                                                                                               "2014-01-01"])
    a.loc[0, "probe_created_at"] = "2012-01-01"  # before it was created
    a.loc[1, "probe_created_at"] = ""  # measured now: a creation in 2099 is in the future
    a.loc[1, "created_at"] = "2099-01-01"
    err = prepare_accounts(a, now=pd.Timestamp("2020-01-01", tz="UTC"))[1]  # row 2: last active after 2010-11-07
    assert err.tolist() == ["created_at after probe_created_at", "created_at in the future",
                            "last_active_at after probe_created_at"], err.tolist()


def test_a_date_either_order_could_read_is_a_row_error_that_says_so():
    """``12/03/2020`` beside ``13/03/2020`` was read as 3 December (pandas decides per date), making an account
    active 22 days ago dormant for 287. A date with day and month as numbers is read as it can only be read
    (``13/03/2020``, ``03/13/2020``, ``03/03/2020``); one either order could read is a row error that says why,
    whatever the file's other dates (a batch reads a file in chunks: a rule per column would change at their
    borders)."""
    now = pd.Timestamp("2021-01-01", tz="UTC")
    a = _accounts().iloc[:2].assign(observed_at=["12/03/2020 00:00", "13/03/2020 00:00"],
                                    last_active_at=["20/02/2020 00:00", "20/02/2020 00:00"])
    p, err = prepare_accounts(a, now=now)
    assert err.tolist() == ["observed_at could be day-first or month-first: write YYYY-MM-DD", pd.NA]
    assert p.loc[1, "observed_at"].strftime("%Y-%m-%d") == "2020-03-13"
    both = _accounts().assign(created_at=["13/03/2015", "03/13/2015", "03/03/2015"], observed_at="2020-01-01")
    p, err = prepare_accounts(both, now=now)
    assert err.isna().all(), err.tolist()
    assert p["created_at"].dt.strftime("%m-%d").tolist() == ["03-13", "03-13", "03-03"]
    both.loc[2, "created_at"] = "03/12/2015"
    assert prepare_accounts(both, now=now)[1].tolist()[2] == "created_at could be day-first or month-first: " \
        "write YYYY-MM-DD"


def test_times_with_fractions_of_a_second_are_read():
    """``2025-06-01T12:34:56.789Z`` (JavaScript's toISOString, Python's isoformat, pandas' to_csv) crashed flag
    and triage: pandas 3 parsed the column's other times at whole seconds, which cannot hold the fraction."""
    a = _accounts().assign(observed_at=["2015-05-01T12:00:00.789Z", "2017-03-14T00:00:00.123456789Z", "2010-11-07"],
                           last_active_at=["2015-04-01T00:00:00.5+02:00", None, None])
    p, err = prepare_accounts(a)
    assert err.isna().all(), err.tolist()
    assert p["observed_at"].dt.strftime("%S.%f").tolist() == ["00.789000", "00.123456", "00.000000"]
    assert p.loc[0, "last_active_at"] == pd.Timestamp("2015-03-31T22:00:00.5Z")


def test_an_x_api_v2_latest_post_id_gives_the_last_activity():
    """X API v2 users carry ``most_recent_tweet_id``, not a time: an account that posted an hour before it was seen
    came out releasable on an estimate. The id holds its time (a snowflake); beside a ``last_active_at`` the later
    of the two counts."""
    a = _accounts().assign(observed_at="2025-01-01", created_at="2015-01-01",
                           most_recent_tweet_id=["1050118621198921728", "1050118621198921728", "20"],
                           last_active_at=[None, "2024-01-01", None])
    p, err = prepare_accounts(a)
    assert err.isna().all(), err.tolist()
    # the X API documentation's example post, 'created_at': 'Wed Oct 10 20:19:24 +0000 2018'
    assert p.loc[0, "last_active_at"] == pd.Timestamp("2018-10-10T20:19:24.211Z")
    assert p.loc[1, "last_active_at"] == pd.Timestamp("2024-01-01", tz="UTC") and pd.isna(p.loc[2, "last_active_at"])
    earlier = prepare_accounts(a.assign(last_active_at=[None, "2017-01-01", None]))[0]
    assert earlier.loc[1, "last_active_at"] == earlier.loc[0, "last_active_at"]  # the post is later: it counts
    # read by pandas from a CSV whose column has a gap: floats, which were no id and left the account releasable
    floats = a.assign(most_recent_tweet_id=[1050118621198921728.0, np.nan, 20.0], last_active_at=None)
    p = prepare_accounts(floats)[0]
    assert abs(p.loc[0, "last_active_at"] - pd.Timestamp("2018-10-10T20:19:24.211Z")) < pd.Timedelta(seconds=1)
    assert p["last_active_at"].isna().tolist() == [False, True, True]
    # pandas' to_csv writes such a float as text ('1.0501186211989217e+18'); a value that is no id was dropped
    # without a word, the account's activity then "unknown" and the account releasable
    text = a.assign(most_recent_tweet_id=["1.0501186211989217e+18", "12345abc", ""], last_active_at=None)
    p, err = prepare_accounts(text)
    assert abs(p.loc[0, "last_active_at"] - pd.Timestamp("2018-10-10T20:19:24.211Z")) < pd.Timedelta(seconds=1)
    assert err.tolist() == [pd.NA, "most_recent_tweet_id is not an X post id (15-20 digits, not rounded as a "
                                   "spreadsheet writes 1.88E+18: export ids as text)", pd.NA]


def test_impossible_times_are_row_errors_and_null_is_a_name():
    """An observation in 2099 was scored (p_bot 0.89), a last activity before the account existed made it dormant
    for 3,652 days, and the screen names 'null' and 'None' were "missing" (predict prices them as handles)."""
    a = _accounts().assign(last_active_at=[None, "2010-01-01", None])
    a.loc[0, "observed_at"] = "2099-01-01"  # row 1: created 2016, last active 2010
    a.loc[2, "screen_name"] = "null"
    p, err = prepare_accounts(a, now=pd.Timestamp("2020-01-01", tz="UTC"))
    assert err.tolist()[:2] == ["observed_at in the future", "last_active_at before created_at"], err.tolist()
    assert pd.isna(err[2]) and p.loc[2, "screen_name"] == "null"


def test_v1_and_v2_objects_in_one_file_are_each_read_under_their_own_names():
    """A file mixing Twitter v1.1 and X API v2 user objects took one name per column for the whole file: every v2
    row was "missing screen_name". Each row now takes the first accepted name it has a value under."""
    mixed = pd.DataFrame([
        {"screen_name": "anna_v1", "created_at": "Tue Jun 11 11:20:35 +0000 2013", "statuses_count": 10,
         "followers_count": 5, "friends_count": 7, "favourites_count": 1, "crawled_at": "2015-05-01"},
        {"username": "bob_v2", "created_at": "2016-01-02T00:00:00Z", "observed_at": "2017-03-14",
         "public_metrics": {"tweet_count": 20, "followers_count": 6, "following_count": 8, "like_count": 2}},
    ])
    p, err = prepare_accounts(mixed, now=pd.Timestamp("2020-01-01", tz="UTC"))
    assert err.isna().all(), err.tolist()
    assert p["screen_name"].tolist() == ["anna_v1", "bob_v2"] and p["statuses_count"].tolist() == [10, 20]
    assert p["observed_basis"].tolist() == ["crawled_at", "observed_at"]
    late = mixed.assign(crawled_at=["2012-01-01", None])  # anna created 2013, seen 2012: her own column named
    err = prepare_accounts(late, now=pd.Timestamp("2020-01-01", tz="UTC"))[1]
    assert err[0] == "created_at after crawled_at" and pd.isna(err[1]), err.tolist()
