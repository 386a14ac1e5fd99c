"""The vectorised batch paths give exactly the features of the one-string reference paths."""

from __future__ import annotations

import math
import random
import string
from itertools import chain

import numpy as np
import pandas as pd

from handleval.features import LengthPatternFeatures
from handleval.features._common import MAX_CHARS, prepare
from handleval.features.brands import CoreBatch
from handleval.features.length import LUCKY_NUMBERS, MEME_NUMBERS, pattern_class, pattern_classes
from handleval.features.words import _MAX_WORD, _UNKNOWN_COST
from tests.code._features_shared import fitted

_RNG = random.Random(7)
_ALPHABET = string.ascii_lowercase + string.digits + "_.-" + "\x00\t !#aeiouy" + "Q\né日"
CORPUS = list(dict.fromkeys([
    "", "a", "1", "_", "aa", "ab", "abab", "aaaa", "baba", "babab", "888", "1988", "abc123", "321cba", "qwerty",
    "j0hn_99", "xq7z9", "bestpizza", "iloveny", "elonmusk", "nikeofficial", "g00gle", "spotifyy", "p\u0430ypal",
    "therealtaylorswift", "a_b.c-d", "_x_", "x" * 64, "x" * 65, "ab" * 40, "thequickbrownfoxjumpsoverthelazydog",
    # digit runs: lucky and meme numbers (with leading zeros, alone and inside names), years at the range's edges
    "8", "0", "00", "007", "x007", "7x", "x7", "69", "420blaze", "5201314", "05201314", "a6688b", "689", "66a99",
    "x_1949_1950", "2035y2036", "1999x2001", "12345678901234567890123", "1314x520", "666999", "9x9",
    *("".join(_RNG.choice(_ALPHABET) for _ in range(_RNG.randint(1, 70))) for _ in range(400)),
    *("".join(_RNG.choice("ab12_.-qwe") for _ in range(_RNG.randint(1, 12))) for _ in range(400)),
    *("".join(_RNG.choice(string.ascii_lowercase) for _ in range(_RNG.randint(2, 24))) for _ in range(400)),
]))


def _plain_handle(rng: random.Random) -> str:
    """A plain ASCII handle (1..64 characters of a-z0-9_.-) built from the pieces the length features look for:
    repeats, years, lucky and meme numbers, keyboard walks and sequences both ways; at times a palindrome or a
    repeated (periodic) string."""
    def piece() -> str:
        kind = rng.randrange(6)
        if kind == 0:
            return "".join(rng.choice(string.ascii_lowercase + string.digits + "_.-") for _ in range(rng.randint(1, 8)))
        if kind == 1:
            return rng.choice(string.ascii_lowercase + string.digits + "_") * rng.randint(2, 6)
        if kind == 2:
            return str(rng.randint(1945, 2040))
        if kind == 3:
            return rng.choice(sorted(LUCKY_NUMBERS | MEME_NUMBERS))
        row = rng.choice(("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm") if kind == 4
                         else (string.ascii_lowercase, string.digits))
        start = rng.randrange(len(row) - 1)
        walk = row[start:start + rng.randint(2, 7)]
        return walk[::-1] if rng.random() < 0.5 else walk

    text = "".join(piece() for _ in range(rng.randint(1, 4)))
    shape = rng.random()
    if shape < 0.15:
        text = text + text[::-1][rng.randint(0, 1):]
    elif shape < 0.3:
        text = text[:rng.randint(1, 6)] * rng.randint(2, 8)
    return text[:64]


#: Plain strings for the length features' compiled path: pieces, runs that turn back (abcba, 43234, poiop) and
#: random strings with few distinct characters (runs, periods, palindromes).
PLAIN_CORPUS = list(dict.fromkeys([
    "abc", "321", "asdf", "qwerty", "cbabcd", "4321234", "abcba", "dcbabcde", "poiuiop", "lkjhjkl", "mnbvbnm",
    "zyxyz", "01210", "987898", "abab", "abcabc", "aabaab", "1950", "2035", "1949x2036",
    *(_plain_handle(_RNG) for _ in range(1500)),
    *("".join(_RNG.choice("abc123") for _ in range(_RNG.randint(1, 64))) for _ in range(300)),
]))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(((a == b) | (np.isnan(a) & np.isnan(b))).all())


def test_length_batch_equals_one_string_path():
    fam = fitted().families_["length"]
    texts = prepare(CORPUS + PLAIN_CORPUS).unique_texts()[1]
    batch = fam._batch(texts, {})
    one = np.array([fam._one(t) if t else [np.nan] * batch.shape[1] for t in texts], dtype=float)
    assert _same(batch[[bool(t) for t in texts]], one[[bool(t) for t in texts]])
    assert list(pattern_classes(texts)) == [pattern_class(t) for t in texts]
    assert isinstance(LengthPatternFeatures().fit().trigram_table_, np.ndarray)


def _viterbi(words: object, letters: str) -> list[str]:
    """The segmentation :meth:`WordFeatures.segment` documents, written plainly with a dict look-up per substring:
    the reference the compiled trie walk must reproduce (same option order, same float arithmetic)."""
    n = len(letters)
    cost, back = [0.0] + [math.inf] * n, [0] * (n + 1)
    for end in range(1, n + 1):
        best, arg = cost[end - 1] + _UNKNOWN_COST, end - 1
        for start in range(max(0, end - _MAX_WORD), end):
            c = words.vocab_cost_.get(letters[start:end])
            if c is not None and cost[start] + c < best:
                best, arg = cost[start] + c, start
        cost[end], back[end] = best, arg
    parts, end = [], n
    while end > 0:
        parts.append(letters[back[end]:end])
        end = back[end]
    return parts[::-1]


def test_word_batch_and_compiled_segmentation_equal_the_reference():
    words = fitted().families_["words"]
    runs = sorted({r for t in CORPUS for r in "".join(c if c.isascii() and c.isalpha() else " " for c in t.lower())
                   .split()} | {"iloveny", "bestpizza", "a", "i", "q", "supercalifragilisticexpialidocious",
                     "responsibilitiesandtelecommunications"}
                  | {"abcdefghij" * k for k in range(1, 7)})
    runs = [r for r in runs if r.isascii() and r.islower()]
    reference = [_viterbi(words, r) for r in runs]
    assert words.segment_many(runs) == reference
    assert [words.segment(r) for r in runs] == reference
    assert words.segment_many([]) == [] and words.segment("") == []
    assert any(len(p) > 12 for parts in reference for p in parts)  # the long-word end of the trie is exercised
    # full names (first name + a surname of one or more words), alone, with digits and run together with words
    rng = random.Random(11)
    firsts = sorted(words.first_names_, key=words.first_names_.get)[-300:]
    surnames = sorted(words.surnames_, key=words.surnames_.get)[-600:]
    names = [rng.choice(firsts) + rng.choice(surnames) for _ in range(600)]
    texts = [*CORPUS, *names, *(n + "99" for n in names[:100]), *(n[::-1] for n in names[:100]),
             *("the" + n for n in names[:100]), *("_".join(names[i:i + 2]) for i in range(0, 100, 2))]
    prepared = prepare(texts)
    out = words.transform_prepared(prepared).to_numpy()
    codes, uniq = prepared.unique_texts()
    one = np.array([words._one(t) for t in uniq])[codes]
    ok = prepared.ok
    assert _same(out[ok], one[ok])
    full = list(words.feature_names_out_).index("dict__full_name")
    assert 100 < one[:, full].sum() < len(names)  # full names found, and some near misses


def test_lexicon_batch_matching_equals_match_per_string():
    for name in ("brand", "celeb"):
        fam = fitted().families_[name]
        prepared = prepare([*CORPUS, "nike", "nikeofficial", "g00gle", "spotifyy", "elonmusk", "firetruck"])
        batch = fam._matches(prepared)
        assert batch == [fam.match(t) for t in prepared.unique_texts()[1]]


_FUZZY_TIE = """
from handleval.features.brands import CoreBatch, LexiconMatcher
from handleval.features.lexicons import Lexicon
lex = Lexicon("t")
for key in ("pinko", "pink", "pinky"):
    lex.add(key, 0.5, key, "test")
m = LexiconMatcher(lex)
one, many = m.match("pinks"), m.match_many(CoreBatch([("pinks", False)]))[0]
print(one.kind, one.key, one.popularity, many == one)
"""


def test_fuzzy_ties_are_broken_the_same_way_in_every_process():
    """'pinks' is one edit from all three keys, equally popular: the alphabetically first wins, whatever order a
    process's string hashing gives the set (each hash seed below is a process of its own)."""
    import subprocess
    import sys

    from tests._helpers import checkout_env

    for seed in ("0", "1", "2", "3"):
        shown = subprocess.run([sys.executable, "-c", _FUZZY_TIE], capture_output=True, text=True, check=True,
                               env=checkout_env(PYTHONHASHSEED=seed)).stdout.split()
        assert shown == ["4", "pink", "0.5", "True"], seed  # kind 4: a fuzzy match


def test_repeated_and_shuffled_rows_get_the_same_features():
    base = ["pizza", "nike", "j0hn_99", "bestpizza", "", "🙂", "g00gle"]
    rows = base * 3
    shuffled = rows[::-1]
    fz = fitted()
    a = fz.transform(rows)
    b = fz.transform(shuffled).iloc[::-1].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_deletion_index_finds_exactly_what_a_dict_of_variants_holds():
    from handleval.features.brands import DeletionIndex, _in_bitmap

    names = ["pinko", "pink", "pinky", "aaab", "abab", "café", "naïve", "x" * 70, "ab\u00e9c", "book", "boook"]
    index = DeletionIndex(names)
    reference: dict[str, set[str]] = {}
    for name in names:
        for v in {name, *(name[:i] + name[i + 1:] for i in range(len(name)))}:
            reference.setdefault(v, set()).add(name)
    for variant, owners in reference.items():
        found = index.get(variant)
        assert found is not None and len(found) == len(set(found)) and set(found) == owners, variant
    for missing in ("", "zzzz", "pi", "caf\u00e9x", "x" * 68):
        assert index.get(missing) is None
    assert _in_bitmap(index.bitmap, index.hashes).all()  # the batch prefilter never drops an indexed variant


def _leet_reference(core: str) -> list[str]:
    """The original one-character-at-a-time definition of leet_variants."""
    from handleval.features.brands import _DROP_LEET, LEET_MAP

    if core.isalpha():
        return []
    n_leet = len(core) - len(core.translate(_DROP_LEET))
    if not n_leet or n_leet > 4 or n_leet == len(core) or core.isdigit():
        return []
    variants = [""]
    for c in core:
        variants = [v + s for v in variants for s in LEET_MAP.get(c, c)][:4]
    return variants


def _affix_reference(core: str) -> frozenset[str]:
    """The original definition of affix_variants (no screening)."""
    from handleval.features.brands import PREFIXES, SUFFIXES

    stripped = core.strip(string.digits)
    bases = {core, stripped}
    for base in (core, stripped):
        bases |= {base[len(p):] for p in PREFIXES if base.startswith(p)}
    out: set[str] = set()
    for base in bases:
        out.add(base)
        out |= {base[:-len(x)].rstrip(string.digits) for x in SUFFIXES if len(base) > len(x) and base.endswith(x)}
    out.discard(core)
    return frozenset(v for v in out if len(v) >= 4)


def _tricky_cores() -> list[str]:
    from handleval.features.brands import PREFIXES, SUFFIXES

    rng = random.Random(3)
    pieces = [*PREFIXES, *SUFFIXES, "nike", "google", "1", "11", "111", "0", "é", "\x00", "²", "a" * 70]
    made = ["".join(rng.choice(pieces) if rng.random() < 0.5 else
                    "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(rng.randint(0, 4)))
                    for _ in range(rng.randint(0, 4))) for _ in range(3000)]
    return [*CORPUS, *made, "", "official1", "xofficial1", "1111nike1111", "n1k3", "11i1", "ǅ1", "a\x00"]


def test_leet_affix_and_candidate_screens_equal_the_plain_definitions():
    from handleval.features.brands import affix_variants, candidates, leet_variants

    cores = _tricky_cores()
    assert [leet_variants(c) for c in cores] == [_leet_reference(c) for c in cores]
    assert [affix_variants(c) for c in cores] == [_affix_reference(c) for c in cores]
    batch = CoreBatch([(c, False) for c in cores])
    assert [batch.candidates(i) for i in range(len(cores))] == [candidates(c) for c in cores]


def test_candidate_superset_holds_every_candidate():
    """The vectorised screen may hold more strings than :func:`candidates`, never fewer (else a match is lost)."""
    from handleval.features.brands import candidate_superset, candidates

    rng = random.Random(5)
    digits_around = [f"{rng.randint(0, 10 ** rng.randint(1, 12))}{c}{rng.randint(0, 999)}" for c in CORPUS[:300]]
    for cores in (_tricky_cores(), digits_around, ["1" * k + "official1" + "1" * k for k in range(12)], [], [""]):
        screened: dict[int, set[str]] = {}
        for s, i in zip(*candidate_superset(cores), strict=True):
            screened.setdefault(int(i), set()).add(s)
        for i, core in enumerate(cores):
            assert set(chain.from_iterable(candidates(core))) <= screened.get(i, set()), core


def test_batch_matcher_equals_the_one_core_path_near_lexicon_names():
    """Shared candidates and deletion hashes, the flat candidate screen and the index bitmap must find what
    ``match_core`` finds, on cores one or two edits, an affix or a leetspeak digit away from real names."""
    rng = random.Random(11)
    letters = string.ascii_lowercase + string.digits
    for name in ("brand", "celeb"):
        matcher = fitted().families_[name].matcher_
        cores: set[str] = set()
        for key in rng.sample(sorted(matcher.index.names), 400):
            i, j = rng.randrange(len(key)), rng.randrange(len(key))
            cores |= {key, key[:i] + key[i + 1:], key[:i] + rng.choice(letters) + key[i:],
                      key[:i] + rng.choice(letters) + key[i + 1:], key[:i] + key[i + 1:j] + key[j + 1:],
                      "the" + key, key + "official", key + "2024", key.replace("o", "0").replace("e", "3"),
                      "i" + key[:i] + key[i + 1:] + "hq"}
        # cores are at most MAX_CHARS long, as every text is cut before matching ('the' + a 62-letter key is not)
        keys = [(c, rng.random() < 0.1) for c in sorted({c[:MAX_CHARS] for c in cores})]
        assert matcher.match_many(CoreBatch(keys)) == [matcher.match_core(c, h) for c, h in keys]


def test_prepare_fast_path_equals_the_general_path():
    values = [*CORPUS, " @Nike ", "NIKE", "pay\u200bpal", "\ud800x", "ｎｉｋｅ"]
    plats = [" X ", "telegram", "Domain", "", "x\u00e9"] * (len(values) // 5 + 1)
    frame = pd.DataFrame({"handle": pd.Series(values, dtype=object), "platform": plats[:len(values)],
                          "suffix": ["com" if i % 3 else " IO" for i in range(len(values))]})
    fast = prepare(frame)
    mixed = prepare(pd.concat([frame, pd.DataFrame({"handle": [7], "platform": [3], "suffix": [None]})],
                              ignore_index=True))  # not all strings: the general path
    pd.testing.assert_frame_equal(fast.frame, mixed.frame.iloc[:len(frame)])
    pd.testing.assert_series_equal(fast.errors, mixed.errors.iloc[:len(frame)])
    listed = prepare(values)  # a plain list, lone surrogate included, must not raise
    assert listed.frame["text"].tolist() == fast.frame["text"].tolist()


def test_sales_history_groups_equal_a_pandas_groupby():
    from handleval.features import SalesHistoryFeatures

    rng = np.random.default_rng(5)
    n = 400
    days = pd.to_datetime("2022-01-01") + pd.to_timedelta(rng.integers(0, 30, n), unit="D")  # many time ties
    history = pd.DataFrame({
        "handle": rng.choice(["pizza", "nike", "abc", "abd", "x" * 70, "a_b", "@Pizza", "zz9"], n),
        "platform": rng.choice(["telegram", "domain", "ens"], n),
        "suffix": rng.choice(["", "com", "io"], n),
        "price_usd": rng.uniform(1, 1000, n).round(2),
        "sold_at": pd.Series(days).where(rng.random(n) > 0.1),
    })
    fam = SalesHistoryFeatures().fit(history)
    p = prepare(history)
    keep = p.ok
    hist = pd.DataFrame({"market": p.frame["platform"][keep], "name": [t[:64] for t in p.frame["text"][keep]],
                         "suffix": p.frame["suffix"][keep], "logp": np.log(history["price_usd"][keep]),
                         "time": np.where(p.frame["cutoff_known"][keep], p.frame["cutoff"][keep],
                                          np.iinfo(np.int64).max - 1)})
    for key, g in hist.groupby(["market", "name", "suffix"], sort=False):
        order = np.argsort(g["time"].to_numpy(), kind="stable")
        group = fam.same_[key]
        assert (group.times == g["time"].to_numpy()[order]).all()
        assert (group.logp == g["logp"].to_numpy()[order]).all()
    assert len(fam.same_) == hist.groupby(["market", "name", "suffix"]).ngroups
    hist["len"] = [min(len(t), 16) for t in hist["name"]]
    undated = np.iinfo(np.int64).max - 1
    hist["later_first"] = np.where(hist["time"] < undated, -hist["time"], np.iinfo(np.int64).max)
    for (market, length), g in hist.groupby(["market", "len"], sort=False):
        g = g.sort_values(["name", "later_first"], kind="stable")  # the tie order: name, later sale, undated last
        names, times, logp, suffixes = fam.bucket_[(market, length)]
        assert names == g["name"].tolist() and (times == g["time"].to_numpy()).all()
        assert (logp == g["logp"].to_numpy()).all() and suffixes == g["suffix"].tolist()
