"""Market rules applied to the learned price (docs/pricing.md, "The rules, in order"); their numbers are in
``configs/markets.yaml``, the word lists and cut-offs that decide what a name is are named constants here.

In order: a venue's minimum price holds in its own market only (Fragment's 4-character minimum never reaches X); a
name's own last sale anchors its price (a weighted average with the price without it, in dollars, the sale's
weight halving with its age); a platform's published rare-handle pricing (X: short, generic or culturally
significant names from $2,500) lifts rare names to it while that platform is priced by proxy (not once it has
sales of its own); a name that is another with characters added is priced as that name at most; the cap bounds
it all.
Every rule returns how much it moved each price, so that the reasons can show it. Lookalikes of famous names get a
``risk`` and no fame: the price model reads fame only from exact matches (``brand__fame``, ``celeb__fame``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from handleval.config import MarketsConfig, RareHandlePricing
from handleval.features.brands import AFFIX, COMPOUND, FUZZY, LEET, PREFIXES, SUFFIXES, affix_variants
from handleval.features.describe import plural
from handleval.features.lexicons import slug
from handleval.features.places import place_names, run_together_places
from handleval.features.words import (
    COMMON_PART_ZIPF,
    FUNCTION_WORDS,
    LANGUAGES,
    census_names,
    common_given_names,
)
from handleval.handles import PLATFORM_NAMES, X_PAGES, as_typed

#: Match kinds that imitate a name rather than being it.
_LOOKALIKE_KINDS = (float(AFFIX), float(LEET), float(FUZZY))
#: A famous name of three letters or fewer, or a brand a handle of common words spells nearly, counts as imitated
#: only when it is this popular: a short handle or everyday words hit some obscure label far too often (``nir`` →
#: 'nlr.gov', ``a_b`` → the account 'ab', ``9z`` → 'gz.gov.cn', ``blackcat`` → 'blackhat.com'; ``lbm`` → 'IBM',
#: ``cnn_`` → 'CNN' and ``netfix`` → 'Netflix' still count).
VERY_POPULAR = 0.9
#: A misspelling of a short name that changes or adds a letter, and digits or separators around a famous name that
#: is also a common word, count only for a name this popular: at the lookalike floor a made-up name is often a step
#: from some name (``kodav`` → 'kodak.com'), and ``shop1``, ``wine_``, ``dream22`` are somebody's shop, wine and dream.
WELL_KNOWN = 0.8
#: An English word of letters only this frequent (``thimble``, ``boson``, ``inuit``: Zipf 2.5 - 3, below what the
#: word features call a dictionary word) is no misspelling or affixed copy of a name less than :data:`VERY_POPULAR`
#: ('Trimble', 'boston.com', 'intuit.com'; ``hoses``, 'Moses'); of a better-known one it still is (``googly``,
#: ``oreal``).
ENGLISH_WORD_ZIPF = 2.5
#: Languages whose words count on X as words (X is read worldwide: ``dinero`` was $233 beside ``money``'s $20,600),
#: if of :data:`OTHER_LANGUAGE_MIN_LETTERS` or more (shorter strings are a word in some language too often: ``kami``,
#: ``bir``), and as frequent as an English grammar word at most (``function_word_zipf``): their grammar words
#: (``nicht``, ``porque``) are not told apart from their nouns as English ones are.
OTHER_LANGUAGES = {"es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese", "it": "Italian"}
OTHER_LANGUAGE_MIN_LETTERS = 5
#: A reason names such a word's language only when it is no English word (Zipf 3) or this much more frequent in its
#: language (3×): ``robots`` (French 4.02, English 3.99) and ``cairo`` are words, not "French" or "Italian" words.
LANGUAGE_NAMED_MARGIN = 0.5
#: Endings of a name that is a site's plumbing, the files or services it serves other sites, not a brand people
#: know (``gstatic``, ``ytimg``, ``fbcdn``, ``googleusercontent``, ``amazonaws``, ``ctfassets``).
PLUMBING_ENDINGS = ("static", "cdn", "img", "usercontent", "tagmanager", "syndication", "aws", "apis", "assets")
#: Sites whose business is other sites' links, names or pages, high in the link and traffic ranks the brand lexicon
#: reads but no name people know: a short-link domain of another site (its label is no one's name), a domain
#: marketplace or parking service (every parked domain links it), and a service embedded in other pages (avatars,
#: share buttons, consent and ad opt-out pages, registration badges). The brand lexicon's key -> the site; checked
#: among the Moz top 500 and every site the lexicon holds at popularity 0.8 or more (2026-12-07). Their brand fame
#: counts neither for rare-handle pricing nor as a name to imitate (the model's own feature still reads it).
NOT_NAMES = {
    # short links
    "youtu": "youtu.be", "goo": "goo.gl", "wa": "wa.me", "forms": "forms.gle", "amzn": "amzn.to", "lin": "lin.ee",
    "cutt": "cutt.ly", "ow": "ow.ly", "buff": "buff.ly", "lnkd": "lnkd.in", "onelink": "onelink.me",
    "mailchi": "mailchi.mp", "linktr": "linktr.ee", "telegra": "telegra.ph",
    # domain trade and parking
    "brandbucket": "brandbucket.com", "nicsell": "nicsell.com", "namebright": "namebright.com",
    "expireddomains": "expireddomains.com", "dan": "dan.com", "domainmarket": "domainmarket.com", "sedo": "sedo.com",
    "afternic": "afternic.com", "buydomains": "buydomains.com", "hugedomains": "hugedomains.com",
    "perfectdomain": "perfectdomain.com", "dropcatch": "dropcatch.com", "cointernet": "cointernet.com.co",
    "sedoparking": "sedoparking.com",
    # embedded in other pages
    "gravatar": "gravatar.com", "addthis": "addthis.com", "addtoany": "addtoany.com",
    "enablejavascript": "enable-javascript.com", "youronlinechoices": "youronlinechoices.com",
    "aboutads": "aboutads.info", "privacyshield": "privacyshield.gov", "listmanage": "list-manage.com",
    "secureserver": "secureserver.net", "fbsbx": "fbsbx.com", "ggpht": "ggpht.com", "alicdn": "alicdn.com",
    "ebayimg": "ebayimg.com", "doubleclick": "doubleclick.net", "marketingplatform": "marketingplatform.google.com",
    "networkadvertising": "networkadvertising.org", "thenai": "thenai.org", "cookiedatabase": "cookiedatabase.org",
    "allaboutcookies": "allaboutcookies.org", "youtubenocookie": "youtube-nocookie.com",
    "stratohosting": "strato-hosting.eu", "beian": "beian.gov.cn", "miit": "miit.gov.cn",
    "feedburner": "feedburner.com",
}
_DAYS_PER_YEAR = 365.25
#: The model features each rule reads, as name prefixes (a feature, or a family such as ``brand__``): see :class:`Step`.
_OWN_SALE_FEATURES = ("sales__n_prev_same", "sales__prev_same_logp", "sales__prev_same_age_days")
_LENGTH_READS = ("len__length", "len__n_letters", "len__n_digits", "len__is_all_letters", "len__is_all_digits")
#: What each rare-handle factor (:func:`rare_scores`) reads: 1 fame, 2 word, 3 length, 4 word and length together,
#: 5 a place of several words (the word features, and the celebrity family's run-together-name signal).
_RARE_READS = {1: ("brand__", "celeb__"), 2: ("dict__",), 3: _LENGTH_READS, 4: ("dict__", *_LENGTH_READS),
               5: ("dict__", "celeb__")}


@dataclass
class Step:
    """One rule's effect: ``delta_ln`` per row (0 where it did not apply) and a phrase for the rows it moved.

    ``covers`` maps the model features a rule reads (name prefixes: a feature, or a family such as ``brand__``)
    to the rows where it read them: there the rule's reason takes in the model's reasons from those features, so
    that one fact (the name's fame, its word, its length, its own sale) is one reason, not two.

    ``sets_price``: the rule lifts a price to its own (a minimum, rare-handle pricing), so where it moved a price,
    that price depends on nothing before it: neither the model's reasons nor an earlier rule count there."""

    name: str
    delta_ln: np.ndarray
    phrase: np.ndarray
    covers: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict)
    sets_price: bool = False


@dataclass
class RuledPrices:
    """The learned ln price after the market rules, with each rule's step (in order) for the reasons."""

    learned_ln: np.ndarray
    ln: np.ndarray
    steps: list[Step] = field(default_factory=list)
    basis: np.ndarray | None = None  # per row: the rule the price rests on ("own sale", …): the last that moved it
    minimum_ln: np.ndarray | None = None  # per row: the least price a rule guarantees (-inf where none applied)


def _col(features: pd.DataFrame, name: str) -> np.ndarray:
    if name in features.columns:
        return features[name].to_numpy(dtype=np.float64)
    return np.full(len(features), np.nan)


def _separators(features: pd.DataFrame) -> np.ndarray:
    """Underscores, dots, hyphens and other non-alphanumerics in each handle."""
    return sum(np.nan_to_num(_col(features, f"len__n_{c}")) for c in ("underscores", "dots", "hyphens", "other"))


def _itself_famous(features: pd.DataFrame) -> np.ndarray:
    """Rows that are a famous name of either family (exact): they imitate nothing."""
    return np.nan_to_num(np.maximum(_col(features, "brand__fame"), _col(features, "celeb__fame"))) > 0


#: The lexicons a lookalike rule reads, the person first, and what a risk calls a name of each.
_FAMILY_WORDS = (("celeb", "famous name"), ("brand", "brand"), ("x_account", "X account"))


def _most_popular(lexicons: dict[str, Any], key: str, needed: float) -> tuple[float, str, str] | None:
    """``(popularity, what, shown)`` of ``key`` in the most popular of ``lexicons`` that holds it at ``needed`` or more
    (the person first on a tie), else None."""
    best = None
    for family, what in _FAMILY_WORDS:
        popularity = lexicons[family].popularity.get(key, 0.0) if family in lexicons else 0.0
        if popularity >= needed and (best is None or popularity > best[0]):
            best = (popularity, what, lexicons[family].display.get(key, key))
    return best


def _impersonation(what: str, name: object) -> str:
    """The ``risk`` text: ``could impersonate brand 'Nike'`` (``a brand`` when the name is unknown)."""
    return f"could impersonate {what} '{name}'" if name else f"could impersonate a {what}"


def own_sale_weight(age_days: np.ndarray, markets: MarketsConfig) -> np.ndarray:
    """``0.5 ** (age / half-life)``; an undated last sale counts as ``undated_age_years`` old."""
    rule = markets.own_sale
    years = np.where(np.isfinite(age_days), np.maximum(age_days, 0.0) / _DAYS_PER_YEAR, rule.undated_age_years)
    return 0.5 ** (years / rule.half_life_years)


def _rare_fame(features: pd.DataFrame, lowered: pd.Series | None) -> np.ndarray:
    """The fame rare-handle pricing reads (the featurizer's, of an exact famous name): not of a run-together token
    that wordfreq knows (``bluefish``: a sign of a name, not of fame), nor (given the handles, ``lowered``) of a
    site's plumbing: a name with one of the :data:`PLUMBING_ENDINGS` that is no English word (``gstatic``,
    ``fbcdn``, ``ytimg``: every page loads them, so traffic and link ranks put them near the top), nor the brand
    fame of a site that is no name (:data:`NOT_NAMES`: ``youtu``, ``dan``, ``gravatar``)."""
    core = None if lowered is None else lowered.str.replace(r"[^a-z0-9]", "", regex=True)
    fame = np.zeros(len(features))
    for family in ("brand", "celeb"):
        token = _col(features, f"{family}__match_kind") == COMPOUND
        of_family = np.where(token, 0.0, np.nan_to_num(_col(features, f"{family}__fame")))
        if family == "brand" and core is not None:
            of_family[core.isin(NOT_NAMES).to_numpy()] = 0.0
        fame = np.maximum(fame, of_family)
    if core is not None:
        plumbing = core.str.endswith(PLUMBING_ENDINGS).to_numpy() & (np.nan_to_num(_col(features, "dict__zipf_en")) < 2)
        fame[plumbing] = 0.0
    return fame


def _other_language_word(features: pd.DataFrame, most: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row, ``(zipf, language)`` of a word of :data:`OTHER_LANGUAGES` as rare-handle pricing reads it: the
    word's Zipf frequency, at ``most``, where that language is its most frequent one, the word has five letters or
    more and counts above its English frequency; else ``(0, "")``. The language is "" for an English word not
    clearly more frequent there (:data:`LANGUAGE_NAMED_MARGIN`)."""
    best = _col(features, "dict__best_lang")
    codes = [float(LANGUAGES.index(code)) for code in OTHER_LANGUAGES]
    long_enough = np.nan_to_num(_col(features, "len__length")) >= OTHER_LANGUAGE_MIN_LETTERS
    zipf = np.minimum(np.nan_to_num(_col(features, "dict__zipf_best")), most)
    english = np.nan_to_num(_col(features, "dict__zipf_en"))
    theirs = np.isin(best, codes) & long_enough & (zipf > english)
    named = theirs & ((english < 3) | (zipf >= english + LANGUAGE_NAMED_MARGIN))
    names = np.select([best == c for c in codes], list(OTHER_LANGUAGES.values()), "").astype(object)
    return np.where(theirs, zipf, 0.0), np.where(named, names, "")


def rare_scores(pricing: RareHandlePricing, features: pd.DataFrame, handles: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """``(score, factor)`` per row: the stronger of fame and of word popularity and shortness together, and what
    it was (0 not rare, 1 fame, 2 word, 3 length, 4 word and length, 5 a place of several words). A famous name at
    exactly ``fame_from`` is rare with score 0 (priced from ``rare_from``). A short word is rare for both
    reasons: word and length combine as ``1 - (1 - word) * (1 - length)``, so ``kiln`` is above ``gxqz`` and neither
    counts twice. Word and length count only in a handle of letters and digits: ``_google`` and ``google_`` are
    variants of a rare name, not one (fame already counts only for a name as its owner writes it,
    :func:`handleval.features.brands.as_written`). A number is rare by its length only: ``0000`` is, ``00000`` is
    not. With ``handles``, a function word (:data:`FUNCTION_WORDS`) counts as no more frequent than
    ``pricing.function_word_zipf``: ``which`` and ``their`` are common, not valuable; and a place of several words
    written run-together (``losangeles``, :func:`~handleval.features.places.run_together_places`) is a word as
    frequent as its name (factor 5): ``boston`` is a word, ``Los Angeles`` is two."""
    lowered = None if handles is None else pd.Series(handles, dtype=object).astype(str).str.lower()
    fame = _rare_fame(features, lowered)
    famous = fame >= pricing.fame_from  # rare from fame_from on: a worldwide brand list's 0.5 is famous
    fame = np.clip((fame - pricing.fame_from) / (1 - pricing.fame_from), 0, 1)
    lo, hi = pricing.word_zipf
    digits = np.nan_to_num(_col(features, "len__is_all_digits")) > 0
    is_word = np.nan_to_num(_col(features, "dict__is_word")) > 0  # never a number: the word lists hold none
    zipf = np.maximum(np.nan_to_num(_col(features, "dict__zipf_en")),
                      _other_language_word(features, pricing.function_word_zipf)[0])
    place = np.zeros(len(features), dtype=bool)
    if lowered is not None:
        grammar = lowered.isin(FUNCTION_WORDS).to_numpy()
        zipf = np.where(grammar, np.minimum(zipf, pricing.function_word_zipf), zipf)
        phrase = lowered.map(run_together_places(pricing.place_min_population)["zipf"]).to_numpy(dtype=np.float64)
        place = np.nan_to_num(phrase) > np.where(is_word, zipf, 0.0)
        zipf, is_word = np.where(place, phrase, zipf), is_word | place
    word = np.where(is_word, np.clip((zipf - lo) / (hi - lo), 0, 1), 0)
    word = word * pricing.word_weight
    length = np.nan_to_num(_col(features, "len__length")).astype(np.int64)
    # X sells short handles as rare, "alphanumeric combinations" as free priority handles: letters only or digits only
    letters = (np.nan_to_num(_col(features, "len__is_all_letters")) > 0) | digits
    by_length = np.zeros(max(pricing.short_letters, default=0) + 2)
    for n_chars, value in pricing.short_letters.items():
        by_length[n_chars] = value
    short = by_length[np.clip(length, 0, len(by_length) - 1)] * letters
    plain = _separators(features) == 0
    word, short = word * plain, short * plain
    word_and_length = 1 - (1 - word) * (1 - short)
    score = np.maximum(fame, word_and_length)
    factor = np.select([(score <= 0) & ~famous, fame >= word_and_length, (word > 0) & (short > 0), word > 0],
                       [0, 1, 4, 2], 3)
    return score, np.where((factor == 2) & place, 5, factor)


def apply_rules(frame: pd.DataFrame, features: pd.DataFrame, learned_ln: np.ndarray, markets: MarketsConfig,
                cap_ln: float, matches: pd.DataFrame | None = None) -> RuledPrices:
    """The market rules on top of the learned ln prices of ``frame``'s rows.

    ``frame`` has ``handle``, ``platform`` (the market that prices the row) and ``requested`` (the platform asked
    for, e.g. ``x`` priced by proxy as ``telegram``); ``features`` are the featurizer's columns of the same rows;
    ``matches`` (optional) names the famous name a rare handle matched."""
    n = len(frame)
    ln = np.minimum(np.asarray(learned_ln, dtype=np.float64), cap_ln)
    out = RuledPrices(learned_ln=ln.copy(), ln=ln, basis=np.full(n, "", dtype=object),
                      minimum_ln=np.full(n, -np.inf))
    market = pd.Series(frame["platform"].to_numpy(dtype=object).astype(str))
    requested = pd.Series((frame["requested"] if "requested" in frame else frame["platform"]).to_numpy(dtype=object)
                          .astype(str))
    handles = frame["handle"].to_numpy(dtype=object).astype(str)

    # 1. Venue minimums that set the price, in their own market only: the price the name's own sale (2.) moves.
    length = pd.Series(np.char.str_len(handles))
    for floor in markets.floors:
        if floor.rule != "sets_price":
            continue
        hit = floor.applies(market, length) & (requested == market).to_numpy()
        if not hit.any():
            continue
        floor_ln = float(np.log(floor.min_price * markets.usd_rate(floor.currency)))
        delta = np.where(hit, np.maximum(ln, min(floor_ln, cap_ln)) - ln, 0.0)
        out.minimum_ln = np.where(hit, np.maximum(out.minimum_ln, min(floor_ln, cap_ln)), out.minimum_ln)
        minimum = f"{PLATFORM_NAMES.get(floor.platform, floor.platform)} minimum for names of {floor.lengths} " \
                  f"characters (${np.exp(floor_ln):,.0f})"
        phrase = np.where(delta > 0, minimum, "")
        out.basis[delta > 0] = minimum  # the price rests on the minimum alone
        out.ln = ln = ln + delta
        out.steps.append(Step("floor", delta, phrase.astype(object), sets_price=True))

    # 2. The name's own last sale in the market that prices it; on a platform priced by proxy, not a sale at the
    # proxy market's opening bid (Fragment's 10 TON): a venue's minimum stays in its own market (a sale whose price
    # it set never reaches a proxied row: SalesHistoryFeatures.anchor_sales).
    last = _col(features, "sales__prev_same_logp")
    has_sale = np.isfinite(last)
    proxied = np.flatnonzero(has_sale & (market != requested).to_numpy())
    if len(proxied):
        sold = pd.DataFrame({"platform": market.iloc[proxied].to_numpy(), "handle": handles[proxied],
                             "price_usd": np.exp(last[proxied])})
        has_sale[proxied[at_floor(sold, markets)]] = False
    if has_sale.any():
        age = _col(features, "sales__prev_same_age_days")
        weight = own_sale_weight(age, markets)
        # a weighted average in dollars (a sale far above a poor learned price is not dragged down to it in
        # ratio), of the sale and the price without it (a venue's minimum included: `gray`'s 6,769-TON sale is
        # averaged with the 5,000-TON minimum, not with a learned $100), never below the minimum (a sale below it
        # changes nothing), then the cap
        anchored = np.minimum(np.maximum(np.log(weight * np.exp(last) + (1 - weight) * np.exp(ln)), out.minimum_ln),
                              cap_ln)
        delta = np.where(has_sale, anchored - ln, 0.0)
        phrase = np.full(n, "", dtype=object)
        for i in np.flatnonzero(has_sale).tolist():
            when = f", {plural(round(age[i]), 'day')} before" if np.isfinite(age[i]) else " (undated)"
            # on a platform priced by proxy, the sale was of the same name in the proxy's market
            where = f" on {PLATFORM_NAMES.get(market[i], market[i])}" if market[i] != requested[i] else ""
            phrase[i] = f"own sale{where} for ${np.exp(last[i]):,.0f}{when}, weight {weight[i]:.2f}"
            # the basis names what set the price (gold.com's $8.5 million sale is not, at the cap; nor a sale that
            # moved it by cents)
            if abs(np.exp(ln[i] + delta[i]) - np.exp(ln[i])) >= 0.5:
                out.basis[i] = f"own sale{where} ${np.exp(last[i]):,.0f}"
        out.ln = ln = ln + delta
        out.steps.append(Step("own_sale", delta, phrase, {_OWN_SALE_FEATURES: has_sale}))

    # 3. A platform's published rare-handle pricing, while the platform is priced by proxy: once it is a market of
    # its own (a sales ledger of its own in training), its sales price its rare names too.
    for platform, pricing in markets.rare_handles.items():
        rows = ((requested == platform) & (market != platform)).to_numpy()
        if not rows.any():
            continue
        score, factor = rare_scores(pricing, features, handles)
        rare = rows & (factor > 0)
        if not rare.any():
            continue
        price_ln = np.log(pricing.rare_from.usd) + score * np.log(pricing.top.usd / pricing.rare_from.usd)
        # the rule's own price is a judgement; what it guarantees is the start of rare-handle pricing
        out.minimum_ln = np.where(rare, np.maximum(out.minimum_ln, min(np.log(pricing.rare_from.usd), cap_ln)),
                                  out.minimum_ln)
        delta = np.where(rare, np.maximum(ln, np.minimum(price_ln, cap_ln)) - ln, 0.0)
        phrase = np.full(n, "", dtype=object)
        lifted = np.flatnonzero(delta > 0)  # phrases only where the rule moved the price (the reasons show those)
        language = _other_language_word(features, pricing.function_word_zipf)[1]
        famous = _famous_names(features, matches, lifted[factor[lifted] == 1])
        # a famous name priced by its length or word ('lfc', 'pink') names its fame as well: a reader checks both
        fame = _rare_fame(features.iloc[lifted], pd.Series(handles[lifted], dtype=object).astype(str).str.lower())
        also = _famous_names(features, matches, lifted[(factor[lifted] != 1) & (fame >= pricing.fame_from)])
        places = run_together_places(pricing.place_min_population)["shown"] if (factor[lifted] == 5).any() else {}
        name = platform.upper() if len(platform) < 3 else platform
        for i in lifted.tolist():
            n_chars = len(handles[i])
            short = f"{n_chars} {'digit' if handles[i].isdigit() else 'letter'}{'' if n_chars == 1 else 's'}"
            word = f"common {language[i] + ' ' if language[i] else ''}word '{handles[i]}'"
            what = {1: famous.get(i), 2: word, 3: short, 4: f"{word}, {short}",
                    5: f"place '{places.get(handles[i].lower())}'"}[int(factor[i])]
            phrase[i] = f"{name} rare handle: {what}" + (f", also {also[i]}" if i in also else "")
            out.basis[i] = f"{name} rare-handle pricing"  # its price alone: what came before it changes nothing
        out.ln = ln = ln + delta
        out.steps.append(Step("rare", delta, phrase, {read: rare & (factor == k) for k, read in _RARE_READS.items()},
                              sets_price=True))
    return out


#: What a name may carry around its letters that adds no value of its own: digits and separators.
_JUNK_AFFIX = re.compile(r"([0-9_.\-]*)(.*[^0-9_.\-])([0-9_.\-]*)")


#: A number written as an ordinal at a name's start (``20th``, ``1st``, ``22nd``; not ``99steve``): its digits
#: belong to the name.
_ORDINAL = re.compile(r"[0-9]*(?:1[1-3]th|1st|2nd|3rd|[04-9]th)")


def _junk_core(handle: object) -> str | None:
    """The name inside ``handle`` when digits or separators were added at its start or end (``shadowhunter123`` →
    ``shadowhunter``, ``_pizza`` → ``pizza``), else None. The core holds a letter and no digit, and the added
    digits are no ordinal's (``r2d2`` is not 'r2d' with a 2 added, nor ``20thcenturyfox`` 'thcenturyfox')."""
    found = _JUNK_AFFIX.fullmatch(handle) if isinstance(handle, str) else None
    if not found or not (found.group(1) or found.group(3)):
        return None
    core = found.group(2)
    if not any(c.isalpha() for c in core) or any(c.isdigit() for c in core) or _ORDINAL.match(handle.lower()):
        return None
    return core


def numbered_series(first_sold: Iterable[tuple[str, str, int]]) -> dict[tuple[str, str], int]:
    """``(market, core) -> time`` of every numbered series that sold: from ``(market, name, time of its first
    sale)``, the time the second name of one core with other digits or separators added first sold in that market
    (``satoshipremium111``, ``satoshipremium182``: a collection that sells as one, at 3,200 TON a name)."""
    times: dict[tuple[str, str], dict[str, int]] = {}
    for market, name, when in first_sold:
        core = _junk_core(name)
        if core is not None:
            named = times.setdefault((market, core), {})
            named[name] = min(when, named.get(name, when))
    return {key: sorted(named.values())[1] for key, named in times.items() if len(named) >= 2}


def junk_affix_cores(handles: np.ndarray, features: pd.DataFrame, markets: np.ndarray, as_of: np.ndarray,
                     series: Mapping[tuple[str, str], int]) -> tuple[np.ndarray, list[str]]:
    """``(rows, cores)``: the rows whose handle is another name with digits or separators added at its start or end,
    and that core (:func:`_junk_core`). Not a name that is famous itself (``blink182``, ``2pac``), nor one that sold
    itself (its own sale prices it), nor one of a numbered ``series`` (:func:`numbered_series`) that had sold in the
    row's market before its ``as_of`` (nanoseconds)."""
    exempt = _itself_famous(features) | np.isfinite(_col(features, "sales__prev_same_logp"))
    rows, cores = [], []
    for i, handle in enumerate(handles.tolist()):
        core = None if exempt[i] else _junk_core(handle)
        if core is not None and series.get((markets[i], core), as_of[i]) >= as_of[i]:
            rows.append(i)
            cores.append(core)
    return np.array(rows, dtype=np.int64), cores


def cap_at_core(ruled: RuledPrices, rows: np.ndarray, cores: list[str], core_ln: np.ndarray) -> np.ndarray:
    """The last rule: a name with digits or separators added is worth no more than the name without them
    (``core_ln``, NaN where that name cannot be priced). Where it lowers a price, that price is the core's: a rule
    that sets the price. Returns which of ``rows`` it lowered."""
    lowered = np.isfinite(core_ln) & (core_ln < ruled.ln[rows])
    if not lowered.any():
        return lowered
    delta = np.zeros(len(ruled.ln))
    delta[rows[lowered]] = core_ln[lowered] - ruled.ln[rows[lowered]]
    phrase = np.full(len(ruled.ln), "", dtype=object)
    for i, core, price in zip(rows[lowered].tolist(), np.asarray(cores, dtype=object)[lowered].tolist(),
                              np.exp(core_ln[lowered]).tolist(), strict=True):
        phrase[i] = f"no more than '{core}' without its added characters (${price:,.0f})"
        ruled.basis[i] = f"priced as '{core}'"
    ruled.ln = ruled.ln + delta
    ruled.steps.append(Step("core", delta, phrase, sets_price=True))
    return lowered


def price_set_by_rule(sales: pd.DataFrame, markets: MarketsConfig) -> np.ndarray:
    """Sales of names whose price a venue's minimum sets (``sets_price`` floors): not evidence of value."""
    hit = np.zeros(len(sales), dtype=bool)
    for floor in markets.floors:
        if floor.rule == "sets_price":
            hit |= floor.applies(sales["platform"], sales["handle"].str.len())
    return hit


def at_floor(sales: pd.DataFrame, markets: MarketsConfig) -> np.ndarray:
    """Sales within 5% of a ``lower_bound`` venue minimum for their name's length: "at least" observations."""
    hit = np.zeros(len(sales), dtype=bool)
    for floor in markets.floors:
        if floor.rule == "lower_bound":
            usd = floor.min_price * markets.usd_rate(floor.currency)
            hit |= floor.applies(sales["platform"], sales["handle"].str.len()) & \
                (sales["price_usd"].to_numpy() <= usd * 1.05)
    return hit


def _famous_names(features: pd.DataFrame, matches: pd.DataFrame | None, rows: np.ndarray) -> dict[int, str]:
    """For ``rows``, the famous name each is, from the family (brand or person) with the larger fame: "famous brand
    'Nike'" or "famous name 'Taylor Swift'" (without ``matches``, the family only). "Name", as in the features'
    and the risk's phrases: the celebrity lists hold clubs, brands and media accounts too ('Real Madrid C.F.')."""
    person_first = np.nan_to_num(_col(features, "celeb__fame")) > np.nan_to_num(_col(features, "brand__fame"))
    shown = {f: matches[f"{f}_match"].to_numpy(dtype=object) for f in ("brand", "celeb")} if matches is not None \
        else None
    out = {}
    for i in rows.tolist():
        family, what = ("celeb", "famous name") if person_first[i] else ("brand", "famous brand")
        name = shown[family][i] if shown is not None else None
        out[i] = f"{what} '{name}'" if isinstance(name, str) and name else what
    return out


def _reads_as_common_words(features: pd.DataFrame) -> np.ndarray:
    """Rows whose handle is common words through and through (``blackcat``, ``bestpizza``)."""
    return (_col(features, "dict__coverage") >= 1) & (_col(features, "dict__min_zipf") >= COMMON_PART_ZIPF)


def _one_word(features: pd.DataFrame) -> np.ndarray:
    """Rows whose letters are one dictionary word, separators and digits aside: ``train``, ``train_`` (a word of
    Zipf 3 or more in any of the word model's languages, ``dict__is_word``), ``train1`` (one English word of Zipf 3
    or more and digits)."""
    digits_only_left = _col(features, "dict__junk_chars") == np.nan_to_num(_col(features, "len__n_digits"))
    one_part = (_col(features, "dict__n_words") == 1) & digits_only_left & (_col(features, "dict__min_zipf") >= 3)
    return (np.nan_to_num(_col(features, "dict__is_word")) > 0) | one_part


def _needs_very_popular(short: Any, brand: Any, spelt_in_common_words: Any, given_name: Any = False) -> Any:
    """Whether a famous name needs :data:`VERY_POPULAR` to count as imitated: a name (or handle) of three letters or
    fewer, a brand that a handle of common words spells nearly, or a common given name (``sarahgiveaway`` is some
    Sarah's, not a copy of the account 'Sarah'). Booleans or boolean arrays."""
    return short | (brand & spelt_in_common_words) | given_name


def _is_everyday_word(keys: Any) -> np.ndarray:
    """Per matched key (None where none): whether it is also a common English word (:data:`COMMON_PART_ZIPF`:
    'Wine', 'Dream', shop.app), which handles use for its meaning, not for the name. Not a name that text mentions
    often (Rolex, Costco, Madonna: Zipf 3.3-3.7; wordfreq counts names too)."""
    from wordfreq import zipf_frequency

    return np.array([isinstance(k, str) and zipf_frequency(k, "en") >= COMMON_PART_ZIPF for k in keys], dtype=bool)


def _deliberate_slip(handle: object, key: object) -> bool:
    """Whether ``handle``'s letters are ``key`` with one letter dropped, two neighbours swapped or one letter doubled
    (``jguar``, ``dleta``, ``krakenn``): the slips an imitator makes on purpose, unlike a changed or an added letter,
    which a made-up name often is a step from some name (``kodav``, ``dikor``)."""
    if not isinstance(handle, str) or not isinstance(key, str):
        return False
    text = re.sub(r"[^a-z]", "", handle.lower())
    if len(text) == len(key) - 1:
        return any(key[:i] + key[i + 1:] == text for i in range(len(key)))
    if len(text) == len(key):
        return any(text == key[:i] + key[i + 1] + key[i] + key[i + 2:] for i in range(len(key) - 1))
    return len(text) == len(key) + 1 and any(text[i] == text[i - 1] and text[:i] + text[i + 1:] == key
                                             for i in range(1, len(text)))


def _plain_affix(handle: object, key: object) -> bool:
    """Whether ``handle`` is ``key`` with only digits and separators around it (``wine_``, ``shop1``, ``delta2024``),
    not with words (``shellsupport``, ``realchase``)."""
    if not isinstance(handle, str) or not isinstance(key, str) or not key:
        return False
    text = handle.lower()
    letters = re.sub(r"[^a-z]", "", text)
    return key in letters and not letters.replace(key, "", 1) and re.fullmatch(r"[0-9_.\-]*",
                                                                               re.sub(r"[a-z]", "", text)) is not None


def _is_common_given_name(keys: Any) -> np.ndarray:
    """Per matched key (None where none): whether it is a common given name (:func:`common_given_names`)."""
    given = common_given_names()
    return np.array([isinstance(k, str) and k in given for k in keys], dtype=bool)


#: A given name of at least this share of Americans (US Census, %: one in 10,000, 1,555 names) with only digits or
#: separators around it is someone's own handle (``seth7``, ``claude12``, ``justin1``), not a copy of a famous
#: Seth, claude.ai or Justin I; rarer names are copies (``shakira1``). Behind a word it takes a name of
#: :data:`~handleval.features.words.COMMON_GIVEN_NAME_SHARE` (``sarahgiveaway``; ``chasesupport`` copies Chase).
NUMBERED_GIVEN_NAME_SHARE = 0.01


def is_own_given_name(handles: Any) -> np.ndarray:
    """Per handle (any case): whether it is a given name of :data:`NUMBERED_GIVEN_NAME_SHARE` or more with only
    digits or separators around it, or, in a handle of letters only, an initial after it (``jessiec``,
    ``justinw``: no misspelt 'Jessie J' or 'Justin I'; a doubled last letter is an imitator's slip: ``adelee``);
    ``kyl1e`` is leetspeak, not Kyle."""
    given = common_given_names(NUMBERED_GIVEN_NAME_SHARE)

    def own(handle: object) -> bool:
        if not isinstance(handle, str):
            return False
        text = handle.lower()
        initial = text.isalpha() and len(text) >= 4 and text[-1] != text[-2] and text[:-1] in given
        return initial or text.strip("0123456789_.-") in given

    return np.array([own(h) for h in handles], dtype=bool)


def imitates(features: pd.DataFrame, prefix: str, min_popularity: float, keys: Any = None,
             handles: Any = None) -> np.ndarray:
    """Rows whose ``prefix`` (``brand`` or ``celeb``) match imitates a name at least ``min_popularity`` popular:
    affix, leetspeak, near spelling or confusable characters. A handle that is itself a famous name of either
    family imitates nothing (``donaldtrump`` is the person, not a copy of the site 'donaldjtrump.com'), a
    dictionary word, separators and digits aside, is no misspelling (``messi`` is a name of its own, not a misspelt
    'Jessi'; ``train_`` is no 'T-Pain'), and a handle of fewer letters than digits is no leetspeak or misspelling of
    a name (``4x4`` is no 'AXA', ``12345`` no '2345.com'; ``n1ke`` and ``g00gle`` are). A name of three letters or
    fewer, a brand that a handle of common words spells nearly, (given the matched ``keys``) a common given name
    and (given the ``handles``) a given name with digits or separators (:func:`is_own_given_name`) need
    :data:`VERY_POPULAR` (``blackcat`` is no 'blackhat.com', ``netfix`` is Netflix; ``bradpit`` is Brad Pitt: few
    people are named by common words; ``sarahshop`` is no copy of the account 'Sarah', ``seth7`` none of 'Seth').
    Any other misspelling of a name of six letters or fewer (``kodav`` is no 'kodak.com'; ``andrespiniesta`` still
    copies Andrés Iniesta, and, given the ``keys`` and ``handles``, a dropped, swapped or doubled letter: ``krakenn``,
    ``jguar``) and (given both) a famous name that is also a common English word or a place's name with only digits
    and separators around it need :data:`WELL_KNOWN` (``wine_`` is somebody's wine, not the brand 'Wine'; ``dream1``
    no copy of the YouTuber 'Dream', ``hamburg1`` none of hamburg.de; ``chasesupport`` and ``rolexofficial`` are
    copies). An English word of letters
    only (Zipf 3 or more) is no name plus an affix (``states``, ``western``, ``terrain``), nor (Zipf
    :data:`ENGLISH_WORD_ZIPF` or more) a misspelling or affixed copy of a name less than :data:`VERY_POPULAR`
    (``thimble``, ``boson``; ``hoses`` is no 'Moses', ``docket`` no 'docker.com'), and a word and digits no
    leetspeak of a name less than well known (``bank1`` is no 'banki.ru'; ``leg0`` is LEGO). Given both, 'the' and a
    brand or an everyday word names it (``theeconomist``, ``theguardian``: the accounts' own handles; ``thegenius``
    is no copy of the account 'Genius'), as ``therealnike`` does not; 'the' and a person is a copy (``themessi``: a
    band that is 'The …' holds the whole name as its key); 'the' and an everyday word copies no other name
    (``thefun`` is no misspelt 'thesun.co.uk', ``thestates`` no 'stat.go.jp' and an affix)."""
    kind = _col(features, f"{prefix}__match_kind")
    homoglyph = np.nan_to_num(_col(features, f"{prefix}__homoglyph")) > 0
    misspelt = (kind == FUZZY) & ~homoglyph
    given = _is_common_given_name(keys) if keys is not None else False
    if handles is not None:
        given = given | is_own_given_name(handles)
    strict = _needs_very_popular(_col(features, f"{prefix}__match_len") <= 3, prefix == "brand",
                                 misspelt & _reads_as_common_words(features), given)
    # without both, the looser test (a superset: the predictor's first pass before it finds the matched names)
    short_misspelt = everyday = the_name = np.zeros(len(features), dtype=bool)
    if keys is not None and handles is not None:
        pairs = list(zip(handles, keys, strict=True))
        short_misspelt = misspelt & (_col(features, f"{prefix}__match_len") <= 6) & \
            ~np.array([_deliberate_slip(h, k) for h, k in pairs], dtype=bool)  # a slip in a long name is a copy
        key_is_word = _is_everyday_word(keys)
        everyday = (key_is_word | is_place_name(keys)) & np.array([_plain_affix(h, k) for h, k in pairs], dtype=bool)
        after_the = [str(h).lower()[3:] if str(h).lower().startswith("the") else "" for h in handles]
        the_name = (key_is_word | (prefix == "brand")) & \
            np.array([isinstance(k, str) and rest == k for rest, k in zip(after_the, keys, strict=True)], dtype=bool)
        # 'the' and an everyday word is that word, no copy of another name ('thefun' is no misspelt 'thesun.co.uk')
        the_name |= _is_everyday_word(after_the) & np.array(
            [len(rest) >= 3 and rest.isalpha() and rest != k for rest, k in zip(after_the, keys, strict=True)],
            dtype=bool)
    needed = np.select([strict, short_misspelt | everyday], [max(min_popularity, VERY_POPULAR),
                                                             max(min_popularity, WELL_KNOWN)], min_popularity)
    popularity = np.nan_to_num(_col(features, f"{prefix}__popularity"))
    popular = popularity >= needed
    itself_famous = _itself_famous(features)
    a_word = _one_word(features)
    mostly_digits = np.nan_to_num(_col(features, "len__n_letters")) < np.nan_to_num(_col(features, "len__n_digits"))
    spelt = np.isin(kind, (float(LEET), float(FUZZY))) & ~homoglyph
    word_leet = (kind == LEET) & ~homoglyph & a_word & (popularity < WELL_KNOWN)
    # an English word of letters only reads as itself, not as a name and an affix ('states' is no 'stat' + 'es')
    common_word = (np.nan_to_num(_col(features, "dict__is_word")) > 0) & \
        (np.nan_to_num(_col(features, "len__is_all_letters")) > 0) & \
        (np.nan_to_num(_col(features, "dict__zipf_en")) >= 3)  # a dictionary word: 'terrain' is no 'terra' + 'in'
    english_word = (np.nan_to_num(_col(features, "len__is_all_letters")) > 0) & \
        (np.nan_to_num(_col(features, "dict__zipf_en")) >= ENGLISH_WORD_ZIPF) & (popularity < VERY_POPULAR)
    # (given the keys) a site that is no name has no one to imitate: 'dorms' copies no 'forms.gle'
    no_name = pd.Series(keys, dtype=object).isin(NOT_NAMES).to_numpy() if keys is not None and prefix == "brand" \
        else False
    return (np.isin(kind, _LOOKALIKE_KINDS) | homoglyph) & popular & ~itself_famous & ~(misspelt & a_word) & \
        ~word_leet & ~(spelt & mostly_digits) & ~((kind == AFFIX) & common_word) & ~the_name & \
        ~(np.isin(kind, (float(AFFIX), float(FUZZY))) & ~homoglyph & english_word) & ~no_name


def is_place_name(handles: np.ndarray) -> np.ndarray:
    """Whether each handle (any case) is a place's own name (:func:`~handleval.features.places.place_names`): it
    imitates no one (``monaco`` is Monaco, not 'MONA' and an affix; ``quetta`` is no misspelt 'David Guetta')."""
    names = place_names()
    return np.fromiter((isinstance(h, str) and h.lower() in names for h in handles), bool, len(handles))


def lookalike_risk(features: pd.DataFrame, matches: pd.DataFrame | None, min_popularity: float,
                   handles: np.ndarray | None = None) -> np.ndarray:
    """``could impersonate 'Nike'`` for a handle that :func:`imitates` a brand or famous person; None otherwise.
    When it imitates both, the risk names the more popular of the two, the person on a tie (``taylorswlft``: the
    singer, not her site). The ``handles`` let :func:`imitates` read each handle beside its match."""
    n = len(features)
    risk = np.full(n, None, dtype=object)
    named_popularity = np.full(n, -np.inf)
    lowered = None if handles is None else pd.Series(handles, dtype=object).astype(str).str.lower().to_numpy()
    for prefix, what in (("celeb", "famous name"), ("brand", "brand")):
        keys = matches[f"{prefix}_key"].to_numpy(dtype=object) if matches is not None else None
        hit = imitates(features, prefix, min_popularity, keys, lowered)
        popularity = np.nan_to_num(_col(features, f"{prefix}__popularity"))
        names = matches[f"{prefix}_match"].to_numpy(dtype=object) if matches is not None else np.full(n, None)
        for i in np.flatnonzero(hit & (popularity > named_popularity)).tolist():
            risk[i] = _impersonation(what, names[i])
            named_popularity[i] = popularity[i]
    return risk


#: Letters that read as others in a handle (``nlke`` reads as ``nike``; ``rn`` as ``m``): each pair both ways.
CONFUSABLE_LETTERS = (("l", "i"), ("rn", "m"), ("vv", "w"))


def letter_swaps(text: str) -> list[str]:
    """``text`` with one confusable letter group read as the other (``nlke`` → ``nike``, ``arnazon`` →
    ``amazon``), each position once."""
    out = []
    for a, b in CONFUSABLE_LETTERS:
        for old, new in ((a, b), (b, a)):
            start = text.find(old)
            while start >= 0:
                out.append(text[:start] + new + text[start + len(old):])
                start = text.find(old, start + 1)
    return out


#: The shortest handle :func:`spelled_lookalikes` reads with two neighbouring letters swapped back (``gogole``):
#: the featurizer's near-spelling allows one edit up to eight letters, and a swap is two.
SWAPPED_LETTERS_MIN = 5


def neighbour_swaps(text: str) -> list[str]:
    """``text`` with two different neighbouring letters swapped (``facbeook`` → ``facebook``), each position once."""
    return [text[:i] + text[i + 1] + text[i] + text[i + 2:] for i in range(len(text) - 1) if text[i] != text[i + 1]]


def swapped_forms(lexicons: dict[str, Any], min_popularity: float) -> frozenset[str]:
    """Every :func:`neighbour_swaps` of the famous names (``celeb``, ``brand``) of :data:`SWAPPED_LETTERS_MIN`
    letters or more at ``min_popularity`` or more: a handle outside it swaps to none of them (a swap undoes itself),
    so :func:`spelled_lookalikes` swaps only the few inside."""
    return frozenset(form for family in ("celeb", "brand") for key, popularity in lexicons[family].popularity.items()
                     if popularity >= min_popularity and len(key) >= SWAPPED_LETTERS_MIN and key.isalpha()
                     for form in neighbour_swaps(key))


def spelled_lookalikes(handles: np.ndarray, features: pd.DataFrame, lexicons: dict[str, Any],
                       min_popularity: float, swaps: frozenset[str] | None = None) -> np.ndarray:
    """``could impersonate brand 'Nike'`` for a handle of letters only that is a famous name but for one
    confusable letter group (``nlke``, ``rnicrosoft``, ``vlsa``) or, from :data:`SWAPPED_LETTERS_MIN` letters, two
    neighbouring letters swapped (``gogole``, ``facbeook``, ``byeonce``; in a name of six letters or fewer, of a
    name :data:`WELL_KNOWN`: ``macra`` is no 'marca.com'); None otherwise. A dictionary word, a famous
    name, a place, or a given name or surname of the US Census itself imitates nothing (``bail`` is not a copy of
    'Ball', ``rowell`` none of 'George Orwell'); the famous name has at least three letters, and
    where it or the handle has only three, or it is a brand and the handle common words, it needs
    :data:`VERY_POPULAR` (``lbm`` → 'IBM', ``iego`` → 'LEGO'). Handles with digits or separators are left to the
    featurizer's matching (``n1ke``, ``nike_``). ``lexicons``: ``{"celeb": lexicon, "brand": lexicon}``
    (popularity and display by key), the person first; ``swaps``: their :func:`swapped_forms`, a faster test for a
    large batch (without it, each handle's swaps are looked up: the same answer)."""
    risk = np.full(len(handles), None, dtype=object)
    itself = _itself_famous(features) | (np.nan_to_num(_col(features, "dict__is_word")) > 0)
    rows = np.flatnonzero(~itself)
    codes, texts = pd.factorize(pd.Series(handles[rows], dtype=object).astype(str).str.lower())
    in_words = np.zeros(len(texts), dtype=bool)
    in_words[codes] = _reads_as_common_words(features)[rows]  # one handle, one set of features
    found = np.full(len(texts), None, dtype=object)
    celeb, brand = lexicons["celeb"].popularity, lexicons["brand"].popularity
    for j, text in enumerate(texts.tolist()):  # each distinct handle once
        if len(text) < 3 or not text.isalpha():
            continue
        best = None
        may_swap = len(text) >= SWAPPED_LETTERS_MIN if swaps is None else text in swaps
        swapped = neighbour_swaps(text) if may_swap else []
        for variant in letter_swaps(text) + swapped:
            if len(variant) < 3 or (variant not in celeb and variant not in brand):  # most: no name at all
                continue
            short = min(len(text), len(variant)) <= 3
            floor = max(min_popularity, WELL_KNOWN) if variant in swapped and len(text) <= 6 else min_popularity
            for family, what in (("celeb", "famous name"), ("brand", "brand")):
                strict = _needs_very_popular(short, family == "brand", bool(in_words[j]),
                                             variant in common_given_names())
                needed = max(floor, VERY_POPULAR) if strict else floor
                popularity = lexicons[family].popularity.get(variant, 0.0)
                if popularity >= needed and (best is None or popularity > best[0]):
                    best = (popularity, what, lexicons[family].display.get(variant, variant))
        if best is not None:
            found[j] = _impersonation(best[1], best[2])
    named = np.flatnonzero(pd.notna(found))  # few: a place, a given name or a surname is its own name
    given, surnames = census_names()
    own = [text in given or text in surnames for text in texts[named]]
    found[named[is_place_name(texts[named]) | np.array(own, dtype=bool)]] = None
    if len(rows):
        risk[rows] = found[codes]
    return risk


#: Words of phishing and counterfeit trade that a famous name is put beside (``paypallogin``, ``metamaskwallet``,
#: ``rolexreplica``, ``buyrolex``), beyond the featurizer's affixes (``official``, ``support``, ``giveaway``:
#: :data:`handleval.features.brands.SUFFIXES`, which the model reads and so cannot grow without a retrain).
SCAM_WORDS_AFTER = frozenset((
    "login", "signin", "logon", "secure", "security", "safe", "verification", "recovery", "restore", "unlock", "reset",
    "password", "auth", "wallet", "wallets", "pay", "payment", "payments", "refund", "refunds", "billing", "invoice",
    "bank", "card", "cash", "claim", "claims", "outlet", "outlets", "replica", "replicas", "sale", "sales", "discount",
    "discounts", "deal", "deals", "cheap", "care", "service", "services", "desk", "helpdesk", "helpline", "assist",
    "agent", "admin", "account", "accounts", "alert", "alerts", "bot", "drop", "drops", "free", "winner", "prize",
    "parody", "backup"))
SCAM_WORDS_BEFORE = frozenset(("buy", "cheap", "free", "fake", "login", "secure", "claim", "win", "replica",
                               "discount", "sale", "sell", "fan", "not"))
#: The least length of a famous name read beside such a word (``hp``, ``ibm`` with a word are too often something
#: else).
NAME_BESIDE_WORD_MIN = 4
#: The words by which a handle says whose account it is not or whom it follows: beside them a famous name of
#: :data:`IDENTITY_NAME_MIN` characters is read too (``ibmparody``, ``notwsj``, ``fanjlo``).
IDENTITY_AFTER, IDENTITY_BEFORE = ("parody",), ("fan", "not", "fake")
IDENTITY_WORDS = frozenset((*IDENTITY_AFTER, *IDENTITY_BEFORE))
IDENTITY_NAME_MIN = 3


def names_beside_identity_words(text: str) -> list[str]:
    """The names of :data:`IDENTITY_NAME_MIN` characters or more that ``text`` holds beside one of
    :data:`IDENTITY_WORDS` (``lfcparody`` → ``lfc``, ``fanjlo`` → ``jlo``)."""
    names = [text[:-len(word)] for word in IDENTITY_AFTER if text.endswith(word)]
    names += [text[len(word):] for word in IDENTITY_BEFORE if text.startswith(word)]
    return [name for name in names if len(name) >= IDENTITY_NAME_MIN]


def names_beside_scam_words(text: str) -> list[str]:
    """The names of :data:`NAME_BESIDE_WORD_MIN` characters or more (:data:`IDENTITY_NAME_MIN` beside one of
    :data:`IDENTITY_WORDS`) that ``text`` holds with one of :data:`SCAM_WORDS_AFTER` after them or
    :data:`SCAM_WORDS_BEFORE` before them (``paypallogin`` → ``paypal``, ``cnnparody`` → ``cnn``)."""
    n = len(text)
    names = [text[:cut] for cut in range(IDENTITY_NAME_MIN, n - 2) if text[cut:] in SCAM_WORDS_AFTER
             and (cut >= NAME_BESIDE_WORD_MIN or text[cut:] in IDENTITY_WORDS)]
    return names + [text[cut:] for cut in range(3, n - IDENTITY_NAME_MIN + 1) if text[:cut] in SCAM_WORDS_BEFORE
                    and (n - cut >= NAME_BESIDE_WORD_MIN or text[:cut] in IDENTITY_WORDS)]


def name_and_word_lookalikes(handles: np.ndarray, features: pd.DataFrame, lexicons: dict[str, Any],
                             english: Callable[[list[str]], np.ndarray], min_popularity: float) -> np.ndarray:
    """``could impersonate brand 'PayPal'`` for a handle that is a famous name with a word of phishing or counterfeit
    trade after it (:data:`SCAM_WORDS_AFTER`: ``paypallogin``, ``metamask_wallet``, ``nikeoutlet2``) or before it
    (:data:`SCAM_WORDS_BEFORE`: ``buyrolex``), separators and digits at its ends aside; None otherwise, and for a
    handle that is an English word (Zipf 3) or a famous name itself. The name is no everyday word (Zipf
    :data:`COMMON_PART_ZIPF` or more by ``english``, which gives each word's English Zipf: ``weatheralert``,
    ``smartpay``, ``autocare`` are a shop's, not copies of weather.com, smart.com, auto.ru; so ``applelogin`` is
    missed) and no place (``parisdeals``); a common given name or a name of three letters needs :data:`VERY_POPULAR`
    (``sarahsale`` is some Sarah's, ``notato`` no copy of 'ato.gov.au'). ``lexicons``: ``{"celeb": lexicon,
    "brand": lexicon}``, the person first."""
    risk = np.full(len(handles), None, dtype=object)
    itself = _itself_famous(features) | (np.nan_to_num(_col(features, "dict__zipf_en")) >= 3)
    rows = np.flatnonzero(~itself)
    if not len(rows):
        return risk
    cores = (pd.Series(handles[rows], dtype=object).astype(str).str.lower().str.replace(r"[_.\-]", "", regex=True)
             .str.strip("0123456789"))
    beside = (cores.str.endswith(tuple(SCAM_WORDS_AFTER)) | cores.str.startswith(tuple(SCAM_WORDS_BEFORE))).to_numpy()
    rows = rows[beside]  # few: the loop below reads only these
    codes, texts = pd.factorize(cores[beside])
    given, places = common_given_names(), place_names()
    found = np.full(len(texts), None, dtype=object)
    candidates = []
    for text in texts.tolist():  # each distinct handle once: the names beside a scam word
        candidates.append(names_beside_scam_words(text) if text.isalpha() else [])
    every = sorted({name for names in candidates for name in names})
    everyday = {name for name, z in zip(every, english(every).tolist(), strict=True) if z >= COMMON_PART_ZIPF}
    for j, names in enumerate(candidates):
        best = None
        identity = names_beside_identity_words(texts[j])  # 'cnnparody': CNN, an everyday word, very popular
        for name in names:
            if (name in everyday and name not in identity) or name in places:
                continue
            rare = name in given or name in everyday or len(name) < NAME_BESIDE_WORD_MIN  # 'notato': no 'ato.gov.au'
            needed = max(min_popularity, VERY_POPULAR) if rare else min_popularity
            here = _most_popular(lexicons, name, needed)
            if here is not None and (best is None or here[0] > best[0]):
                best = here
        if best is not None:
            found[j] = _impersonation(best[1], best[2])
    risk[rows] = found[codes]
    return risk


#: The shortest famous X handle :func:`x_account_lookalikes` reads near-spellings of: shorter handles are one edit
#: from too many names of their own (``iamwill`` from ``iambill``, ``50cent`` from ``10cent``, ``aliaa08`` from
#: ``alina08``).
X_LOOKALIKE_MIN_CHARS = 8
#: The shortest famous X handle :func:`x_account_lookalikes` reads behind an account's affixes (``bbcnewsuk``,
#: ``officialnytimes``): shorter ones are parts of other names (``wsj``, ``espn``, ``pink``; the brand and celebrity
#: lexicons judge their copies).
X_AFFIX_MIN_CHARS = 6


def x_account_lookalikes(handles: np.ndarray, features: pd.DataFrame, popularity: Mapping[str, float],
                         display: Mapping[str, str], min_popularity: float,
                         english: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """``could impersonate X account 'Donald J. Trump (@realDonaldTrump)'`` for a handle one edit from a famous X
    account's handle of :data:`X_LOOKALIKE_MIN_CHARS` or more (a character changed, added or dropped, or two
    neighbours swapped: ``realdonaldtrmp``, ``taylorswift31``), or that is one of :data:`X_AFFIX_MIN_CHARS` or more
    behind the affixes the lexicons strip (:func:`~handleval.features.brands.affix_variants`: ``bbcbreakingnews``,
    ``thereal_nytimes``, ``bbcnews2024``) or beside a scam word (:func:`names_beside_scam_words`: ``fankdtrey5``,
    ``bbcbreakingparody``; a shorter one beside the :data:`IDENTITY_WORDS` only, from :data:`IDENTITY_NAME_MIN`
    characters, if it is no everyday word by ``english``'s Zipf: ``wsjparody``, ``notoprah``, not ``pinkparody``,
    ``kakadeals``), at ``min_popularity`` or more (the
    most popular where several are); None otherwise. Not for a name of its own: a famous name, a dictionary word,
    a first name and surname (``richardbrandon`` is no copy of ``richardbranson``) or a given name with digits
    (:func:`is_own_given_name`: ``sarah12``, ``jessiec``). The handle with separators added or moved is
    :func:`x_account_spelt_apart`'s. ``popularity`` and ``display``: the ``x_account`` lexicon's, by handle."""
    from rapidfuzz.distance import OSA
    from rapidfuzz.process import cdist

    risk = np.full(len(handles), None, dtype=object)
    famous = sorted((k for k, p in popularity.items() if p >= min_popularity and len(k) >= X_AFFIX_MIN_CHARS),
                    key=lambda k: -popularity[k])
    if not famous or not len(handles):
        return risk
    text = pd.Series(handles, dtype=object).astype(str).str.lower()
    squeezed = text.str.replace(r"[^a-z0-9]", "", regex=True)
    itself = _itself_famous(features) | text.isin(popularity).to_numpy()
    own_name = itself | (np.nan_to_num(_col(features, "dict__is_word")) > 0) \
        | (np.nan_to_num(_col(features, "dict__full_name")) > 0) | is_own_given_name(handles)
    rows = np.flatnonzero(~own_name)
    if not len(rows):
        return risk
    long_enough = [k for k in famous if len(k) >= X_LOOKALIKE_MIN_CHARS]
    close = cdist(text.iloc[rows].tolist(), long_enough, scorer=OSA.distance, score_cutoff=1, dtype=np.int8) <= 1
    hit = close.any(axis=1)
    first = close.argmax(axis=1)  # the most popular of the handles it is near: ``long_enough`` is in that order
    risk[rows[hit]] = [_impersonation("X account", display[long_enough[j]]) for j in first[hit].tolist()]
    behind_affixes: dict[str, str] = {}  # a famous handle, and without its closing digits (the affixes take them)
    for plain, handle in _without_separators(popularity, min_popularity).items():  # the most popular last: it wins
        for form in (plain, plain.rstrip("0123456789")):
            if len(form) >= X_AFFIX_MIN_CHARS:
                behind_affixes[form] = handle
    short = {plain: handle for plain, handle in _without_separators(popularity, min_popularity, shorter=True).items()
             if len(plain) >= IDENTITY_NAME_MIN}
    plains = list(short)
    short = {plain: short[plain] for plain, z in zip(plains, english(plains).tolist(), strict=True)
             if z < COMMON_PART_ZIPF}  # 'pinkdeals' is a shop's
    rows = rows[~hit]
    holds_one = squeezed.iloc[rows].str.contains("|".join(sorted([*behind_affixes, *short], key=len, reverse=True)))
    rows = rows[holds_one.to_numpy()]  # few: the loop below reads only these
    for i, core in zip(rows.tolist(), squeezed.iloc[rows].tolist(), strict=True):
        letters = core.strip("0123456789")
        beside = names_beside_scam_words(letters)
        named = [behind_affixes[form] for form in affix_variants(core).union(beside) if form in behind_affixes]
        named += [short[name] for name in names_beside_identity_words(letters) if name in short]
        if named:
            risk[i] = _impersonation("X account", display[max(named, key=popularity.__getitem__)])
    return risk


def _without_separators(popularity: Mapping[str, float], min_popularity: float,
                        shorter: bool = False) -> dict[str, str]:
    """The famous X handles of :data:`X_AFFIX_MIN_CHARS` or more (``shorter``: fewer) by their letters and digits
    (``jkrowling`` → ``jk_rowling``), the least popular first: where two share a form, the more popular is kept."""
    famous = sorted((k for k, p in popularity.items()
                     if p >= min_popularity and (len(k) < X_AFFIX_MIN_CHARS) == shorter), key=lambda k: popularity[k])
    return {k.replace("_", ""): k for k in famous}


def x_account_spelt_apart(handles: np.ndarray, features: pd.DataFrame, popularity: Mapping[str, float],
                          display: Mapping[str, str], min_popularity: float) -> np.ndarray:
    """``could impersonate X account …`` for a famous X handle of :data:`X_AFFIX_MIN_CHARS` or more with
    separators added or moved (``leodicaprio_``, ``ryan_seacrest``, ``bbcnews_``), not a famous name itself; None
    otherwise. The account, not a name it is near, is what such a handle copies: on X it names the account over a
    brand or person's near-spelling (``bbcnews_`` is no copy of 'abcnews.com')."""
    risk = np.full(len(handles), None, dtype=object)
    spelt_apart = _without_separators(popularity, min_popularity)
    if not spelt_apart or not len(handles):
        return risk
    text = pd.Series(handles, dtype=object).astype(str).str.lower()
    squeezed = text.str.replace(r"[^a-z0-9]", "", regex=True)
    itself = _itself_famous(features) | text.isin(popularity).to_numpy()
    apart = np.flatnonzero(~itself & squeezed.isin(spelt_apart).to_numpy())
    risk[apart] = [_impersonation("X account", display[spelt_apart[core]]) for core in squeezed.iloc[apart]]
    return risk


#: The shortest famous name :func:`account_fame_lifts` lifts: shorter ones are first names and nicknames that many
#: people share (``nina``, ``lisa``, ``rose`` inside a star's account handle).
ACCOUNT_LIFT_MIN_CHARS = 6


def _decorates(account: str, name: str) -> bool:
    """Whether ``account`` is ``name`` with only digits and an account's affixes around it (``tomholland2013``,
    ``kevinhart4real``, ``iamcardib``: :data:`~handleval.features.brands.PREFIXES`, ``SUFFIXES``), not another
    name that holds it (``kendalljenner`` is no decorated ``kendall``)."""
    at = account.find(name)
    if at < 0 or account == name:
        return False
    before, after = account[:at].strip("0123456789"), account[at + len(name):].strip("0123456789")
    return before in ("", *PREFIXES) and after in ("", *SUFFIXES)


def account_fame_lifts(popularity: Mapping[str, float], display: Mapping[str, str], min_popularity: float,
                       accounts: Container[str]) -> dict[str, float]:
    """Per famous person's name, the higher popularity of one of their account handles (one person: the same
    display name) that decorates it (:func:`_decorates`: ``tomholland`` 0.691 → 0.728 of ``tomholland2013``,
    ``kevinhart`` → ``kevinhart4real``, ``cardib`` → ``iamcardib``) or of any of their accounts where the name is
    their full display name, two words or more (``dwaynejohnson`` 0.850 → 0.895 of ``therock``, ``ellendegeneres``
    → ``theellenshow``): a social list ranks the account and enters the name itself a little lower, so on X the
    plain name was priced 20-30% below the account. Only names already famous (``min_popularity``) of
    :data:`ACCOUNT_LIFT_MIN_CHARS` or more and no common given name are lifted: a lift never makes a name famous,
    nor a first name a star's. ``accounts``: the keys a social list gives as accounts (a lift comes from one only:
    a CEO list's ``timcook`` does not lift ``timothydcook``, its legal name)."""
    given = common_given_names()
    by_display: dict[str, list[str]] = {}
    for key, shown in display.items():
        by_display.setdefault(shown, []).append(key)
    lifts: dict[str, float] = {}
    for shown, keys in by_display.items():
        if len(keys) < 2:
            continue
        full_name = slug(shown) if len(shown.split()) >= 2 else None
        for name in keys:
            if len(name) < ACCOUNT_LIFT_MIN_CHARS or popularity[name] < min_popularity or name in given:
                continue
            best = max((popularity[k] for k in keys if k in accounts and (_decorates(k, name) or name == full_name)),
                       default=0.0)
            if best > popularity[name]:
                lifts[name] = best
    return lifts


def capital_i_lookalikes(written: np.ndarray, handles: np.ndarray, lexicons: dict[str, Any],
                         min_popularity: float) -> np.ndarray:
    """``could impersonate brand 'Apple'`` for a handle written with a capital I where a famous name has an l
    (``AppIe``, ``DeII``, ``BiIIgates``): X shows a handle as its owner writes it, and the two letters look alike in
    its typeface. Handles are the same account in any case, so only the written form can deceive: read with every
    capital I as l, it must be a famous name itself, at ``min_popularity`` or more (the more popular family; with an
    ``x_account`` lexicon also a famous X account's handle: ``realDonaIdTrump``). None otherwise, and for a handle
    written in lower case."""
    risk = np.full(len(handles), None, dtype=object)
    with_i = np.flatnonzero(pd.Series(written, dtype=object).str.contains("I", regex=False, na=False).to_numpy())
    for i in with_i.tolist():  # a batch has few: the rest cost one vectorised test
        text, handle = written[i], handles[i]
        if not isinstance(handle, str):
            continue
        shown = as_typed(text)
        if shown.lower() != handle:
            continue
        reading = shown.replace("I", "l").lower()
        best = _most_popular(lexicons, reading, min_popularity) if reading != handle else None
        if best is not None:
            risk[i] = f"{_impersonation(best[1], best[2])} (a capital I for l)"
    return risk


#: Words X's own accounts and the scams that copy them put after its one-letter name (``XSupport``, ``x_help``,
#: ``xverified``): the platform's own name is too short for the lexicons' affix matching (``xin``, ``xgames`` are
#: no copies of X), so these are named.
X_ACCOUNT_WORDS = ("support", "help", "helpdesk", "official", "safety", "premium", "verified", "verify",
                   "verification", "business", "developers", "dev", "api", "ads", "data", "eng", "corp", "hq", "team",
                   "ceo", "giveaway", "giveaways", "airdrop", "rewards", "bonus", "promo", "security", "staff",
                   "moderator", "appeals", "payments", "pay", "money")
_X_ACCOUNT_NAMES = frozenset([f"x{w}" for w in X_ACCOUNT_WORDS] + [f"{w}x" for w in X_ACCOUNT_WORDS])
#: X's username rules: names containing the words Twitter or Admin cannot be claimed (official accounts aside).
#: Read as: ``twitter`` anywhere, ``admin`` at the start or the end (``badminton`` is no admin).
_X_RESERVED_WORDS = re.compile(r"twitter|^admin|admin$")
#: Names X's own accounts hold (@X, @Support, @Safety, @Premium, @Verified: the accounts it renamed from
#: @Twitter… in 2023): in use by the platform, not handles a buyer gets.
X_OWN_ACCOUNTS = frozenset(("x", "support", "safety", "premium", "verified"))


def platform_risk(handles: np.ndarray, requested: np.ndarray) -> np.ndarray:
    """The platform's own names, on X (any case); None for other rows and platforms:

    - ``reserved by X: …`` for a page of x.com, exactly (:data:`X_PAGES`: ``home``, ``settings``; ``home_`` is a
      profile) and for a name X's username rules keep from users (``twitter`` in it, ``admin`` at either end once
      outer underscores go: ``twitter_support``, ``admin``, ``site_admin``; not ``bad_min``);
    - ``could impersonate X itself`` for X's one-letter name with one of its account words
      (:data:`X_ACCOUNT_WORDS`), either order, separators ignored (``XSupport``, ``support_x``);
    - ``held by X's own account @Support`` for a name one of X's own accounts holds (:data:`X_OWN_ACCOUNTS`)."""
    risk = np.full(len(handles), None, dtype=object)
    on_x = (pd.Series(requested, dtype=object) == "x").to_numpy()
    if not on_x.any():
        return risk
    written = pd.Series(handles, dtype=object).astype(str).str.lower()
    core = written.str.replace(r"[^a-z0-9]", "", regex=True)
    risk[on_x & core.isin(_X_ACCOUNT_NAMES).to_numpy()] = "could impersonate X itself"
    risk[on_x & written.str.strip("_").str.contains(_X_RESERVED_WORDS).to_numpy()] = \
        "reserved by X: its username rules keep names with 'twitter' or 'admin' from users"
    risk[on_x & written.isin(X_PAGES).to_numpy()] = "reserved by X: a page of x.com, not an account"
    own = on_x & written.isin(X_OWN_ACCOUNTS).to_numpy()
    risk[own] = [f"held by X's own account @{'X' if w == 'x' else w.capitalize()}" for w in written[own]]
    return risk


__all__ = ["CONFUSABLE_LETTERS", "ENGLISH_WORD_ZIPF", "NOT_NAMES", "NUMBERED_GIVEN_NAME_SHARE", "PLUMBING_ENDINGS",
           "SCAM_WORDS_AFTER", "SCAM_WORDS_BEFORE", "SWAPPED_LETTERS_MIN", "VERY_POPULAR", "X_ACCOUNT_WORDS",
           "X_AFFIX_MIN_CHARS", "X_LOOKALIKE_MIN_CHARS", "X_OWN_ACCOUNTS", "X_PAGES", "RuledPrices", "Step",
           "account_fame_lifts", "apply_rules", "at_floor", "cap_at_core", "capital_i_lookalikes", "imitates",
           "is_own_given_name", "is_place_name", "junk_affix_cores", "letter_swaps", "lookalike_risk",
           "name_and_word_lookalikes", "names_beside_scam_words", "neighbour_swaps", "numbered_series",
           "own_sale_weight", "platform_risk", "price_set_by_rule", "rare_scores", "spelled_lookalikes",
           "swapped_forms", "x_account_lookalikes", "x_account_spelt_apart"]
