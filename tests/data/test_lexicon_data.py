"""The celebrity lexicon against the real reference files: founder CEOs are famous by their company's value."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from handleval.features.lexicons import load_lexicon, person_slug


@pytest.fixture(scope="module")
def celeb():
    return load_lexicon("celeb")


@pytest.fixture(scope="module")
def fortune(data_root):
    table = pd.read_csv(data_root / "reference/fortune1000_2024/fortune1000_2024.csv", dtype=str, encoding="utf-8-sig")
    table["market_cap_usd"] = pd.to_numeric(table["MarketCap_March28_M"].str.replace(",", ""), errors="coerce") * 1e6
    return table


def test_person_slug_drops_middle_initials_and_suffixes_but_never_leaves_a_surname_alone():
    assert person_slug("Marc R. Benioff") == "marcbenioff"
    assert person_slug("Martin Luther King, Jr.") == "martinlutherking"
    assert person_slug("J. Doe") == "jdoe"


def test_founder_ceos_are_famous_by_company_value(celeb, fortune):
    founders = fortune[fortune["Founder_is_CEO"].str.strip().str.lower() == "yes"]
    assert len(founders) > 20
    for row in founders.itertuples():
        key = person_slug(row.CEO)
        # the rule written out: $10 billion -> 0.5, each tenfold +0.25, clipped to [0, 1]; another list may know more
        expected = min(1.0, max(0.0, 0.5 + 0.25 * math.log10(row.market_cap_usd / 1e10)))
        assert celeb.popularity[key] >= expected - 1e-9, (row.CEO, celeb.popularity[key], expected)
    assert celeb.display["elonmusk"] == "Elon Musk" and celeb.popularity["elonmusk"] > 0.9
    assert celeb.source["elonmusk"] == "fortune1000_founders"  # Pantheon 1.0 (2013) and the social lists lack him


def test_a_hired_ceo_is_not_famous_by_office(celeb, fortune):
    founder = fortune["Founder_is_CEO"].str.strip().str.lower() == "yes"
    founder_keys = {person_slug(c) for c in fortune.loc[founder, "CEO"].dropna()}  # Michael J. Brown, Euronet
    hired = [person_slug(c) for c in fortune.loc[~founder, "CEO"].dropna()]
    assert len(hired) > 500
    assert all(celeb.source.get(k) != "fortune1000_founders" for k in hired if k not in founder_keys)
    assert "andyjassy" not in celeb  # Amazon's CEO since 2021, not its founder
