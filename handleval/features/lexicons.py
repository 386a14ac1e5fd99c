"""Brand and celebrity lexicons built from ``$HANDLEVAL_DATA/reference``, and the famous X accounts of
``$HANDLEVAL_DATA/accounts`` (read at run time, never copied).

Each lexicon maps a slug (``nike``, ``taylorswift``) to a popularity in [0, 1] (the strongest of its sources:
Tranco rank, Majestic referring subnets, Interbrand/Fortune/Forbes ranks, Pantheon page views, social follower
counts) plus a display name and the source it came from. Its fingerprint is the lexicon
name, a code version and the sha256 of every source file, so a model bundle can refuse to run with different
lexicons.
Built lexicons are cached as data (no pickle, :mod:`handleval._cache`) under ``$HANDLEVAL_CACHE`` or
``~/.cache/handleval``, keyed by fingerprint.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from handleval.config import data_dir as _data_dir
from handleval.config import require_data_parts
from handleval.handles import is_x_handle, public_suffix_list
from handleval.trees.bundle import sha256_file

#: Bump when the building code changes what a lexicon holds (part of the fingerprint and cache key).
LEXICON_VERSION = "26"

BRAND_FILES = (
    "tranco_100k/tranco_top_100k.csv",
    "majestic_15k/majestic_million_top15k.csv",
    "moz_top500/top-sites.json",
    "interbrand_2021_2024/interbrand_best_global_brands_2021_2024.csv",
    "simple_icons/simple-icons.json",
    "nsi_brands/nsi_brands_flat.csv",
    "sp500/constituents.csv",
    "fortune1000_2024/fortune1000_2024.csv",
    "fortune500_1955_2019/fortune500-2019.csv",
    "forbes_global2000_2025/forbes_global2000_2025.csv",
)
CELEB_FILES = (
    "pantheon_1_0/pantheon.tsv",
    *(f"social_top1000_2022/{p}/{p}_{m}.csv" for p in ("Instagram", "TikTok", "Youtube")
      for m in ("Sep", "Oct", "Nov", "Dec")),
    "instagram_top200/top_insta_influencers_data.csv",
    "youtube_top1000_2023/global_youtube_statistics_2023.csv",
    "fortune1000_2024/fortune1000_2024.csv",
)
#: The celebrity lexicon's sources that list social accounts (the platforms of ``social_top1000_2022``, then
#: ``instagram_top200`` and ``youtube2023``): their keys are accounts, the others names of people and companies.
SOCIAL_ACCOUNT_SOURCES = ("Instagram", "TikTok", "Youtube", "instagram_top200", "youtube2023")
#: A surname alone never takes a brand's key (:func:`lone_surnames`): the celebrity lexicon reads the brand files.
LEXICON_FILES = {"brand": BRAND_FILES, "celeb": CELEB_FILES + BRAND_FILES, "x_account": ()}
#: Account sets that sampled popular X accounts (user objects with follower counts and the verified flag): their
#: verified accounts of :data:`X_ACCOUNT_MIN_FOLLOWERS` or more are the ``x_account`` lexicon, keyed by the handle as
#: X knows it (``realdonaldtrump``, ``taylorswift13``, ``aamir_khan``), which no reference list holds (the social
#: lists are Instagram, TikTok and YouTube accounts). Only X's market rules read it: the price model never did.
X_ACCOUNT_SETS = ("kaggle_bots_2017", "botrepo_verified2019", "twitter_human_bots_2020_subset")
X_ACCOUNT_MIN_FOLLOWERS = 1e6
#: The ``x_account`` lexicon's own code version: the brand and celebrity lexicons are pinned by the price bundle.
LEXICON_VERSIONS = {"x_account": "2"}
#: Packages whose data decides what a lexicon holds: common words (wordfreq), site labels (the Public Suffix List),
#: short first names (nicknames, and the US Census first names of ``names``).
LEXICON_PACKAGES = {"brand": ("wordfreq", "publicsuffixlist"),
                    "celeb": ("wordfreq", "publicsuffixlist", "nicknames", "names"), "x_account": ()}
#: Zipf frequency from which an English word is common (``home`` 5.8, ``music`` 5.5; ``google`` 4.9, ``apple`` 4.8).
COMMON_WORD_ZIPF = 5.0

_LEGAL = re.compile(
    r"\b(inc|incorporated|corp|corporation|company|co|ltd|limited|plc|group|holdings?|sa|ag|nv|se|llc|lp|"
    r"the|class [a-c]|n\.v|s\.a)\b\.?", re.IGNORECASE)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_HANDLE_LIKE = re.compile(r"[a-z0-9._-]+")
#: Latin letters that are no accented letter, so Unicode decomposition keeps them whole: written as people type them.
_LATIN_LETTERS = str.maketrans({"ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th",
                                "ı": "i"})


def slug(name: str) -> str:
    """``Coca-Cola`` → ``cocacola``, ``Niké`` → ``nike``, ``Lech Wałęsa`` → ``lechwalesa``: accents dropped, the
    Latin letters of :data:`_LATIN_LETTERS` spelt out, only ``[a-z0-9]`` kept. A leading "&" is read "and"
    (``&pizza`` is ``andpizza``, not the word pizza)."""
    text = name.lower().translate(_LATIN_LETTERS).strip()
    text = "and" + text[1:] if text.startswith("&") else text
    text = unicodedata.normalize("NFKD", text)
    return _NOT_SLUG.sub("", "".join(c for c in text if not unicodedata.combining(c)))


def _name_words(name: str) -> tuple[list[str], list[str]]:
    """``(words, kept)``: a person's name in words, and without initials and Jr./Sr./II/III."""
    words = [w for w in re.split(r"[\s,]+", name) if w]
    return words, [w for w in words if not re.fullmatch(r"[A-Za-z]\.?|(?i:jr|sr|ii|iii|iv)\.?", w)]


def person_slug(name: str) -> str:
    """A person's usual handle: ``Marc R. Benioff`` → ``marcbenioff`` (middle initials and Jr./Sr./II/III dropped)."""
    words, kept = _name_words(name)
    return slug(" ".join(kept if len(kept) >= 2 else words))  # never a surname alone


#: A display name's closing "Official" (in the languages the social lists use), which the person is known without.
_OFFICIAL = re.compile(r"[\W_]*\b(?:official|oficial|officiel|offical|ufficiale)\b[\W_]*$", re.IGNORECASE)


def shown_name(name: str, account: str = "") -> str:
    """A name a reader can check in a reason: in Unicode's compatibility form (accents composed: ``Rodri`` +
    combining acute + ``guez`` → ``Rodríguez``; ``𝙍𝙮𝙖𝙣`` → ``Ryan``), emoji and symbols dropped (``Kylie 🤍`` →
    ``Kylie``); the account name when no letter or a single letter is left (the display name ``👑`` of
    ``kingjames``), and beside a one-word display name that the account name does not hold (``flame
    (@travisscott)``, ``JIMIN (@j.m)``): a nickname says little without the account it names."""
    text = " ".join("".join(c if c.isalnum() or c in ".'’&-/" else " "
                            for c in unicodedata.normalize("NFKC", name)).split())
    letters = sum(c.isalpha() for c in text)
    if letters == 0 or (letters == 1 and account):
        return account
    if account and " " not in text and slug(text) not in slug(account):
        return f"{text} (@{account})" if " " not in account.strip() else f"{text} ({account.strip()})"
    return text


def company_slug(name: str) -> str:
    """A company's brand-like slug: legal words (Inc, Corp, Group, The …) and parentheses removed."""
    return slug(_LEGAL.sub(" ", re.sub(r"\(.*?\)", " ", name)))


def domain_label(domain: str) -> str:
    """The name a site is known by: the first label of its registrable domain under the Public Suffix List
    (``www.google.com`` → ``google``, ``bbc.co.uk`` → ``bbc``), and ``""`` where there is none: a suffix itself
    (``www.gov.uk``, ``gouv.fr``: "www." is no name), a platform's address space that the list's private section
    names (``googleapis.com``, ``cloudfront.net``, ``blogspot.com``, ``uk.com``: it lends names to others), or the
    internet's own plumbing (``.arpa``: ``54.in-addr.arpa``)."""
    icann, full = public_suffix_list(icann=True), public_suffix_list(icann=False)
    host = domain.strip().lower().rstrip(".").removeprefix("www.")
    registrable = icann.privatesuffix(host) if host else None
    if not registrable or full.is_public(registrable) or registrable.endswith(".arpa"):
        return ""
    return registrable.split(".")[0]


def parse_count(text: str) -> float:
    """``523M`` / ``45.5K`` / ``1,234`` → a number (NaN when unreadable)."""
    t = str(text).strip().lower().replace(",", "")
    mult = {"k": 1e3, "m": 1e6, "b": 1e9}.get(t[-1:], 1.0)
    try:
        return float(t[:-1] if t[-1:] in "kmb" else t) * mult
    except ValueError:
        return math.nan


@dataclass
class Lexicon:
    """Slug → popularity, display name and source; ``fingerprint`` identifies the exact inputs."""

    name: str
    popularity: dict[str, float] = field(default_factory=dict)
    display: dict[str, str] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""
    files: dict[str, str] = field(default_factory=dict)
    #: Real account names and site labels written with separators (``gal_gadot``, ``coca-cola``): the famous name
    #: as its owner writes it, not a lookalike of it (:func:`handleval.features.brands.as_written`).
    written: list[str] = field(default_factory=list)

    def add_written(self, name: str) -> None:
        text = name.strip().lower()
        if _HANDLE_LIKE.fullmatch(text) and _NOT_SLUG.search(text) and slug(text):
            self.written.append(text)

    def add(self, key: str, popularity: float, display: str, source: str) -> None:
        """Record ``key`` at ``popularity`` unless a more popular entry has it. A common English word is no famous
        name: a site (home.pl), an account ('Music'), a company (News Corp.) or a person (King David) of the same
        name does not make ``home``, ``music``, ``news`` or ``david`` famous; the word prices them."""
        if not key or popularity != popularity or key in common_words():
            return
        popularity = min(1.0, max(0.0, popularity))
        if popularity > self.popularity.get(key, -1.0):
            self.popularity[key] = popularity
            self.display[key] = display
            self.source[key] = source

    def __len__(self) -> int:
        return len(self.popularity)

    def __contains__(self, key: object) -> bool:
        return key in self.popularity


@functools.cache
def common_words() -> frozenset[str]:
    """English words of Zipf frequency :data:`COMMON_WORD_ZIPF` or more (wordfreq's, about 1,100), numbers not
    included: wordfreq's numbers are shapes ('7' stands for every digit), and a brand '7' is no common word."""
    from wordfreq import top_n_list, zipf_frequency

    return frozenset(w for w in top_n_list("en", 5000)
                     if not w.isdigit() and zipf_frequency(w, "en") >= COMMON_WORD_ZIPF)


def lexicon_files(name: str, data: Path) -> list[str]:
    """The files lexicon ``name`` reads, relative to the data directory ``data``: reference files, and for the
    ``x_account`` lexicon every table of the :data:`X_ACCOUNT_SETS` (what the account loader may read)."""
    files = [f"reference/{rel}" for rel in LEXICON_FILES[name]]
    if name == "x_account":
        from handleval.data.accounts import account_set_files

        require_data_parts(*(f"accounts/{s}" for s in X_ACCOUNT_SETS), root=data)
        files += [str(p.relative_to(data)) for s in X_ACCOUNT_SETS for p in account_set_files(data / "accounts", s)]
    return files


def fingerprint(name: str, data: Path) -> tuple[str, dict[str, str]]:
    """``(fingerprint, {file: sha256})`` of lexicon ``name``: name + version + sha256 of its source files."""
    # reference files named as before the account tables came (the brand and celebrity fingerprints stay the same)
    files = {rel.removeprefix("reference/"): sha256_file(data / rel) for rel in lexicon_files(name, data)}
    code = LEXICON_VERSIONS.get(name, LEXICON_VERSION)
    h = hashlib.sha256(f"{name}:{code}\n".encode())
    if name == "x_account":  # what it selects is an input too
        h.update(f"sets={','.join(X_ACCOUNT_SETS)};min_followers={X_ACCOUNT_MIN_FOLLOWERS}\n".encode())
    for package in LEXICON_PACKAGES[name]:  # their data is an input like the files
        h.update(f"{package}={version(package)}\n".encode())
    for rel, digest in sorted(files.items()):
        h.update(f"{rel}={digest}\n".encode())
    return f"{name}-v{code}-{h.hexdigest()[:32]}", files


def _csv_rows(path: Path, delimiter: str = ",", encoding: str = "utf-8-sig") -> Iterator[dict[str, str]]:
    with open(path, newline="", encoding=encoding) as fh:
        yield from csv.DictReader(fh, delimiter=delimiter)


def _build_brand(ref: Path) -> Lexicon:
    lex = Lexicon("brand")
    with open(ref / BRAND_FILES[0], encoding="utf-8") as fh:  # Tranco: rank = line number
        for rank, line in enumerate(fh, start=1):
            label = domain_label(line)
            lex.add(label.replace("-", ""), 1 - math.log10(rank) / 5.5, line.strip(), "tranco")
            lex.add_written(label)
    for row in _csv_rows(ref / BRAND_FILES[1]):  # Majestic: referring subnets
        host = row["Domain"] if row["Domain"].count(".") >= 1 and not row["Domain"].startswith(".") \
            else row["IDN_Domain"]
        subnets = float(row["RefSubNets"] or 0)
        lex.add(domain_label(host).replace("-", ""), math.log10(max(subnets, 1)) / 5.7, host, "majestic")
        lex.add_written(domain_label(host))
    for item in json.loads((ref / BRAND_FILES[2]).read_text(encoding="utf-8")):
        lex.add(domain_label(item["rootDomain"]).replace("-", ""), 0.8 + 0.2 * (1 - item["rank"] / 500),
                item["rootDomain"], "moz")
        lex.add_written(domain_label(item["rootDomain"]))
    for row in _csv_rows(ref / BRAND_FILES[3]):
        lex.add(slug(row["brand"]), 0.9 + 0.1 * (1 - int(row["rank"]) / 100), row["brand"], "interbrand")
    for item in json.loads((ref / BRAND_FILES[4]).read_text(encoding="utf-8")):
        lex.add(slug(item["title"]), 0.5, item["title"], "simple_icons")
        for alias in (item.get("aliases") or {}).get("aka", []):
            lex.add(slug(alias), 0.45, alias, "simple_icons")
    for row in _csv_rows(ref / BRAND_FILES[5]):
        countries = [c for c in (row["countries_include"] or "").split(";") if c]
        pop = 0.5 if "001" in countries else 0.3 + 0.02 * min(len(countries), 10)
        for name in dict.fromkeys((row["brand_en"], row["brand"], row["name"])):  # shown: English name first
            if name:
                lex.add(slug(name), pop, name, "nsi")
    for row in _csv_rows(ref / BRAND_FILES[6]):
        lex.add(company_slug(row["Security"]), 0.7, row["Security"], "sp500")
    for row in _csv_rows(ref / BRAND_FILES[7]):
        rank = float(row["Rank"].replace(",", "") or 1000)
        lex.add(company_slug(row["Company"]), 0.6 + 0.2 * (1 - rank / 1000), row["Company"], "fortune1000")
    for row in _csv_rows(ref / BRAND_FILES[8]):
        lex.add(company_slug(row["company"]), 0.45, row["company"], "fortune500")
    for row in _csv_rows(ref / BRAND_FILES[9]):
        rank = float(row["Rank"].replace(",", "") or 2000)
        lex.add(company_slug(row["Company"]), 0.55 + 0.25 * (1 - rank / 2000), row["Company"], "forbes2000")
    return lex


def _follower_popularity(count: float) -> float:
    """1M followers → 0.3, 1B → 1.0 (log scale)."""
    return 0.3 + 0.7 * (math.log10(count) - 6) / 3 if count and count == count and count >= 1e6 else 0.3


def _ceo_popularity(market_cap_usd: float, founder: bool) -> float:
    """A founder who runs the company: $10 billion → 0.5 (where fame starts to count in a price), $100 billion →
    0.75, $1 trillion → 1.0 (log scale). A hired CEO 0.25 lower (as the founder of a company ten times smaller),
    and only the heads of the largest companies ($100 billion and up, 0.5) are in the lexicon: public figures by
    office."""
    if market_cap_usd <= 0:
        return 0.0
    return 0.5 + 0.25 * math.log10(market_cap_usd / 1e10) - (0.0 if founder else 0.25)


def short_first_names(name: str, namer: Any, first_names: dict[str, float], pet_forms: bool = False
                      ) -> list[tuple[str, str]]:
    """``(key, shown name)`` of a first name and surname (initials aside) under each short form of the first name
    that the ``nicknames`` package (``namer``) knows for it and that is a US Census first name rarer than it
    (``first_names``: name → % of people): the first name cut to three letters or more and by two or more
    (``Timothy D. Cook`` → ``timcook`` shown as "Tim Cook", Jeffrey → Jeff, Megan → Meg) and, with ``pet_forms``,
    its first three letters or more and a closing -y/-ie, no longer than it (Andrew → Andy, James → Jamie). Not
    Angela → Angel or Sarah → Sara (other names and spellings), Donald → Dony (no one's name), and not "Alexander
    the Great": three words are no first name and surname."""
    key, (_, kept) = person_slug(name), _name_words(name)
    first = slug(kept[0]) if len(kept) == 2 else ""
    if len(first) < 5 or not key.startswith(first):
        return []

    def usual(n: str) -> bool:
        if 3 <= len(n) <= len(first) - 2 and first.startswith(n):  # cut short
            return True
        stem = re.sub(r"(ie|y)$", "", n)
        return pet_forms and stem != n and len(stem) >= 3 and len(n) <= len(first) and first.startswith(stem)

    short = sorted(n for n in namer.nicknames_of(first) if usual(n)
                   and 0 < first_names.get(n, 0.0) < first_names.get(first, 0.0))
    return [(n + key[len(first):], " ".join([n.capitalize(), *kept[1:]])) for n in short]


def _language_popularity(n_languages: float) -> float:
    """Pantheon's bar of 25 Wikipedia language editions → 0.4, 200 → 1.0 (log scale)."""
    return 0.4 + 0.6 * math.log(max(n_languages, 25) / 25) / math.log(8)


#: How far Pantheon's language count may lift a person above their page-view rank.
LANGUAGE_LIFT = 0.1


def _page_views(rows: list[dict[str, str]]) -> list[float]:
    """Pantheon's page views 2008-13 per person, 0 where missing."""
    return [v if v == v else 0.0 for v in (parse_count(row["TotalPageViews"]) for row in rows)]


def _pantheon_popularity(rows: list[dict[str, str]]) -> list[float]:
    """Each person's popularity: their rank by page views 2008-13 (every language edition) on the scale of Pantheon's
    language counts, the k-th most viewed person as popular as the k-th most translated (Donald Trump: 52 languages,
    but the 437th most viewed, 0.73), lifted by at most :data:`LANGUAGE_LIFT` where the languages rank them higher
    (Confucius 0.76 → 0.86, Vladimir Putin 0.77 → 0.87). Attention first: machine-made stubs in 150+ languages made
    Corbin Bleu (193 languages, 6.7 million views, now 0.71) and Augusto De Luca (0.2 million) as famous as Obama."""
    by_languages = [_language_popularity(float(row["numlangs"] or 25)) for row in rows]
    ladder = sorted(by_languages, reverse=True)
    views = _page_views(rows)
    most_viewed = sorted(range(len(rows)), key=lambda i: -views[i])  # stable: file order among equals
    by_views = [0.0] * len(rows)
    for rank, i in enumerate(most_viewed):
        by_views[i] = ladder[rank]
    return [max(v, min(lang, v + LANGUAGE_LIFT)) for v, lang in zip(by_views, by_languages, strict=True)]


#: People this popular (about the 280 most viewed of Pantheon's 11,341) are also known by their surname alone.
SURNAME_ALONE_POPULARITY = 0.8
#: A lone surname is written on its own in English text (Zipf 2 or more: not The Undertaker's legal name Calaway,
#: not al-Gaddafi run together) but less than a common word (below 4: not Tom Cruise's ``cruise``; this also keeps
#: out surnames made frequent by fame alone: Putin, Lincoln, Shakespeare, Obama).
SURNAME_ZIPF = (2.0, 4.0)
#: ... and names its most viewed bearer only when no other Pantheon person bearing it has a tenth of their views.
SURNAME_VIEWS_LEAD = 10.0
#: ... and is the given name and the surname of fewer than 1 in 10,000 Americans (US Census shares, in %).
SURNAME_CENSUS_SHARE = 0.01
_PARTICLES = frozenset({"al", "bin", "da", "das", "de", "del", "della", "den", "der", "di", "dos", "du", "ibn",
                        "la", "le", "of", "ter", "the", "van", "von", "y"})  # "Paul of Tarsus", "Jack the Ripper"
_SURNAME_FIRST = frozenset({"CN", "HK", "KP", "KR", "TW", "VN"})  # countries that write the surname first (Mao Zedong)


def lone_surnames(rows: list[dict[str, str]], popularity: list[float], first_names: dict[str, float],
                  surnames: dict[str, float], brands: Lexicon) -> list[tuple[float, str, str]]:
    """``(popularity, surname, shown name)`` of the people at :data:`SURNAME_ALONE_POPULARITY` or more whose
    surname names them alone (``messi``, ``einstein``, ``lennon``): 4+ letters, a given name (of either sex) and a
    surname of fewer than :data:`SURNAME_CENSUS_SHARE` (not Lil Wayne's ``wayne``), as frequent in English text as
    :data:`SURNAME_ZIPF` allows, and with :data:`SURNAME_VIEWS_LEAD` times the page views of every other Pantheon
    person of that last word (John Lennon, not David and Victoria Beckham). After a particle the surname is written
    with it (``davinci``, ``deniro``, ``vangogh``: not ``vinci``), after "van" or "von" also alone (``beethoven``),
    and after "of" or "the" there is none (Paul of Tarsus); not where the surname comes first (Mao Zedong), and not
    a brand's name (``brands`` at popularity 0.5 or more: ``ledger`` is the wallet maker, not Heath Ledger;
    ``swift``, ``disney``, ``mars``)."""
    from wordfreq import zipf_frequency

    names = [_name_words(row["name"])[1] for row in rows]
    surnames_of = [_surnames(kept) for kept in names]
    views = _page_views(rows)
    bearers: dict[str, list[float]] = {}
    for forms, seen in zip(surnames_of, views, strict=True):
        for written in forms:
            bearers.setdefault(slug(written), []).append(seen)
    out = []
    for row, pop, forms, seen in zip(rows, popularity, surnames_of, views, strict=True):
        if pop < SURNAME_ALONE_POPULARITY:
            continue
        for written in forms:
            key, others = slug(written), sorted(bearers[slug(written)])[:-1]  # if not the most viewed, fails below
            if (len(key) >= 4 and (not others or seen >= SURNAME_VIEWS_LEAD * others[-1])
                    and row["countryCode"] not in _SURNAME_FIRST
                    and max(first_names.get(key, 0.0), surnames.get(key, 0.0)) < SURNAME_CENSUS_SHARE
                    and SURNAME_ZIPF[0] <= zipf_frequency(" ".join(map(slug, written.split())), "en") < SURNAME_ZIPF[1]
                    and brands.popularity.get(key, 0.0) < 0.5):
                out.append((pop, key, row["name"]))
    return out


def _surnames(kept: list[str]) -> list[str]:
    """The surname of a name's words as English writes it: the last word, with its particle (``da Vinci``) and
    after "van" or "von" also without it (Beethoven, Bismarck); none after "of" or "the" (Paul of Tarsus, Alexander
    the Great) or in a single word. "Al Capone" has a first name, not a particle."""
    if len(kept) < 2:
        return []
    if len(kept) == 2 or kept[-2].lower() not in _PARTICLES:
        return [kept[-1]]
    particle = kept[-2].lower()
    if particle in ("of", "the"):
        return []
    return [f"{kept[-2]} {kept[-1]}", *([kept[-1]] if particle in ("van", "von") else [])]


def _build_celeb(ref: Path) -> Lexicon:
    from nicknames import NickNamer

    from handleval.features.words import census_names

    lex, namer, (first_names, surnames) = Lexicon("celeb"), NickNamer(), census_names()
    shortened: list[tuple[float, str, str, str, str]] = []  # (popularity, key, shown, source, person): added last
    people = list(_csv_rows(ref / CELEB_FILES[0], delimiter="\t"))
    popularities = _pantheon_popularity(people)
    for row, popularity in zip(people, popularities, strict=True):
        for key in {slug(row["name"]), person_slug(row["name"])}:  # "John F. Kennedy": also johnkennedy
            lex.add(key, popularity, row["name"], "pantheon")
        shortened += [(popularity, k, shown, "pantheon", row["name"])
                      for k, shown in short_first_names(row["name"], namer, first_names)]
    brands = load_lexicon("brand", ref.parent)
    shortened += [(pop, key, shown, "pantheon", shown)
                  for pop, key, shown in lone_surnames(people, popularities, first_names, surnames, brands)]
    for rel in CELEB_FILES[1:13]:
        for row in _csv_rows(ref / rel):
            pop = _follower_popularity(parse_count(row.get("Subscribers", "")))
            platform = rel.split("/")[1]
            account, name = row.get("AccountName", ""), row.get("Name", "")
            lex.add(slug(account), pop, shown_name(name, account), platform)
            lex.add_written(account)
            if any(c.isalpha() for c in name):  # a display name of digits ('555') is no one's name
                known_as = _OFFICIAL.sub("", name)  # 'Conor McGregor Official' is Conor McGregor
                for called in (name, known_as) if known_as != name and len(known_as.split()) >= 2 else (name,):
                    lex.add(slug(called), pop * 0.95, shown_name(called, account), platform)
    for row in _csv_rows(ref / CELEB_FILES[13]):
        lex.add(slug(row["channel_info"]), _follower_popularity(parse_count(row["followers"])),
                shown_name(row["channel_info"]), "instagram_top200")
        lex.add_written(row["channel_info"])
    for row in _csv_rows(ref / CELEB_FILES[14], encoding="latin-1"):
        lex.add(slug(row["Youtuber"]), _follower_popularity(parse_count(row["subscribers"])),
                shown_name(row["Youtuber"]), "youtube2023")
    # Fortune 1000 CEOs (Pantheon 1.0 is from 2013 and the social lists are Instagram, TikTok and YouTube: neither
    # knows Elon Musk or Satya Nadella). Listed under legal names (Andrew R. Jassy, James Dimon), they also go by
    # pet forms: Pantheon's people are listed under the names they are known by (James Dean is no 'Jamie Dean').
    for row in _csv_rows(ref / CELEB_FILES[15]):
        founder = row["Founder_is_CEO"].strip().lower() == "yes"
        market_cap = float(row["MarketCap_March28_M"].replace(",", "").strip() or 0) * 1e6
        popularity = _ceo_popularity(market_cap, founder)
        if not founder and popularity < 0.5:  # not a public figure by office
            continue
        source = "fortune1000_founders" if founder else "fortune1000_ceos"
        for ceo in filter(None, (c.strip() for c in row["CEO"].split("/"))):  # co-CEOs: "Ted Sarandos/Greg …"
            lex.add(person_slug(ceo), popularity, ceo, source)
            shortened += [(popularity, k, shown, source, ceo)
                          for k, shown in short_first_names(ceo, namer, first_names, pet_forms=True)]
    # A short name or lone surname goes to the most popular person it names, unless someone else holds the key: the
    # director Chris Columbus keeps 'chriscolumbus' from Christopher Columbus, the Brazilian Ronaldo 'ronaldo' from
    # Cristiano Ronaldo; Arnold Schwarzenegger's own account 'schwarzenegger' rises to his Pantheon popularity.
    for popularity, key, shown, source, person in sorted(shortened, key=lambda s: -s[0]):
        if key not in lex or person_slug(lex.display[key]) == person_slug(person):
            lex.add(key, popularity, shown, source)
    return lex


def _build_x_account(ref: Path) -> Lexicon:
    """The verified accounts of :data:`X_ACCOUNT_MIN_FOLLOWERS` or more in the :data:`X_ACCOUNT_SETS` (2017-2020
    snapshots), keyed by the handle as X knows it, at their followers' popularity as for the social lists (an
    account listed twice: its most followers), shown as the owner's name and the handle ('Donald J. Trump
    (@realDonaldTrump)', '@katyperry'). An unverified account is not famous for its followers: they can be bought."""
    from handleval.data.accounts import load_account_table

    lex = Lexicon("x_account")
    table, _ = load_account_table(ref.parent, sets=list(X_ACCOUNT_SETS), dedupe=False)
    famous = table[table["verified"].fillna(False).astype(bool) & (table["followers_count"] >= X_ACCOUNT_MIN_FOLLOWERS)]
    names = famous["name"].fillna("").astype(str).str.strip().str.strip('"')
    mangled = famous["source"].str.startswith("kaggle_bots_2017") & ~names.map(str.isascii)  # its SOURCE.txt: mojibake
    handles = famous["screen_name"].astype(str).str.strip().str.strip('"')  # the Kaggle file quotes a few
    famous = famous.assign(screen_name=handles, key=handles.str.lower(), name=names.mask(mangled, ""))
    famous = famous[famous["key"].map(is_x_handle)]
    famous = famous.sort_values("followers_count", ascending=False, kind="stable")
    named = famous[famous["name"] != ""].drop_duplicates("key").set_index("key")["name"]  # any listing's name
    for key, account, followers in famous.drop_duplicates("key")[["key", "screen_name", "followers_count"]].itertuples(
            index=False):
        name = named.get(key, "")
        shown = name if name.isascii() and name.isprintable() else shown_name(name, account)  # 'P!nk' as written
        lex.popularity[key] = _follower_popularity(followers)
        lex.display[key] = shown if shown.endswith(f"(@{account})") else f"{shown} (@{account})" if shown else \
            f"@{account}"
        lex.source[key] = "x_accounts"
    return lex


_BUILDERS = {"brand": _build_brand, "celeb": _build_celeb, "x_account": _build_x_account}


def load_lexicon(name: str, data_dir: str | Path | None = None, use_cache: bool = True) -> Lexicon:
    """Build (or load from cache) lexicon ``name`` (``brand``, ``celeb`` or ``x_account``) from the data directory."""
    from handleval.features._common import cached

    data = Path(data_dir or _data_dir())
    ref = data / "reference"
    fp, files = fingerprint(name, data)

    def build() -> dict[str, Any]:
        lex = _BUILDERS[name](ref)
        lex.fingerprint, lex.files, lex.written = fp, files, sorted(set(lex.written))
        return dict(vars(lex))  # plain data: the cache holds no objects

    state = cached(f"lexicon-{name}", fp, build, use_cache)
    try:
        lex = Lexicon(**state)
    except TypeError:
        lex = None
    if lex is None or lex.fingerprint != fp:  # a foreign file under our name: build afresh
        lex = Lexicon(**build())
    return lex
