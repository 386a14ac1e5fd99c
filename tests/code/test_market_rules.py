"""Market rules on made-up rows: X's published rare-handle pricing holds while X is priced by proxy, never once X is
a market of its own (trained with X sales of its own)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from handleval.config import load_markets
from handleval.price.premium import apply_rules

CAP = float(np.log(50_000))


def test_a_learned_price_above_the_cap_is_the_cap_and_rare_handle_pricing_never_lowers_one():
    """Without the cap, ai.com at the reported venue was $285,205 beside its own price_high_usd of $50,000 (no test
    saw it: training caps its own predictions); rare-handle pricing replacing a price lowered chatgpt's own-sale
    $50,000 to $15,201 on X."""
    markets = load_markets()
    domain = pd.DataFrame({"handle": ["ai.com"], "platform": ["domain"], "requested": ["domain"]})
    assert apply_rules(domain, pd.DataFrame(index=range(1)), np.log([285_000.0]), markets, CAP).ln[0] <= CAP
    short = pd.DataFrame({"handle": ["ab"], "platform": ["telegram"], "requested": ["x"]})  # rare by length on X
    features = pd.DataFrame({"len__length": [2.0], "len__is_all_letters": [1.0]})
    learned = np.log([45_000.0])  # above what the rule gives a 2-letter name
    assert apply_rules(short, features, learned, markets, CAP).ln[0] >= learned[0]


def test_an_undated_own_sale_weighs_as_an_old_one():
    """An undated sale counted as made today would set the name's price outright (weight 1)."""
    from handleval.price.premium import own_sale_weight

    markets = load_markets()
    rule = markets.own_sale
    weight = own_sale_weight(np.array([np.nan, 0.0]), markets)
    assert weight[0] == pytest.approx(0.5 ** (rule.undated_age_years / rule.half_life_years)) and weight[0] < weight[1]


def test_rare_handle_pricing_lifts_proxied_x_only():
    markets = load_markets()
    frame = pd.DataFrame({"handle": ["ab", "ab", "ab"], "platform": ["telegram", "x", "telegram"],
                          "requested": ["x", "x", "telegram"]})
    # two letters: rare by length on X (short_letters[2] in configs/markets.yaml)
    features = pd.DataFrame({"len__length": [2.0] * 3, "len__is_all_letters": [1.0] * 3})
    learned = np.log(np.full(3, 40.0))
    ruled = apply_rules(frame, features, learned, markets, np.log(50_000))
    rare = next(step.delta_ln for step in ruled.steps if step.name == "rare")
    assert rare[0] > 0 and "X rare-handle pricing" in ruled.basis[0]  # X priced by proxy as Telegram
    assert rare[1] == 0 and ruled.basis[1] == "" and ruled.ln[1] == learned[1]  # X as its own market
    assert rare[2] == 0  # Telegram never had the rule (its 4-character minimum is another rule)


def test_a_short_handle_is_rare_when_it_is_letters_only_or_digits_only():
    """X sells short handles as rare and gives "alphanumeric combinations" away as priority handles."""
    markets = load_markets()
    frame = pd.DataFrame({"handle": ["ab", "42", "a1"], "platform": "telegram", "requested": "x"})
    features = pd.DataFrame({"len__length": [2.0] * 3, "len__is_all_letters": [1.0, 0.0, 0.0],
                             "len__is_all_digits": [0.0, 1.0, 0.0]})
    ruled = apply_rules(frame, features, np.log(np.full(3, 40.0)), markets, np.log(50_000))
    rare = next(step.delta_ln for step in ruled.steps if step.name == "rare")
    assert rare[0] > 0 and rare[1] == rare[0] and rare[2] == 0
    assert ruled.basis[2] == "" and ruled.steps[-1].phrase[1] == "X rare handle: 2 digits"


def test_a_number_is_no_common_word():
    """wordfreq keeps numbers as shapes ('0000' stands for every 4-digit number, Zipf 6.6): the word lists hold no
    number, so on X a number is rare only by its length (up to 4 digits), never as a common word; a word is."""
    from tests.code._features_shared import fitted

    handles = ["00000", "house", "0000", "000", "10000"]
    features = fitted().transform(handles)
    assert (features["dict__zipf_en"].iloc[[0, 2, 3, 4]] == 0).all() and features["dict__zipf_en"].iloc[1] > 4
    assert (features["dict__is_word"].to_numpy() == [0, 1, 0, 0, 0]).all()
    assert (features["dict__coverage"].iloc[[0, 2, 3, 4]] == 0).all()  # '10000' is no '1' + the shape '0000'
    frame = pd.DataFrame({"handle": handles, "platform": "telegram", "requested": "x"})
    ruled = apply_rules(frame, features, np.log(np.full(5, 40.0)), load_markets(), np.log(50_000))
    rare = next(step for step in ruled.steps if step.name == "rare")
    assert rare.delta_ln[0] == 0 and rare.delta_ln[4] == 0 and (rare.delta_ln[1:4] > 0).all()
    assert rare.phrase[1] == "X rare handle: common word 'house'" and rare.phrase[2] == "X rare handle: 4 digits"


def test_an_own_sale_above_the_cap_counts_in_full_before_the_cap():
    """gold.com sold for $8,515,000: the documented average of that sale and a $300 learned price is far above the
    cap, so the price is the cap (clipping the sale first gave $32,292 at weight 0.64)."""
    from handleval.price.premium import own_sale_weight

    markets = load_markets()
    frame = pd.DataFrame({"handle": ["gold", "gold"], "platform": "domain", "requested": "domain"})
    features = pd.DataFrame({"sales__prev_same_logp": np.log([8_515_000.0, 20_000.0]),
                             "sales__prev_same_age_days": [705.0, 705.0]})
    learned, cap = np.log(np.full(2, 300.0)), np.log(50_000)
    ruled = apply_rules(frame, features, learned, markets, cap)
    w = float(own_sale_weight(np.array([705.0]), markets)[0])
    assert ruled.ln[0] == cap and w * 8_515_000 + (1 - w) * 300 > 50_000
    assert np.isclose(np.exp(ruled.ln[1]), w * 20_000 + (1 - w) * 300)  # below the cap: the average itself
    assert ruled.basis.tolist() == ["own sale $8,515,000", "own sale $20,000"]
    # a learned price already at the cap: the sale moved nothing, and the basis does not claim it did
    at_cap = apply_rules(frame, features, np.full(2, cap), markets, cap)
    assert at_cap.basis[0] == "" and at_cap.ln[0] == cap and at_cap.basis[1] == "own sale $20,000"


def test_a_rule_that_sets_the_price_is_all_its_basis():
    """A minimum or rare-handle pricing lifts a price to its own: where it did, an own sale below it changed nothing
    and is not in the basis; where the own sale is above it, the sale is the basis (a minimum lifted the price the
    sale then moves, rare-handle pricing moved nothing)."""
    markets = load_markets()
    frame = pd.DataFrame({"handle": ["abcd", "abcd", "house", "house"], "platform": "telegram",
                          "requested": ["telegram", "telegram", "x", "x"]})
    features = pd.DataFrame({"sales__prev_same_logp": np.log([900.0, 90_000.0, 900.0, 40_000.0]),
                             "sales__prev_same_age_days": [30.0] * 4, "len__length": [4.0, 4.0, 5.0, 5.0],
                             "len__is_all_letters": [1.0] * 4, "dict__zipf_en": [0.0, 0.0, 5.0, 5.0],
                             "dict__is_word": [0.0, 0.0, 1.0, 1.0]})
    ruled = apply_rules(frame, features, np.log(np.full(4, 40.0)), markets, np.log(50_000))
    setting = [step for step in ruled.steps if step.sets_price]
    assert {step.name for step in setting} == {"floor", "rare"}
    lifted = sum(step.delta_ln > 0 for step in setting)
    assert lifted.tolist() == [1, 1, 1, 0], lifted
    assert ruled.basis[0].startswith("Telegram minimum") and "own sale" not in ruled.basis[0]
    assert ruled.basis[1] == "own sale $90,000"
    assert ruled.basis[2] == "X rare-handle pricing"
    assert ruled.basis[3] == "own sale on Telegram $40,000"


def test_an_own_sale_above_a_minimum_is_averaged_with_the_minimum():
    """`gray` sold for 6,769 TON ($21,661) on Fragment, above the 4-character minimum: its price is the sale averaged
    with the minimum, ``w * sale + (1 - w) * minimum``. It had been averaged with the learned ~$100, which the
    minimum then replaced: the price was the minimum and the sale was named nowhere. A sale below the minimum
    changes nothing."""
    from handleval.price.premium import own_sale_weight

    markets = load_markets()
    floor = next(f for f in markets.floors if f.rule == "sets_price" and f.platform == "telegram")
    minimum = floor.min_price * markets.usd_rate(floor.currency)
    frame = pd.DataFrame({"handle": ["gray", "gray"], "platform": "telegram", "requested": "telegram"})
    features = pd.DataFrame({"sales__prev_same_logp": np.log([21_661.0, minimum / 2]),
                             "sales__prev_same_age_days": [652.0, 652.0], "len__length": [4.0, 4.0]})
    ruled = apply_rules(frame, features, np.log([100.0, 100.0]), markets, np.log(50_000))
    w = float(own_sale_weight(np.array([652.0]), markets)[0])
    assert np.isclose(np.exp(ruled.ln[0]), w * 21_661 + (1 - w) * minimum)
    assert ruled.basis[0] == "own sale $21,661"
    assert np.isclose(np.exp(ruled.ln[1]), minimum) and ruled.basis[1].startswith("Telegram minimum")
    # a sale that moves the price by cents is not what the price rests on (its reason is not shown either)
    cents = features.assign(sales__prev_same_logp=np.log([minimum + 0.4, minimum + 0.4]))
    ruled = apply_rules(frame, cents, np.log([100.0, 100.0]), markets, np.log(50_000))
    assert ruled.basis[0].startswith("Telegram minimum"), ruled.basis[0]


def test_market_codes_and_interval_keys_come_from_one_pass_over_the_rows(monkeypatch):
    """``transform_with_keys`` reads the rows once for the codes and the interval keys (``platform:venue class``,
    a missing venue taking the platform's usual class), equal to ``transform`` and ``interval_keys`` apart, for
    text columns and for typed ones."""
    from handleval.price.market import MarketEncoder

    encoder = MarketEncoder(min_count=1).fit(pd.DataFrame({
        "platform": ["domain", "domain", "domain", "telegram"], "suffix": ["com", "com", "io", ""],
        "venue": ["sedo", "afternic", "godaddy", "fragment"]}))
    rows = pd.DataFrame({"platform": ["domain", "Domain", "telegram", "domain", "domain"],
                         "suffix": ["com", "com", "", "xyz", "io"], "venue": ["", "sedo", None, "dropcatch", "sedo"]})
    expected = ["domain:retail", "domain:retail", "telegram:platform", "domain:auction", "domain:retail"]
    read = MarketEncoder._columns
    passes = []
    monkeypatch.setattr(MarketEncoder, "_columns", staticmethod(lambda X: passes.append(len(X)) or read(X)))
    for frame in (rows, rows.assign(suffix=[1, 1, None, 2.5, 3])):  # a typed column: every row read as it is
        passes.clear()
        codes, keys = encoder.transform_with_keys(frame)
        assert len(passes) == 1
        assert keys.tolist() == expected
        pd.testing.assert_frame_equal(codes, encoder.transform(frame))
        pd.testing.assert_series_equal(keys, encoder.interval_keys(frame))


def test_a_domain_level_is_also_its_own_venue_name():
    from handleval.price.market import DOMAIN_LEVELS, VENUE_CLASSES, venue_class

    assert venue_class("GoDaddy ") == "auction" and venue_class("auction") == "auction"  # the class users are told
    assert all(venue_class(c) == c for c in DOMAIN_LEVELS)
    assert venue_class("marketplace") == "other" and VENUE_CLASSES["opensea"] == "marketplace"  # not a domain level
    assert venue_class("") == "unknown" and venue_class(None) == "unknown" and venue_class("my shop") == "other"


def test_a_venue_the_platform_never_sold_in_is_its_usual_one():
    """Telegram names sell on Fragment only: a ``reported`` venue on a Telegram row (or an X row priced by proxy)
    changes no code; on domains, where it was seen, it does."""
    import pandas as pd

    from handleval.price.market import MarketEncoder

    train = pd.DataFrame({"platform": ["telegram"] * 3 + ["domain"] * 3, "suffix": [""] * 3 + ["com"] * 3,
                          "venue": ["fragment"] * 3 + ["godaddy", "godaddy", "reported"]})
    enc = MarketEncoder(min_count=1).fit(train)
    rows = pd.DataFrame({"platform": ["telegram", "telegram", "domain", "domain", "domain"],
                         "suffix": ["", "", "com", "com", "com"],
                         "venue": ["", "reported", "", "reported", "opensea"]})
    codes = enc.transform(rows)["mkt__venue"].tolist()
    assert codes[0] == codes[1] and codes[2] != codes[3] and codes[4] == codes[2]  # opensea: never a domain venue


def test_confusable_letters_make_a_lookalike_of_a_famous_name():
    """``@nIke`` shows as ``nlke``; ``rn`` reads as ``m``: one swapped letter group away from a famous name is a
    risk, unless the handle is a dictionary word or famous itself, or shorter than three letters."""
    from handleval.features.lexicons import Lexicon
    from handleval.price.premium import letter_swaps, spelled_lookalikes

    assert letter_swaps("nlke") == ["nike"] and letter_swaps("mill") == ["miil", "mili", "mlll", "rnill"]
    assert "microsoft" in letter_swaps("rnicrosoft") and "twitter" in letter_swaps("tvvitter")
    assert "apple" in letter_swaps("appie") and letter_swaps("xyz") == []
    brand, celeb = Lexicon("brand"), Lexicon("celeb")
    brand.add("nike", 0.95, "Nike", "interbrand")
    brand.add("ball", 0.6, "Ball Corporation", "fortune1000")
    brand.add("mi", 0.99, "Xiaomi", "nsi")
    brand.add("nir", 0.6, "nir.gov", "tranco")  # obscure labels one swap from a three-letter handle
    brand.add("ornl", 0.6, "ornl.gov", "tranco")
    brand.add("ibm", 0.95, "IBM", "interbrand")
    celeb.add("mileycyrus", 0.8, "Miley Cyrus", "instagram")
    handles = np.array(["nlke", "NLKE", "bali", "nike", "rni", "rnileycyrus", "nlke", "nlr", "lbm", "oml"],
                       dtype=object)
    features = pd.DataFrame({"brand__fame": [0, 0, 0, 0.95, 0, 0, 0, 0, 0, 0], "celeb__fame": 0.0,
                             "dict__is_word": [0, 0, 1, 1, 0, 0, 0, 0, 0, 0]})
    risk = spelled_lookalikes(handles, features, {"celeb": celeb, "brand": brand}, 0.5).tolist()
    assert risk == ["could impersonate brand 'Nike'", "could impersonate brand 'Nike'", None, None, None,
                    "could impersonate famous name 'Miley Cyrus'", "could impersonate brand 'Nike'", None,
                    "could impersonate brand 'IBM'", None]  # short: a very popular name; none of two letters
    assert spelled_lookalikes(handles[:1], features[:1], {"celeb": celeb, "brand": brand}, 0.99)[0] is None


def test_two_swapped_neighbouring_letters_make_a_lookalike_of_a_famous_name():
    """``gogole``, ``facbeook``: a swap is two edits, beyond the featurizer's one up to eight letters. From five
    letters; in a name of six or fewer only of a well-known name (0.8); not a word, place or given name itself
    ('sarah' is no copy of a famous 'Sarha', 'rowell' none of Orwell; 'sasmung': no such name here; 'goolge': as if a
    word)."""
    from handleval.features.lexicons import Lexicon
    from handleval.price.premium import WELL_KNOWN, neighbour_swaps, spelled_lookalikes, swapped_forms

    assert neighbour_swaps("gogole") == ["oggole", "ggoole", "google", "gogloe", "gogoel"]
    assert neighbour_swaps("aab") == ["aba"] and neighbour_swaps("a") == []
    brand, celeb = Lexicon("brand"), Lexicon("celeb")
    brand.add("google", WELL_KNOWN, "Google", "interbrand")
    brand.add("facebook", 0.6, "Facebook", "interbrand")
    brand.add("marca", 0.7, "marca.com", "tranco")
    brand.add("nike", 0.95, "Nike", "interbrand")
    celeb.add("beyonce", 0.7, "Beyoncé", "instagram")
    celeb.add("sarha", 0.95, "Sarha", "instagram")
    celeb.add("orwell", 0.9, "George Orwell", "pantheon")
    handles = np.array(["gogole", "facbeook", "macra", "nkie", "byeonce", "sarah", "sasmung", "goolge", "rowell"],
                       dtype=object)
    features = pd.DataFrame({"brand__fame": 0.0, "celeb__fame": 0.0, "dict__is_word": [0, 0, 0, 0, 0, 0, 0, 1, 0]})
    risk = spelled_lookalikes(handles, features, {"celeb": celeb, "brand": brand}, 0.5).tolist()
    assert risk == ["could impersonate brand 'Google'", "could impersonate brand 'Facebook'", None, None,
                    "could impersonate famous name 'Beyoncé'", None, None, None, None]  # a given name, a surname
    lexicons = {"celeb": celeb, "brand": brand}  # a large batch's faster test answers the same
    assert spelled_lookalikes(handles, features, lexicons, 0.5, swapped_forms(lexicons, 0.5)).tolist() == risk
    assert "gogole" in swapped_forms(lexicons, 0.5) and "facbeook" not in swapped_forms(lexicons, 0.7)


def test_a_handle_of_common_words_is_a_spelled_lookalike_of_a_very_popular_name_only():
    """Swapping a letter group in a handle that reads as common words hits some name too often: only a name of
    :data:`VERY_POPULAR` or more counts (``iego`` → 'LEGO')."""
    from handleval.features.lexicons import Lexicon
    from handleval.price.premium import VERY_POPULAR, spelled_lookalikes

    brand, celeb = Lexicon("brand"), Lexicon("celeb")
    brand.add("nike", 0.8, "Nike", "interbrand")
    brand.add("milk", 0.8, "Milk Makeup", "nsi")
    handles = np.array(["nlke", "rnilk"], dtype=object)
    features = pd.DataFrame({"brand__fame": 0.0, "celeb__fame": 0.0, "dict__is_word": 0.0,
                             "dict__coverage": [0.0, 1.0], "dict__min_zipf": [np.nan, 4.2]})
    lexicons = {"celeb": celeb, "brand": brand}
    assert spelled_lookalikes(handles, features, lexicons, 0.5).tolist() == ["could impersonate brand 'Nike'", None]
    brand.add("milk", VERY_POPULAR, "Milk Makeup", "nsi")
    assert spelled_lookalikes(handles, features, lexicons, 0.5)[1] == "could impersonate brand 'Milk Makeup'"
    features["dict__min_zipf"] = [np.nan, 3.9]  # a rare word in it: the usual popularity again
    brand.popularity["milk"] = 0.8
    assert spelled_lookalikes(handles, features, lexicons, 0.5)[1] == "could impersonate brand 'Milk Makeup'"


def test_the_word_reason_names_the_language_and_how_common():
    from handleval.features.describe import describe_word

    assert describe_word(4.5, 4.8, 6, "pizza") == "English word 'pizza'"  # English first, whatever the best language
    assert describe_word(0.0, 3.5, 2, "fromage") == "French word 'fromage'"
    assert describe_word(2.0, 3.5, 2, "gateau") == "French word 'gateau'"  # common in French, rare in English
    assert describe_word(0.0, 2.0, 2, "brioche") == "rare French word 'brioche'"
    assert describe_word(2.1, 2.1, 0, "skyrocketed") == "rare English word 'skyrocketed'"
    assert describe_word(0.0, 0.0, 0, "xkqzv") == describe_word(np.nan, np.nan, np.nan, "x") == \
        "not a dictionary word as a whole"  # 'rainyday' too: two words are not one
    assert describe_word(0.0, 3.5, 99, "w") == describe_word(0.0, 3.5, -1, "w") == "dictionary word 'w'"
    assert describe_word(0.0, 0.0, 0, "12345", number=True) == "number '12345'"  # a handle of digits


def test_a_run_is_shown_with_an_example_as_long_as_it():
    """'lemontree' read "keyboard run of 3 (like qwerty)" and 'pontifex' "sequence of 3 (like 123 or abc)": the
    example overstated a three-letter run."""
    from handleval.features.describe import describe_feature

    assert describe_feature("len__keyboard_walk", 3.0) == "keyboard run of 3 (like qwe)"
    assert describe_feature("len__keyboard_walk", 6.0) == "keyboard run of 6 (like qwerty)"
    assert describe_feature("len__max_sequence", 4.0) == "sequence of 4 (like abcd)"
    assert describe_feature("len__max_sequence", 0.0) == "no sequence"


def test_an_at_least_sale_is_learnt_as_the_expected_price_above_it():
    """floor_sales: censored. E[y | y >= L] for y ~ N(estimate, sigma²): near L when the estimate is far below,
    near the estimate when far above, L + sigma * sqrt(2 / pi) when they are equal, and never below L."""
    from handleval.price.train import expected_above

    lower = np.full(5, np.log(32.0))
    estimate = lower + np.array([-30.0, -2.0, 0.0, 2.0, 30.0])
    got = expected_above(lower, estimate, 0.9)
    assert np.all(got >= lower)
    assert np.all(np.diff(got) > 0)  # a higher estimate never learns a lower target
    assert abs(got[0] - lower[0]) < 0.05 and abs(got[-1] - estimate[-1]) < 1e-6
    assert abs(got[2] - (lower[2] + 0.9 * np.sqrt(2 / np.pi))) < 1e-9


def test_fame_from_zero_is_refused():
    """At fame_from 0 every handle would be famous (rare from $2,500, reason 'X rare handle: None')."""
    import pytest
    from pydantic import ValidationError

    pricing = load_markets().rare_handles["x"]
    with pytest.raises(ValidationError, match="fame_from"):
        type(pricing).model_validate({**pricing.model_dump(), "fame_from": 0.0})


def test_a_sale_at_the_opening_bid_anchors_its_own_market_only():
    """lordoftherings sold on Fragment at the 10-TON opening bid: on Telegram that sale is the name's price and
    anchors it; on X (priced by proxy) Fragment's opening bid is a mechanic of another market and anchors nothing.
    A sale above the opening bid anchors on X too."""
    markets = load_markets()
    floor_usd = 10 * markets.usd_rate("TON")
    frame = pd.DataFrame({"handle": "lordoftherings", "platform": "telegram", "requested": ["telegram", "x", "x"]})
    features = pd.DataFrame({"len__length": 14.0, "sales__prev_same_logp": np.log([floor_usd, floor_usd, 900.0]),
                             "sales__prev_same_age_days": 600.0})
    learned = np.log(np.full(3, 120.0))
    ruled = apply_rules(frame, features, learned, markets, np.log(50_000))
    own = next(step for step in ruled.steps if step.name == "own_sale")
    assert own.delta_ln[0] < 0 and "own sale" in ruled.basis[0]  # Telegram: pulled towards its $32 sale
    assert own.delta_ln[1] == 0 and ruled.ln[1] == learned[1] and "own sale" not in ruled.basis[1]
    assert own.delta_ln[2] > 0 and "own sale on Telegram $900" in ruled.basis[2]


def test_an_own_sale_far_above_a_poor_learned_price_is_averaged_in_dollars():
    """chatgpt sold for $256,000 on Fragment; the model, which knows no fame, says ~$300. Averaged in log prices
    (weight 0.67) that was $27,600: the sale lost in ratio to a price nobody paid. In dollars it is $171,000, so the
    cap; and a cheap old sale barely moves a high learned price ($100 at weight 0.67 against $10,000: $3,367)."""
    from handleval.price.premium import own_sale_weight

    markets = load_markets()
    frame = pd.DataFrame({"handle": ["chatgpt", "pizza"], "platform": "telegram", "requested": "telegram"})
    features = pd.DataFrame({"sales__prev_same_logp": np.log([256_000.0, 100.0]),
                             "sales__prev_same_age_days": [637.0, 637.0]})
    ruled = apply_rules(frame, features, np.log([300.0, 10_000.0]), markets, np.log(50_000))
    w = float(own_sale_weight(np.array([637.0]), markets)[0])
    assert w == pytest.approx(0.5 ** (637 / 365.25 / markets.own_sale.half_life_years))  # the configured half-life
    assert ruled.ln[0] == np.log(50_000), np.exp(ruled.ln[0])
    assert np.exp(ruled.ln[1]) == pytest.approx(w * 100 + (1 - w) * 10_000)


def test_a_floor_says_the_lengths_it_holds_for():
    from handleval.config import Floor

    def lengths(low: int, high: int) -> str:
        return Floor(platform="telegram", currency="TON", min_price=10, min_length=low, max_length=high,
                     rule="lower_bound").lengths

    assert [lengths(1, 4), lengths(4, 4), lengths(5, 64)] == ["up to 4", "4", "5-64"]


def test_a_numbered_series_keeps_its_digits_once_two_of_its_names_sold_there():
    """satoshipremium111 and …182 sold on Fragment as one collection: after the second sale, a member is not priced
    as its core. Before it (a valuation as of an earlier date), and in another market, it is."""
    from handleval.price.premium import junk_affix_cores, numbered_series

    series = numbered_series([("telegram", "satoshipremium111", 100), ("telegram", "satoshipremium182", 200),
                              ("telegram", "satoshipremium182", 300), ("telegram", "pizza1", 50),
                              ("x", "satoshipremium5", 10)])
    assert series == {("telegram", "satoshipremium"): 200}
    handles = np.array(["satoshipremium999"] * 3, dtype=object)
    rows, cores = junk_affix_cores(handles, pd.DataFrame({"brand__fame": [0.0] * 3}),
                                   np.array(["telegram", "telegram", "x"], dtype=object), np.array([150, 250, 250]),
                                   series)
    assert rows.tolist() == [0, 2] and cores == ["satoshipremium", "satoshipremium"]


def test_digits_that_belong_to_a_name_are_not_taken_for_added_ones():
    """An analyst's review: ``20thcenturyfox`` was priced as 'thcenturyfox' ($44) and ``r2d2`` as 'r2d' ($74). The
    added characters sit only at a name's ends: a core holding a digit, or leading digits read as an ordinal, mean
    the digits are the name's own."""
    from handleval.price.premium import _junk_core

    cores = {h: _junk_core(h) for h in ["shadowhunter123", "_pizza", "pizza_007", "7pizza", "r2d2", "b2b2",
                                        "20thcenturyfox", "21stcentury", "2ndhand", "3rdrock", "123", "pizza",
                                        "99steve", "11thhour"]}
    assert cores == {"shadowhunter123": "shadowhunter", "_pizza": "pizza", "pizza_007": "pizza", "7pizza": "pizza",
                     "99steve": "steve", "11thhour": None,
                     "r2d2": None, "b2b2": None, "20thcenturyfox": None, "21stcentury": None, "2ndhand": None,
                     "3rdrock": None, "123": None, "pizza": None}


def test_a_word_is_called_a_word_of_another_language_only_where_it_clearly_is_one():
    """``robots`` (French 4.02, English 3.99), ``cairo`` and ``lagos`` read "common French / Italian / Portuguese
    word": an English word is named by another language only when it is three times as frequent there; the price
    still reads the higher frequency."""
    from handleval.features.words import LANGUAGES
    from handleval.price.premium import _other_language_word

    fr, es = float(LANGUAGES.index("fr")), float(LANGUAGES.index("es"))
    features = pd.DataFrame({"dict__best_lang": [fr, fr, es, es, 0.0],  # robots, fromage, amigo, dinero, pizza
                             "len__length": [6.0, 7.0, 5.0, 6.0, 5.0],
                             "dict__zipf_best": [4.02, 3.6, 4.9, 4.1, 4.5],
                             "dict__zipf_en": [3.99, 2.0, 3.4, 0.0, 4.5]})
    zipf, language = _other_language_word(features, 5.0)
    assert language.tolist() == ["", "French", "Spanish", "Spanish", ""]
    assert zipf.tolist() == [4.02, 3.6, 4.9, 4.1, 0.0]


def test_a_famous_name_has_the_fame_of_its_holders_account_handles_that_contain_it():
    """A social list ranks the account and enters the display name a little lower: ``tomholland2013`` was priced
    above ``tomholland`` on X. A name is lifted to the account's popularity; not a short first name many people
    share, not a name that is not famous (a lift never makes one), not another person's key."""
    from handleval.price.premium import account_fame_lifts

    popularity = {"tomholland": 0.69, "tomholland2013": 0.73, "nina": 0.63, "ninadobrev": 0.76,
                  "quietname": 0.40, "quietname99": 0.70, "tomhollandfan": 0.95, "kevinhart": 0.77,
                  "kevinhart4real": 0.81, "kardashian": 0.7, "kimkardashian": 0.9, "sandra": 0.6, "iamsandra": 0.7}
    display = {"tomholland": "Tom Holland", "tomholland2013": "Tom Holland", "nina": "Nina Dobrev",
               "ninadobrev": "Nina Dobrev", "quietname": "Quiet Name", "quietname99": "Quiet Name",
               "tomhollandfan": "A Fan", "kevinhart": "Kevin Hart", "kevinhart4real": "Kevin Hart",
               "kardashian": "Kim Kardashian", "kimkardashian": "Kim Kardashian", "sandra": "Sandra",
               "iamsandra": "Sandra"}
    # not a name inside another name (kardashian in kimkardashian), nor a common given name (sandra)
    accounts = {"tomholland2013", "ninadobrev", "quietname99", "tomhollandfan", "kevinhart4real", "kimkardashian",
                "iamsandra"}
    assert account_fame_lifts(popularity, display, 0.5, accounts) == {"tomholland": 0.73, "kevinhart": 0.81}
    # a full name (two words or more) has the fame of any account of the same display name: therock is Dwayne
    # Johnson's; not a one-word name (a stage name several accounts may show) nor a name that is not the display's
    popularity |= {"therock": 0.9, "dwaynejohnson": 0.85, "rihanna": 0.8, "badgalriri": 0.9, "rockfan": 0.6,
                   "rockjohnson": 0.7}
    display |= {"therock": "Dwayne Johnson", "dwaynejohnson": "Dwayne Johnson", "rihanna": "Rihanna",
                "badgalriri": "Rihanna", "rockjohnson": "Dwayne Johnson"}
    accounts |= {"therock", "badgalriri", "rockjohnson"}
    assert account_fame_lifts(popularity, display, 0.5, accounts) == {"tomholland": 0.73, "kevinhart": 0.81,
                                                                       "dwaynejohnson": 0.9}
    # only an account lifts: a CEO list's short name is no account of the legal name's holder
    popularity |= {"timothydcook": 0.6, "timcook": 0.7}
    display |= {"timothydcook": "Timothy D. Cook", "timcook": "Timothy D. Cook"}
    assert "timothydcook" not in account_fame_lifts(popularity, display, 0.5, accounts)
    assert account_fame_lifts(popularity, display, 0.5, accounts | {"timcook"})["timothydcook"] == 0.7


def no_words(words: list[str]) -> np.ndarray:
    """An English Zipf of 0 for every word."""
    return np.zeros(len(words))


def test_a_near_spelling_of_a_famous_x_handle_impersonates_the_account():
    """One edit (a character changed, added, dropped, or two neighbours swapped, anywhere) from a famous X account's
    handle of eight characters or more, the most popular where several are; not the handle itself, a name of its
    own (a dictionary word, a famous name, a first name and surname, a common given name with digits), a shorter
    handle, an account below the fame threshold, or two edits away."""
    from handleval.price.premium import x_account_lookalikes

    popularity = {"realdonaldtrump": 0.63, "taylorswift13": 0.75, "taylorswift1": 0.55, "iamwill": 0.66,
                  "quietstars": 0.40, "bbcbreaking": 0.65, "sarahnews": 0.6, "richardbranson": 0.6}
    display = {k: f"@{k}" for k in popularity}
    handles = ["realdonaldtrmp", "taylorswift31", "taylorswift12", "iambill", "quietstar", "bbcbreakinq",
               "bbcbreakiqq", "bbcbreaking", "bbcbreakingz", "realdonaldtrumps", "sarahnews1", "richardbrandon",
               "bbcberaking"]
    features = pd.DataFrame({"brand__fame": 0.0, "celeb__fame": 0.0, "dict__is_word": 0.0, "dict__full_name": 0.0},
                            index=range(len(handles)))
    features.loc[8, "dict__is_word"] = 1.0  # as if a word: a word is a name of its own
    features.loc[11, "dict__full_name"] = 1.0
    risk = x_account_lookalikes(np.array(handles, dtype=object), features, popularity, display, 0.5, no_words)
    copy = "could impersonate X account '@{}'".format
    assert risk.tolist() == [copy("realdonaldtrump"), copy("taylorswift13"), copy("taylorswift13"), None, None,
                             copy("bbcbreaking"), None, None, None, copy("realdonaldtrump"), copy("sarahnews"), None,
                             copy("bbcbreaking")]
    # a common given name with digits is someone's own, whichever famous handle it is one edit from
    assert x_account_lookalikes(np.array(["sarah12"], dtype=object), features[:1], {"sarah123": 0.9},
                                {"sarah123": "@sarah123"}, 0.5, no_words).tolist() == [None]
    features.loc[0, "celeb__fame"] = 0.6  # a famous name itself imitates nothing
    assert x_account_lookalikes(np.array(handles[:1], dtype=object), features[:1], popularity, display,
                                0.5, no_words).tolist() == [None]


def test_a_famous_x_handle_behind_an_accounts_affixes_impersonates_the_account():
    """A famous X handle of six characters or more behind the affixes the lexicons strip (``news``, ``thereal``,
    digits; a handle's closing digits may go: ``kdtrey99``) or beside a scam word (``fan``, ``parody``; a shorter
    one too, if no everyday word, from three characters beside ``parody``, ``fan``, ``not``, ``fake``), the most
    popular where several are, or with separators
    added or moved (even where it reads as a first name and surname); not a shorter handle, one below the fame
    threshold, a name of its own behind an affix, a famous name, or a handle with other words around it."""
    from handleval.price.premium import x_account_lookalikes, x_account_spelt_apart

    popularity = {"bbcbreaking": 0.65, "nytimes": 0.7, "kdtrey5": 0.6, "espn": 0.8, "quietstars": 0.4,
                  "bbcnews": 0.66, "bbcnewsuk": 0.55}
    display = {k: f"@{k}" for k in popularity}
    handles = ["bbcbreakingnews", "thereal_nytimes", "kdtrey5fan", "kdtrey99", "espnnews", "quietstarsfan",
               "bbcbreakinghello", "bbcnewsuk22", "nytimesnews"]
    features = pd.DataFrame({"brand__fame": 0.0, "celeb__fame": 0.0, "dict__is_word": 0.0, "dict__full_name": 0.0},
                            index=range(len(handles)))
    features.loc[8, "dict__full_name"] = 1.0  # as if a first name and surname: a name of its own
    risk = x_account_lookalikes(np.array(handles, dtype=object), features, popularity, display, 0.5, no_words)
    copy = "could impersonate X account '@{}'".format
    assert risk.tolist() == [copy("bbcbreaking"), copy("nytimes"), copy("kdtrey5"), copy("kdtrey5"), None, None,
                             None, copy("bbcnews"), None]
    # with separators added or moved, even where it reads as a first name and surname: x_account_spelt_apart's
    popularity |= {"ryanseacrest": 0.6, "jk_rowling": 0.6}
    display |= {"ryanseacrest": "@ryanseacrest", "jk_rowling": "@jk_rowling"}
    handles = ["ryan_seacrest", "_nytimes", "jkrowling_", "jk_rowling", "ryan_seacrest", "espn_"]
    features = features.iloc[:len(handles)].assign(dict__full_name=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0], celeb__fame=0.0)
    features.loc[4, "celeb__fame"] = 0.7  # a famous name is its own
    assert x_account_spelt_apart(np.array(handles, dtype=object), features, popularity, display, 0.5).tolist() == \
        [copy("ryanseacrest"), copy("nytimes"), copy("jk_rowling"), None, None, None]  # 'espn': too short
    assert x_account_lookalikes(np.array(handles[:1], dtype=object), features[:1], popularity, display,
                                0.5, no_words).tolist() == [None]  # a first name and surname is no near-spelling of one
    # beside a fan's, a parody's or a scammer's word (the name-and-word rule reads only the brand and people lists);
    # a shorter handle beside them too, from three characters beside the words that say whose account it is not
    popularity |= {"wsj": 0.7, "pink": 0.8}
    display |= {"wsj": "@WSJ", "pink": "@Pink"}
    handles = ["fankdtrey5", "notbbcbreaking", "nytimesparody2", "bbcnewsbackup", "espnparody", "notquietstars",
               "wsjparody", "notwsj", "wsjlogin", "espnlogin", "pinkparody", "wsjnews"]
    features = pd.DataFrame({"brand__fame": 0.0, "celeb__fame": 0.0, "dict__is_word": 0.0, "dict__full_name": 0.0},
                            index=range(len(handles)))

    def english(words: list[str]) -> np.ndarray:  # 'pink' is an everyday word
        return np.array([4.5 if w == "pink" else 0.0 for w in words])

    assert x_account_lookalikes(np.array(handles, dtype=object), features, popularity, display, 0.5,
                                english).tolist() == \
        [copy("kdtrey5"), copy("bbcbreaking"), copy("nytimes"), copy("bbcnews"), copy("espn"), None,  # quietstars
         "could impersonate X account '@WSJ'", "could impersonate X account '@WSJ'", None,  # short ones: beside
         None, None, None]  # fan, not, fake, parody only ('kakadeals'); 'pink' a word; no affixes for short ones


def test_a_valuation_time_is_read_one_way_for_the_cli_the_library_and_batches():
    """A date alone is the end of that day, as the default is the end of today (``value --as-of 2025-03-13`` saw
    none of that day's sales, while a batch row's ``as_of`` of the same date was its midnight until both read it
    here); a time after today is refused (own sales aged into the future), as is one that would wrap round."""
    from handleval.price.predict import default_as_of, valuation_time

    end_of_day = pd.Timestamp("2025-03-14")
    assert valuation_time("2025-03-13") == valuation_time("20250313") == valuation_time(" 2025-03-13 ") == end_of_day
    assert valuation_time("2025-03-13T12:00:00+02:00") == pd.Timestamp("2025-03-13 10:00")
    assert valuation_time(pd.Timestamp("2025-03-13")) == pd.Timestamp("2025-03-13")  # a time, not a date text
    assert valuation_time(default_as_of()) == default_as_of()
    for wrong, says in (("soon", "is not a date or time"), ("2035-01-01", "is after today"),
                        ("2300-01-01", "outside the dates"), ("1600-01-01", "outside the dates")):
        with pytest.raises(ValueError, match=says):
            valuation_time(wrong)
