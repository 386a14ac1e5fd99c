"""``triage`` and ``predict`` never touch input columns, read booleans one way, and write atomically; ``flag``
turns impossible numbers and times into row errors (issues 18 and 20)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from handleval.accounts import AccountFlagger, load_accounts
from handleval.batch import read_output
from handleval.errors import DataFormatError, HandlevalError, HandlevalWarning
from handleval.release import triage
from tests._helpers import file_size_limit, run_cli

NOW = pd.Timestamp("2024-06-01", tz="UTC")


@pytest.fixture(scope="module")
def flagger() -> AccountFlagger:
    return load_accounts()


class PriceByLength:
    """A stand-in valuer with the Valuer.value_many contract."""

    def value_many(self, names, platform="x"):
        return pd.DataFrame({"price_usd": [1000.0 / max(len(n), 1) for n in names],
                             "error": [None if n else "empty handle" for n in names]})


def _bot_like(n: int, **columns) -> pd.DataFrame:
    """Accounts that look as bot-like and dormant as possible (so only a guard rail keeps them unreleasable)."""
    frame = pd.DataFrame({"screen_name": [f"zx{i}81923" for i in range(n)], "created_at": ["2019-05-05"] * n,
                          "statuses_count": [90000] * n, "followers_count": [0] * n, "friends_count": [5000] * n,
                          "favourites_count": [0] * n})
    for name, values in columns.items():
        frame[name] = values
    return frame


def test_verified_reads_every_common_spelling_and_refuses_the_rest(flagger):
    spellings = ["t", "Y", "yes", "TRUE", "1", "on", "f", "N", "no", "0", "", None, "maybe"]
    out = triage(_bot_like(len(spellings), verified=spellings), valuer=PriceByLength(), flagger=flagger, now=NOW)
    by = {s: r for s, r in zip(spellings, out.sort_values("row").itertuples(index=False), strict=True)}
    for word in ("t", "Y", "yes", "TRUE", "1", "on"):
        assert by[word].p_releasable == 0.0 and by[word].guard_rail.startswith("verified"), word
    for word in ("f", "N", "no", "0", "", None):
        assert by[word].p_releasable > 0 and by[word].guard_rail == "", word
    assert np.isnan(by["maybe"].p_releasable) and "not a yes/no value" in by["maybe"].error


def test_triage_reads_a_float_screen_name_as_its_text(flagger):
    """Triage flags and prices a float screen name (``1234567.0``: a numeric Parquet column with a gap) as the
    handle "1234567", by the rule every path reads handles by, not as "1234567.0"."""
    names = [1234567.0, 88888.0, None]
    typed = triage(_bot_like(3, screen_name=names), valuer=PriceByLength(), flagger=flagger, now=NOW)
    text = triage(_bot_like(3, screen_name=["1234567", "88888", None]), valuer=PriceByLength(), flagger=flagger,
                  now=NOW)
    assert typed.sort_values("row")["price_usd"].round(2).tolist()[:2] == [round(1000 / 7, 2), 200.0]
    pd.testing.assert_frame_equal(typed.drop(columns="screen_name"), text.drop(columns="screen_name"))


def test_flag_turns_impossible_numbers_and_times_into_row_errors(flagger):
    frame = _bot_like(6)
    frame["followers_count"] = ["inf", "1e309", "-inf", "5", "5", "5"]
    frame["created_at"] = ["2019-05-05"] * 4 + ["0001-01-01", "2019-05-05"]
    frame["observed_at"] = ["2024-01-01"] * 5 + ["9999-12-31"]
    out = flagger.flag(frame, now=NOW)
    assert out["p_bot"].isna().tolist() == [True, True, True, False, True, True]  # row 3 is the control
    assert out["error"].tolist()[:3] == ["followers_count is not a non-negative number"] * 3
    assert "created_at" in out["error"][4] and "observed_at" in out["error"][5]


def test_triage_never_overwrites_input_columns(flagger):
    """An input with the flag's and triage's names (``bot``, ``account_status``, ``error``, ``price_usd``) is refused
    with the collisions named; with a prefix every input column comes back unchanged."""
    frame = _bot_like(3, bot=["label1", "label2", "label3"], account_status=["s1", "s2", "s3"],
                      error=["e1", "e2", "e3"], price_usd=["p1", "p2", "p3"])
    with pytest.raises(HandlevalError, match=r"'bot', 'account_status', 'error', 'price_usd'.*--prefix"):
        triage(frame, valuer=PriceByLength(), flagger=flagger, now=NOW)
    out = triage(frame, valuer=PriceByLength(), flagger=flagger, now=NOW, prefix="hv_").sort_values("hv_row")
    for col in frame.columns:
        assert out[col].tolist() == frame[col].tolist(), col
    assert out["hv_account_status"].notna().all() and out["hv_price_usd"].notna().all()


def test_untrusted_text_never_drives_the_terminal(tmp_path):
    """A screen name with an escape sequence retitled the terminal through triage's table, and one with Rich
    markup was read as markup: control characters print as '?', markup as written (triage, value, errors)."""
    title, markup = "evil\x1b]0;pwned\x07", "[bold]boss[/bold]"
    source = tmp_path / "accounts.csv"
    pd.DataFrame({"screen_name": [title, markup], "created_at": ["2015-01-01"] * 2, "statuses_count": [1, 2],
                  "followers_count": [3, 4], "friends_count": [5, 6], "favourites_count": [7, 8]}).to_csv(
        source, index=False)
    ranked = run_cli("triage", str(source), "-o", str(tmp_path / "ranked.csv"))
    valued = run_cli("value", "ok\x1b[2Jname", "\u202enike")  # a right-to-left override reversed the line
    missing = run_cli("predict", str(tmp_path / "no\x1b[2Jfile.csv"), "-o", str(tmp_path / "out"))
    for done in (ranked, valued, missing):
        assert "\x1b" not in done.stdout + done.stderr and "Traceback" not in done.stderr, done
    assert "evil?]0;pwned?" in ranked.stdout and "[bold]boss[/bold]" in ranked.stdout, ranked.stdout
    assert "ok?[2Jname" in valued.stdout and "no?[2Jfile.csv" in missing.stderr
    assert "\u202e" not in valued.stdout and "?nike" in valued.stdout, valued.stdout


@pytest.mark.slow
def test_triage_command_ragged_rows_full_disk_and_prefix(tmp_path):
    """The command (real bundles): a ragged row is an error, not scored with padded fields; a full disk leaves no
    file (not half of one) and one message, and the rerun then succeeds; input columns named like outputs need
    --prefix and come back unchanged; an existing directory as output is one message."""
    source = tmp_path / "accounts.csv"
    rows = [f"acct_{i},2015-01-01,{i},{i * 3},{i * 2},{i},orig{i}" for i in range(1500)]
    rows[7] = "ragged_one,2015-01-01,1,2"
    source.write_text("screen_name,created_at,statuses_count,followers_count,friends_count,favourites_count,account_status\n"
                      + "\n".join(rows) + "\n")
    out = tmp_path / "ranked.csv"
    refused = run_cli("triage", str(source), "-o", str(out))
    assert refused.returncode == 2 and "'account_status'" in refused.stderr and "--prefix" in refused.stderr
    full = run_cli("triage", str(source), "-o", str(out), "--prefix", "hv_", preexec=file_size_limit(50_000))
    assert full.returncode == 2 and "no space left" in full.stderr and "Traceback" not in full.stderr, full.stderr
    assert not out.exists() and not list(tmp_path.glob(".ranked.csv.tmp*"))
    done = run_cli("triage", str(source), "-o", str(out), "--prefix", "hv_")
    assert done.returncode == 0, done.stderr
    ranked = pd.read_csv(out, dtype=str, keep_default_na=False).sort_values("hv_row", key=lambda s: s.astype(int))
    assert len(ranked) == 1500
    assert ranked["account_status"].tolist()[:7] == [f"orig{i}" for i in range(7)]
    ragged = ranked[ranked["screen_name"] == "ragged_one"].iloc[0]
    assert "malformed CSV row" in ragged["hv_error"] and ragged["hv_p_releasable"] == ""
    from handleval.accounts.flag import FLAG_COLUMNS

    assert all(ragged[f"hv_{c}"] == "" for c in FLAG_COLUMNS if c != "error"), ragged  # no score of a row not read
    (tmp_path / "folder").mkdir()
    folder = run_cli("triage", str(source), "-o", str(tmp_path / "folder"), "--overwrite", "--prefix", "hv_")
    assert folder.returncode == 2 and "is a directory" in folder.stderr and "Traceback" not in folder.stderr


@pytest.mark.slow
def test_predict_command_never_overwrites_input_columns(tmp_path):
    source = tmp_path / "handles.csv"
    pd.DataFrame({"handle": ["pizza", "a b"], "error": ["mine", "also mine"], "price_usd": ["7", "8"]}).to_csv(
        source, index=False)
    refused = run_cli("predict", str(source), "-o", str(tmp_path / "o1"), "--quiet")
    assert refused.returncode == 2 and "'price_usd', 'error'" in refused.stderr and "--prefix" in refused.stderr
    done = run_cli("predict", str(source), "-o", str(tmp_path / "o2"), "--quiet", "--prefix", "hv_")
    assert done.returncode == 0, done.stderr
    out = read_output(tmp_path / "o2")
    assert out["error"].tolist() == ["mine", "also mine"] and out["price_usd"].tolist() == ["7", "8"]
    assert out["hv_price_usd"].notna().tolist() == [True, False] and out["hv_error"].notna().tolist() == [False, True]


@pytest.mark.slow
def test_parquet_handles_of_integers_with_nulls_or_bytes_are_priced_or_row_errors(tmp_path):
    """A Parquet ``handle`` column of integers with a null, or of binary type (some bytes not UTF-8), is read as
    text: numbers are priced as the handles they spell, the null is an empty handle, bad bytes a row error;
    never "a broken scorer"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from handleval.batch import run_batch

    n = 200
    ints = pa.array([None if i == 50 else 1000 + i for i in range(n)], pa.int64())
    raw = pa.array([b"\xff\xfe" + str(i).encode() if i % 2 else f"name{i}".encode() for i in range(n)], pa.binary())
    factory = ("handleval.price.predict", "batch_scorer", {"reasons": False})
    for name, column in (("ints", ints), ("bytes", raw)):
        pq.write_table(pa.table({"handle": column}), tmp_path / f"{name}.parquet")
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            run_batch(tmp_path / f"{name}.parquet", tmp_path / f"out-{name}", scorer_factory=factory, quiet=True)
        assert [str(w.message) for w in said if "numbers" in str(w.message)] == \
            ([f"{tmp_path / 'ints.parquet'}: the handle column is stored as numbers: each is read as its digits "
              "(7.0 as '7'), and one written with leading zeros ('007') was lost when it was stored"]
             if name == "ints" else [])  # once for the file, not per chunk
        out = read_output(tmp_path / f"out-{name}")
        assert len(out) == n
        if name == "ints":
            assert out["price_usd"].notna().sum() == n - 1 and out["error"][50] == "empty handle"
        else:
            assert out["price_usd"][::2].notna().all() and out["error"][1::2].str.contains("not allowed").all()


def test_small_library_and_command_edges(tmp_path):
    """Edges an adversarial review found: value(platform='twitter') said 'twitter' where every output says x; two
    'handle' columns gave an AttributeError; a float column of epoch milliseconds was 'unparseable'; triage into a
    missing folder scored everything before failing with 'No such file or directory'."""
    import handleval
    from handleval.accounts.features import _to_utc
    from handleval.errors import DataFormatError

    valuer = handleval.load()
    assert valuer.value("jack", platform="twitter").platform == "x"
    with pytest.raises(DataFormatError, match="more than one column named 'handle'"):
        valuer.value_many(pd.DataFrame([["a", "b"]], columns=["handle", "handle"]))
    assert _to_utc(pd.Series([1183552203000.0])).iloc[0] == pd.Timestamp("2007-07-04 12:30:03", tz="UTC")
    source = tmp_path / "a.csv"
    source.write_text("screen_name,created_at,statuses_count,followers_count,friends_count,favourites_count\n"
                      "anna,2015-01-01,1,2,3,4\n")
    missing = run_cli("triage", str(source), "-o", str(tmp_path / "nowhere" / "x.csv"))
    assert missing.returncode == 2 and "its folder" in missing.stderr and "does not exist" in missing.stderr
    # no accounts: no word about numbers (an empty column is float), and the reasons are text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert valuer.value_many([]).empty
        empty = triage(_bot_like(0, observed_at=[]), valuer=valuer, now=NOW)
    assert empty.empty and empty["triage_reasons"].dtype == object and empty["guard_rail"].dtype == object


def test_triage_keeps_the_callers_index_so_values_go_back_on_their_own_accounts(flagger):
    frame = _bot_like(4, screen_name=["a", "abcdefgh", "abc", "abcdef"]).set_axis(["w", "x", "y", "z"])
    ranked = triage(frame, valuer=PriceByLength(), flagger=flagger, now=NOW)
    assert ranked["screen_name"].tolist() == ["a", "abc", "abcdef", "abcdefgh"]  # by expected value
    assert ranked.index.tolist() == ["w", "y", "z", "x"]
    joined = frame.join(ranked[["price_usd"]])
    assert joined["price_usd"].tolist() == [1000.0, 125.0, 1000.0 / 3, 1000.0 / 6]


def test_two_columns_of_one_name_are_one_clear_error_everywhere(flagger):
    """Two screen_name columns gave pandas' 'Buffer has wrong number of dimensions' in flag and triage, two
    platform columns 'factorize requires a Series' in value_many."""
    import handleval
    from handleval.errors import DataFormatError

    accounts = _bot_like(2)
    twice = pd.concat([accounts, accounts[["screen_name"]]], axis=1)
    for call in (lambda: flagger.flag(twice), lambda: triage(twice, valuer=PriceByLength(), flagger=flagger),
                 lambda: handleval.load().value_many(pd.DataFrame([["a", "x", "x"]],
                                                                  columns=["handle", "platform", "platform"]))):
        with pytest.raises(DataFormatError, match=r"more than one column named '(screen_name|platform)'"):
            call()
    # a column no step reads may repeat (a user's notes), and labels compare as they are (1 is not '1')
    notes = pd.concat([accounts, pd.DataFrame({"note": ["a", "b"]}), pd.DataFrame({"note": ["c", "d"], 1: [0, 0],
                                                                                    "1": [0, 0]})], axis=1)
    assert flagger.flag(notes)["p_bot"].notna().all()


def test_releasable_is_what_the_flags_say_and_never_an_unscorable_row(flagger, data_root):
    """``releasable`` was ``P(releasable) >= 0.5``: an account with the uninformative P(bot) 0.50 and a small
    P(dormant) crossed it, so real, active humans (446 of Cresci-2017's 3,409 genuine accounts) were releasable
    while flagged neither bot nor dormant. Now it is the flags (a bot that is not self-declared, or dormant) and no
    guard rail; a row whose handle cannot be priced is NA, not releasable."""
    people = pd.read_csv(data_root / "accounts" / "cresci2017" / "genuine_accounts.users.csv", dtype=str,
                         nrows=400)
    from handleval.accounts.features import canonical_columns, declares_automation

    out = triage(people, valuer=PriceByLength(), flagger=flagger, now=NOW).sort_values("row")
    assert not declares_automation(canonical_columns(people)[0]).any()  # no profile here says it is a bot
    self_declared = (out["bot_type"] == "self_declared").to_numpy()
    flagged_out = (out["bot"].astype("boolean").fillna(False) & ~self_declared) \
        | out["dormant"].astype("boolean").fillna(False)
    scored = out["expected_value"].notna()
    expected = (flagged_out & (out["guard_rail"] == "")).where(scored, pd.NA)
    assert (out["releasable"].astype("boolean").fillna(False) == expected.astype("boolean").fillna(False)).all()
    assert not (out["releasable"].astype("boolean").fillna(False) & ~flagged_out).any()
    assert (out.loc[scored, "p_releasable"] >= 0.5).sum() > out["releasable"].astype("boolean").fillna(False).sum()
    unpriceable = triage(_bot_like(1, screen_name=[""]), valuer=PriceByLength(), flagger=flagger, now=NOW)
    assert pd.isna(unpriceable["releasable"].iloc[0]) and pd.isna(unpriceable["expected_value"].iloc[0])


def test_a_bot_whose_profile_says_it_is_automated_is_never_released_for_being_a_bot(flagger):
    """A weather feed whose description reads 'Automated account' was typed a spam bot by the type model (which
    missed most of botwiki's self-declared bots held out) and came out releasable: its own profile declares it."""
    says = ["Automated account. Tweets the weather in Oslo every hour.", "This account is automated by @alice",
            "posts every new arXiv paper", "I am a bot", "Real person, not a bot"]
    accounts = _bot_like(len(says), description=says, observed_at=["2019-09-01"] * len(says))
    out = triage(accounts, valuer=PriceByLength(), flagger=flagger, now=NOW).sort_values("row")
    assert out["bot"].all(), out["p_bot"]  # all look like bots: only the profile's words tell them apart
    declared = np.array([True, True, False, True, False])
    assert out["triage_reasons"].str.contains("its profile says it is automated, not released for being a bot"
                                              ).tolist() == declared.tolist()
    dormant = out["dormant"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    typed = (out["bot_type"] == "self_declared").to_numpy()  # the type model's own (a denial still says 'bot')
    assert (out["releasable"].astype(bool).to_numpy() == (~(declared | typed) | dormant)).all()  # dormant: as such
    assert not typed[declared == False].all()  # noqa: E712 - some undeclared row is released for being a bot
    np.testing.assert_allclose(out["p_releasable"][declared], out["p_dormant"][declared], atol=1e-4)  # no P(bot)


def test_verified_type_and_a_verified_row_flagging_could_not_score_hold_the_guard_rail(flagger):
    """An X API v2 ``verified_type`` (business, government, blue) is a verified account; a verified row whose
    ``created_at`` cannot be read still guards the other rows of its handle (the duplicate was releasable)."""
    kinds = ["business", "government", "blue", "none", None]
    out = triage(_bot_like(5, verified_type=kinds), valuer=PriceByLength(), flagger=flagger, now=NOW)
    by = dict(zip(out["verified_type"].tolist(), out.itertuples(index=False), strict=True))
    for kind in ("business", "government", "blue"):
        assert by[kind].p_releasable == 0.0 and by[kind].guard_rail.startswith("verified"), kind
    assert by["none"].guard_rail == "" and by["none"].p_releasable > 0
    # X's own JSON names a paid check mark 'is_blue_verified'; a 'Verified' column was ignored and the account released
    blue = triage(_bot_like(2, is_blue_verified=["true", "false"]), valuer=PriceByLength(), flagger=flagger, now=NOW)
    assert blue.sort_values("row")["guard_rail"].str.startswith("verified").tolist() == [True, False]
    for column in ("Verified", "Last_Active_At", " verified_type"):
        with pytest.raises(DataFormatError, match=f"has a column '{column}', which is not "
                                                  f"'{column.strip().lower()}': names are read exactly"):
            triage(_bot_like(1, **{column: ["true"]}), valuer=PriceByLength(), flagger=flagger, now=NOW)
    with pytest.raises(DataFormatError, match="'Verified', which is not 'verified'"):  # beside it: which to read?
        triage(_bot_like(1, Verified=["true"], verified=["false"]), valuer=PriceByLength(), flagger=flagger, now=NOW)
    assert len(triage(_bot_like(1, Updated=["2019-06-01"]), valuer=PriceByLength(), flagger=flagger,
                      now=NOW)) == 1  # Cresci's 'updated' is read as observed_at, but a user's 'Updated' may be theirs
    twice = _bot_like(2, screen_name=["Brandname", "brandname"], verified=["true", "false"])
    twice.loc[0, "created_at"] = "not a date"
    out = triage(twice, valuer=PriceByLength(), flagger=flagger, now=NOW).sort_values("row")
    assert out["error"].notna().tolist() == [True, False]
    assert out["p_releasable"].iloc[1] == 0.0 and not out["releasable"].iloc[1]
    assert out["guard_rail"].iloc[1].startswith("verified account: never releasable (row 0")


def test_protected_new_and_notable_accounts_are_never_released(flagger):
    """A protected account with no last activity (its posts cannot be seen), one created an hour before it was seen
    (no activity yet read as spam: P(bot) 0.86) and a famous one without a check mark (110M followers at P(bot) 0.3
    outranked every real bot of a 50,000-account run) came out releasable or ranked first."""
    frame = _bot_like(6, protected=["true", "true", "false", "false", "false", "false"],
                      observed_at=["2024-05-01T12:00:00Z"] * 6,
                      last_active_at=[None, "2020-01-01", None, None, None, None])
    frame.loc[2, "created_at"] = "2024-05-01T11:00:00Z"
    frame.loc[3, "created_at"] = "2024-04-05"  # 26 days old
    frame.loc[4, "followers_count"] = 110_000_000
    out = triage(frame, valuer=PriceByLength(), flagger=flagger, now=NOW).sort_values("row")
    assert out["guard_rail"].tolist() == [
        "protected account with no last activity given: its posts cannot be seen; never releasable",
        "", "created within the 30-day policy window: never releasable",
        "created within the 30-day policy window: never releasable",
        "followed by 100,000 or more: a person decides on a notable account, not triage", ""]
    assert out["releasable"].tolist() == [False, True, False, False, False, True]  # row 1: dormant since 2020
    # protected at the newest crawl with no activity since: an older public crawl's activity lifted the rail
    crawls = _bot_like(2, screen_name=["protbot", "protbot"], protected=["false", "true"],
                       observed_at=["2024-01-01", "2024-05-01"], last_active_at=["2023-12-30", None])
    held = triage(crawls, valuer=PriceByLength(), flagger=flagger, now=NOW).sort_values("row")
    assert held["guard_rail"].tolist() == [
        "protected account with no last activity given: its posts cannot be seen; never releasable (row 1 of the "
        "same handle)", "protected account with no last activity given: its posts cannot be seen; never releasable"]
    flags = flagger.flag(frame, now=NOW)
    assert flags.loc[[2, 3], "p_dormant"].tolist() == [0.0, 0.0]  # too young to have been inactive for the window
    assert flags.loc[5, "p_dormant"] > 0
    assert "created 26 days before measured_at, within the policy (30): not dormant" in flags.loc[3, "reasons"]


def test_an_old_observation_of_activity_does_not_hold_a_handle_dormant_since(flagger):
    """Weekly crawls appended to one file: the 2023 crawl (active then) held the 2025 one (884 days inactive) as
    "active within the policy window (row 0 of the same handle)", so a handle once seen active was never released.
    Activity is judged at the handle's newest observation, from the latest activity any of its rows gives."""
    frame = _bot_like(4, screen_name=["pizza", "pizza", "tacos", "tacos"],
                      observed_at=["2023-01-01", "2025-06-01", "2025-06-01", "2025-06-03"],
                      last_active_at=["2022-12-30", "2022-12-30", "2025-05-30", None])
    out = triage(frame, valuer=PriceByLength(), flagger=flagger, now="2025-07-01").sort_values("row")
    assert out["guard_rail"].tolist() == ["the same handle as row 1: counted once", "",
                                          "active within the 30-day policy window: never releasable",
                                          "active within the 30-day policy window: never releasable (row 2 of the "
                                          "same handle)"]
    assert out["releasable"].tolist() == [False, True, False, False]


def test_an_older_row_of_an_account_renamed_since_is_never_released(flagger):
    """A 2020 snapshot of 'pizza' (dormant since 2018) came out releasable at $7,835 beside the 2025 row of the same
    account id, now 'pizza_fan' and active: the name is no longer that account's to release."""
    frame = _bot_like(4, screen_name=["pizza", "pizza_fan", "tacos", "tacos"], id=[7, 7, 8, 8],
                      created_at=["2015-01-01"] * 4,
                      observed_at=["2020-01-01", "2025-06-01", "2020-01-01", "2025-06-01"],
                      last_active_at=["2018-01-01", "2025-05-30", "2018-01-01", "2019-01-01"])
    out = triage(frame, valuer=PriceByLength(), flagger=flagger, now="2025-07-01").sort_values("row")
    assert out["guard_rail"].tolist()[:2] == [
        "renamed since: the same account (id 7) is 'pizza_fan' in row 1, observed later; never releasable by this "
        "row", "active within the 30-day policy window: never releasable"]
    assert out["releasable"].tolist() == [False, False, False, True]  # tacos: one account, its newest row counts
    assert out["guard_rail"].iloc[2] == "the same handle as row 3: counted once"
    assert triage(frame.drop(columns="id"), valuer=PriceByLength(), flagger=flagger, now="2025-07-01"
                  ).sort_values("row")["releasable"].tolist()[0]  # without ids nothing tells: as before
    # an 'ID' column, a newer row with a count error, a row seen at no known time, two names seen at one time: the
    # old name was released in each (an operator's end-to-end review)
    more = _bot_like(6, screen_name=["errold", "errnew", "noobs_old", "noobs_new", "twin_a", "twin_b"],
                     ID=[22, 22, 23, 23, 25, 25], created_at=["2015-01-01"] * 6,
                     observed_at=["2020-01-01", "2025-06-01", "", "2025-06-01", "2025-06-01", "2025-06-01"],
                     last_active_at=["2018-01-01", "2025-05-30", "2018-01-01", "2025-05-30", "2018-01-01",
                                     "2018-01-01"]).astype(str)
    more.loc[1, "statuses_count"] = "lots"
    out = triage(more, valuer=PriceByLength(), flagger=flagger, now="2025-07-01").sort_values("row")
    assert out["error"].notna().tolist() == [False, True, False, False, False, False]
    assert out["guard_rail"].tolist()[0].startswith("renamed since: the same account (ID 22) is 'errnew' in row 1")
    assert out["guard_rail"].tolist()[2] == ("two names: the same account (ID 23) is 'noobs_new' in row 3, this row "
                                             "was seen at no known time (no observed_at); never releasable by this row")
    assert out["guard_rail"].tolist()[4:] == [
        "two names: the same account (ID 25) is 'twin_b' in row 5, seen at the same time; never releasable by this "
        "row", "two names: the same account (ID 25) is 'twin_a' in row 4, seen at the same time; never releasable by "
        "this row"]
    assert not out["releasable"].fillna(False).any()


def test_an_unknown_or_unscorable_newest_observation_holds_the_older_rows(flagger):
    """A second review's cases, each released: a dated 2020 'pizza' beside an undated lookup of the same account as
    'pizza_fan'; an old name beside a newer row whose created_at could not be read; a 2020 row beside the handle's
    2025 row that could not be scored; an undated lookup saying protected beside a 2020 public dormant row. And an
    account back on its old name was said to be 'pizza_fan'."""
    frame = _bot_like(11, screen_name=["pizza", "pizza_fan", "old", "new", "tacos", "tacos", "prot", "prot",
                                       "back", "back_fan", "back"],
                      id=[1, 1, 2, 2, 3, 4, 5, 5, 6, 6, 6], created_at=["2015-01-01"] * 11,
                      observed_at=["2020-01-01", "", "2020-01-01", "2025-06-01", "2020-01-01", "2025-06-01",
                                   "2020-01-01", "", "2020-01-01", "2022-01-01", "2025-06-01"],
                      last_active_at=["2018-01-01", "", "2018-01-01", "", "2018-01-01", "2018-01-01",
                                      "2018-01-01", "", "2018-01-01", "2018-01-01", "2018-01-01"],
                      protected=["false"] * 7 + ["true"] + ["false"] * 3).astype(str)
    frame.loc[3, "created_at"] = "garbage"
    frame.loc[5, "favourites_count"] = "-1"
    out = triage(frame, valuer=PriceByLength(), flagger=flagger, now="2025-07-01").sort_values("row")
    rails = out["guard_rail"].tolist()
    assert rails[0].startswith("two names: the same account (id 1) is 'pizza_fan' in row 1, seen at no known time")
    assert rails[2].startswith("renamed since: the same account (id 2) is 'new' in row 3, observed later")
    assert rails[4] == "its handle's newest observation (row 5) could not be scored; never releasable by this row"
    assert rails[6].startswith("protected account with no last activity given") and rails[6].endswith("(row 7 of "
                                                                                                     "the same handle)")
    assert rails[8] == "the same handle as row 10: counted once" and rails[9].startswith("renamed since")
    assert not out.loc[out["row"] != 10, "releasable"].fillna(False).any() and out["releasable"].iloc[10]


def test_a_spreadsheets_quotes_around_a_screen_name_are_no_part_of_the_handle(flagger):
    """Kaggle 2017's '"lenirvana666"' could not be priced ('price: …'), so it was never ranked."""
    out = triage(_bot_like(2, screen_name=['"lenirvana666"', "lenirvana666"]), valuer=PriceByLength(),
                 flagger=flagger, now=NOW).sort_values("row")
    assert out["price_usd"].tolist() == [1000 / 12] * 2 and out["error"].isna().all()
    assert out["guard_rail"].iloc[1] == "the same handle as row 0: counted once"


def test_the_rails_hold_at_their_stated_edges_and_a_row_not_scored_has_no_price(flagger):
    """'100,000 followers or more' and 'created within the 30-day window' were tested far from their edges (110
    million followers, 26 days); a ragged row's price was shown beside its error."""
    out = triage(_bot_like(2, followers_count=[100_000, 99_999]), valuer=PriceByLength(), flagger=flagger,
                 now=NOW).sort_values("row")
    assert out["guard_rail"].iloc[0].startswith("followed by 100,000 or more")
    assert not out["guard_rail"].iloc[1].startswith("followed by")
    young = _bot_like(1, observed_at=["2024-05-31T00:00:00Z"]).assign(created_at="2024-05-01T12:00:00Z")  # 29.5 days
    held = triage(young, valuer=PriceByLength(), flagger=flagger, now=NOW)
    assert held["guard_rail"].iloc[0].startswith("created within the 30-day policy window")
    ragged = triage(_bot_like(2), valuer=PriceByLength(), flagger=flagger, now=NOW,
                    input_errors=[None, "malformed CSV row at line 3"]).sort_values("row")
    assert np.isnan(ragged["price_usd"].iloc[1]) and ragged["error"].iloc[1].startswith("malformed")


def test_a_screen_name_x_would_not_show_as_written_never_takes_the_handle_it_reads_as(flagger):
    """'ni\u200dke' (a zero-width joiner) was read as 'nike', ranked first, and the account really named 'nike'
    became "the same handle as row 0: counted once", expected value 0. X spells every screen name in letters,
    digits and '_': such a row is an error of its own, and the real holder is ranked."""
    out = triage(_bot_like(3, screen_name=["ni\u200dke", "nike", "\uff50\uff49\uff5a\uff5a\uff41"]),
                 valuer=PriceByLength(), flagger=flagger, now=NOW).sort_values("row")
    assert out["guard_rail"].iloc[1] == "" and out["expected_value"].iloc[1] > 0
    assert out["expected_value"].iloc[[0, 2]].isna().all() and out["releasable"].iloc[[0, 2]].isna().all()
    assert out["error"].iloc[0] == ("price: screen name written with characters X does not allow (U+200D): no X "
                                    "spelling of 'nike', not ranked")
    assert out["error"].iloc[2].endswith("no X spelling of 'pizza', not ranked")


def test_the_times_of_a_row_with_another_error_still_count_and_a_bad_time_says_nothing(flagger):
    """A handle's newest row showed activity 2 days before it was seen but had a count error: its older dormant row
    was released. A row whose created_at was the error held its handle's valid rows as 'created within the policy
    window'. And 30.04 days inactive was 'active within the 30-day window' (days rounded to 30.0) while flag said
    dormant."""
    frame = _bot_like(6, screen_name=["pizza", "pizza", "tacos", "tacos", "nachos", "nachos"],
                      created_at=["2015-01-01"] * 2 + ["2025-06-05", "2015-01-01"] + ["2015-01-01"] * 2,
                      observed_at=["2023-01-01", "2025-06-01", "2025-06-01", "2025-06-03", "2025-06-01T00:00:00Z",
                                   "2024-01-01"],
                      last_active_at=["2022-01-01", "2025-05-30", None, "2023-01-01", "2025-05-01T23:02:24Z",
                                      "2023-01-01"]).astype(str).replace("None", "")
    frame.loc[1, "favourites_count"] = "12.5"  # an error that says nothing about its times
    out = triage(frame, valuer=PriceByLength(), flagger=flagger, now="2025-07-01").sort_values("row")
    assert out["error"].notna().tolist() == [False, True, True, False, False, False]
    assert out["guard_rail"].tolist()[:2] == [
        "active within the 30-day policy window: never releasable (row 1 of the same handle)",
        "active within the 30-day policy window: never releasable"]
    assert out["guard_rail"].iloc[3] == "" and out["releasable"].iloc[3]  # tacos: row 2's created_at is its error
    assert out["days_inactive"].iloc[4] == 30.0 and out["dormant"].iloc[4] and out["guard_rail"].iloc[4] == ""


def test_triage_carries_the_price_models_impersonation_risk():
    """A dormant ``paypal_support`` came out releasable with no word that its next holder could impersonate PayPal."""
    frame = _bot_like(2, screen_name=["paypal_support", "zx081923"], last_active_at=["2019-01-01"] * 2,
                      observed_at=["2024-05-01"] * 2)
    out = triage(frame, now=NOW).sort_values("row")
    assert out["risk"].iloc[0] == "could impersonate brand 'paypal.com'" and pd.isna(out["risk"].iloc[1])
    at = out.columns.get_loc("price_usd")
    assert out.columns.tolist()[at:at + 3] == ["price_usd", "risk", "p_releasable"]


def test_predict_help_names_every_input_column_it_reads():
    """A user's own ``venue`` column ('eBay') made every row fail, and only docs/pricing.md said predict reads it."""
    from handleval.cli import app
    from handleval.price.predict import INPUT_COLUMNS
    from tests._helpers import cli_runner

    result = cli_runner().invoke(app, ["predict", "--help"])
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.split("Columns read")[1].split("╭")[0].splitlines()
              if line.strip() and line.startswith("   ") and not line.startswith("     ")}
    assert listed == set(INPUT_COLUMNS), listed


def test_triage_does_not_take_rounded_account_ids_for_one_account(flagger):
    """Kaggle-2017's ids as a spreadsheet saved them (``8.41E+17``): 56 of its first 300 rows were held as "two
    names" of one account. A rounded id tells nothing (a warning says so); exact ids still do."""
    rows = _bot_like(4, screen_name=["zqone", "zqtwo", "zqthree", "zqfour"],
                     id=["8.41E+17", "8,41E+17", "841234567890123456", "841234567890123456"],  # German: ','
                     created_at=["2015-01-01"] * 4, observed_at=["2020-01-01", "2020-02-01"] * 2,
                     last_active_at=["2018-01-01"] * 4)
    with pytest.warns(HandlevalWarning, match=r"2 rows have a rounded id \(8.41E\+17"):
        out = triage(rows, valuer=PriceByLength(), flagger=flagger, now="2020-03-01").sort_values("row")
    rails = out["guard_rail"].tolist()
    assert rails[:2] == ["", ""] and rails[2].startswith("renamed since: the same account (id 841234567890123456)")
    with pytest.warns(HandlevalWarning, match="rounded id"):  # the float a reader makes of it, too
        floats = triage(rows.assign(id=[8.41e17, 8.41e17, 1.0, 2.0]), valuer=PriceByLength(), flagger=flagger,
                        now="2020-03-01").sort_values("row")
    assert floats["guard_rail"].tolist()[:2] == ["", ""]
