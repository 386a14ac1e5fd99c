"""Brand and celebrity similarity (``brand__…``, ``celeb__…``): is the handle a famous name, or close to one?

Matching runs from strict to loose and stops at the first hit: exact slug, affixes stripped (``nikeofficial``,
``therealtaylorswift``, digits), leetspeak undone (``g00gle``), then fuzzy. Confusable characters (Cyrillic ``а``
in ``pаypal``) are mapped to Latin first, with the Unicode confusables table that ``confusable_homoglyphs``
ships, and flagged, so that a lookalike can be reported as such.

Speed: instead of scoring every handle against ~100k names (``extractOne`` does ~1,500 handles/s), fuzzy
candidates come from a deletion-neighbourhood index (SymSpell's idea): every lexicon name and its one-character
deletions are dict keys, so a handle's own deletions find all names within one edit — and most within two —
by exact lookups; rapidfuzz then scores only those few candidates. Thresholds grow with length, so short
names never match by accident (``j0hn_99`` is not ``ejohn``). In a batch, the lexicon-independent work (affix
and leetspeak candidates, deletion hashes) is done once per call for both lexicons (:class:`CoreBatch`), with
numpy, and Python runs per core only where a lexicon may hold something.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from itertools import chain, product, repeat
from operator import is_not
from typing import Any, ClassVar, NamedTuple

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from handleval.features._common import (
    MAX_CHARS,
    FeatureFamily,
    Prepared,
    ascii_matrix,
    cached,
    per_unique_batch,
    source_digest,
)
from handleval.features.lexicons import Lexicon, load_lexicon

#: Integer codes of ``brand__match_kind`` / ``celeb__match_kind``.
MATCH_KINDS: dict[int, str] = {0: "none", 1: "exact", 2: "affix", 3: "leetspeak", 4: "fuzzy", 5: "known compound"}
NONE, EXACT, AFFIX, LEET, FUZZY, COMPOUND = range(6)

#: Affixes a famous name hides behind: accounts' own (``official``, ``hq``), fans' and imitators' (``thereal``,
#: ``fanclub``), and the words of impersonation scams (``giveaway``, ``airdrop``, ``verified``, ``ceo``).
PREFIXES = ("thereal", "real", "official", "the", "iam", "its", "itz", "im", "get", "try", "go", "my", "hey",
            "join", "use", "we", "team", "mr", "dr", "hello", "hi", "i", "verified")
SUFFIXES = ("official", "offical", "officiel", "hq", "app", "apps", "tv", "inc", "co", "store", "shop", "news",
            "fans", "fan", "fanclub", "club", "online", "global", "world", "us", "usa", "uk", "in", "india", "eu",
            "support", "help", "music", "media", "studio", "studios", "games", "gaming", "live", "page", "real",
            "team", "ig", "x", "hd", "daily", "updates", "official1", "brasil", "br", "de", "fr", "es", "jp",
            "giveaway", "giveaways", "gift", "gifts", "promo", "bonus", "rewards", "airdrop", "crypto", "btc", "eth",
            "nft", "token", "ceo", "verified", "verify")
LEET_MAP = {"0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "6": "g", "2": "z"}
_DROP_LEET = str.maketrans("", "", "".join(LEET_MAP))
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_MIN_AFFIX_REST = 4
_DIGITS = "0123456789"
_DIGIT_SET = frozenset(_DIGITS)
_NO_VARIANTS: frozenset[str] = frozenset()
_LEET_SINGLE = str.maketrans({d: v for d, v in LEET_MAP.items() if len(v) == 1})
_LEET_BYTES_SINGLE = bytes.maketrans("".join(d for d, v in LEET_MAP.items() if len(v) == 1).encode(),
                                     "".join(v for v in LEET_MAP.values() if len(v) == 1).encode())
_LEET_BYTES_DROP = "".join(LEET_MAP).encode()
#: The first four i/l combinations (product order) for 1..4 occurrences of '1'.
_ONE_READINGS = {k: list(product("il", repeat=k))[:4] for k in range(1, 5)}
_PREFIXES_BY_FIRST: dict[str, tuple[str, ...]] = {
    c: tuple(p for p in PREFIXES if p[0] == c) for c in {p[0] for p in PREFIXES}}
_SUFFIXES_BY_LAST: dict[str, tuple[str, ...]] = {
    c: tuple(x for x in SUFFIXES if x[-1] == c) for c in {x[-1] for x in SUFFIXES}}


def max_edits(n: int) -> int:
    """Edits allowed for a fuzzy match of a ``n``-character handle: none below 5, one up to 8, then two."""
    return 0 if n < 5 else 1 if n <= 8 else 2


#: The shortest handle :func:`max_edits` allows any edit for (the batch matcher screens lengths with it).
_MIN_FUZZY_LEN = next(n for n in range(1, 64) if max_edits(n) > 0)


class Match(NamedTuple):
    """What a handle matched (a named tuple rather than a frozen dataclass: a batch builds tens of thousands,
    about three times faster, and their fields transpose with ``zip``)."""

    kind: int = NONE
    key: str = ""
    similarity: float = 0.0
    popularity: float = 0.0
    homoglyph: bool = False


_NO_MATCH = Match()
_CONFUSABLE_CACHE: dict[str, str] = {}


def _latin_glyphs(char: str) -> list[str]:
    """The single ASCII letters and digits ``char`` can pass for, as the confusables list gives them, in its order."""
    from confusable_homoglyphs import confusables

    try:
        found = confusables.is_confusable(char, preferred_aliases=["latin"]) or []
    except Exception:  # the library has no entry for some code points
        found = []
    return [c for entry in found for c in (glyph.get("c", "") for glyph in entry.get("homoglyphs", []))
            if len(c) == 1 and c.isascii() and c.isalnum()]


def _latin_of(char: str) -> str:
    """The Latin letter or digit a character can pass for (``а`` → ``a``), else its accent-free base, else ''."""
    hit = _CONFUSABLE_CACHE.get(char)
    if hit is not None:
        return hit
    import unicodedata

    out = next(iter(_latin_glyphs(char)), "").lower()
    if not out:
        base = unicodedata.normalize("NFKD", char)[:1].lower()
        out = base if base.isascii() and base.isalnum() else ""
    _CONFUSABLE_CACHE[char] = out
    return out


def _latin_capital_of(char: str) -> str:
    """The Latin capital a capital letter passes for (Greek ``Ν`` → ``N``), else its :func:`_latin_of` reading in
    upper case (the confusables list reads Greek ``Ι`` as ``l``: a capital that passes for l is an I), else ''."""
    capital = next((c for c in _latin_glyphs(char) if c.isupper()), "")
    if capital:
        return capital
    latin = _latin_of(char)
    return "I" if latin == "l" else latin.upper()  # a capital that passes for l is an I: no capital L looks like it


def capitals_read_as_latin(text: str) -> str:
    """``text`` with each capital of another script read as the Latin capital it looks like (``ΝΙΚΕ`` → ``NIKE``,
    ``Тesla`` → ``Tesla``): lower-cased first, Greek ``ΝΙΚΕ`` would read as ``vike``."""
    return "".join(_latin_capital_of(c) or c if not c.isascii() and c.isupper() else c for c in text)


def skeleton(text: str) -> tuple[str, bool]:
    """``(ascii skeleton, changed)``: non-ASCII characters replaced by the Latin ones they look like."""
    if text.isascii():
        return text, False
    out = "".join(c if c.isascii() else _latin_of(c) for c in text)
    return out, True


def affix_variants(core: str) -> frozenset[str]:
    """Names ``core`` (``[a-z0-9]`` only) may hide behind affixes: leading/trailing digits, one prefix
    (``thereal``, ``im`` …) and one suffix (``official``, ``hq`` …) stripped; only the ones of 4+ characters."""
    if not (core[:1] in _DIGIT_SET or core[-1:] in _DIGIT_SET or core.startswith(_PREFIXES_BY_FIRST.get(core[:1], ()))
            or core.endswith(_SUFFIXES_BY_LAST.get(core[-1:], ()))):  # most cores: nothing to strip, no sets built
        return _NO_VARIANTS
    stripped = core.strip(_DIGITS)
    bases = {core, stripped}
    for base in (core, stripped) if stripped != core else (core,):
        for p in _PREFIXES_BY_FIRST.get(base[:1], ()):  # only the affixes that can match: by first/last character
            if base.startswith(p):
                bases.add(base[len(p):])
    out = set(bases)
    for base in bases:
        for x in _SUFFIXES_BY_LAST.get(base[-1:], ()):
            if len(base) > len(x) and base.endswith(x):
                out.add(base[:-len(x)].rstrip(_DIGITS))
    out.discard(core)
    return frozenset(v for v in out if len(v) >= _MIN_AFFIX_REST)


def leet_variants(core: str) -> list[str]:
    """Up to four readings of ``core`` with leetspeak digits undone (``g00gle`` → ``google``)."""
    if core.isalpha():  # no digit at all (every leetspeak character is a digit)
        return []
    ascii_ = core.isascii()  # the usual case: bytes.translate is several times faster than str.translate
    raw = core.encode() if ascii_ else b""
    n_leet = len(core) - (len(raw.translate(None, _LEET_BYTES_DROP)) if ascii_ else len(core.translate(_DROP_LEET)))
    if not n_leet or n_leet > 4 or n_leet == len(core) or core.isdigit():
        return []
    # Every leetspeak digit has one reading but '1' (i or l): the first four readings in the order of the
    # product over the characters are the first four combinations of i/l over the 1s, the others translated.
    single = raw.translate(_LEET_BYTES_SINGLE).decode() if ascii_ else core.translate(_LEET_SINGLE)
    parts = single.split("1")
    if len(parts) == 1:
        return parts
    return ["".join(chain.from_iterable(zip(parts, (*combo, ""), strict=True)))
            for combo in _ONE_READINGS[len(parts) - 1]]


_Cands = tuple[frozenset[str], list[str], frozenset[str]]


def candidates(core: str) -> _Cands:
    """Lexicon-independent candidates of a core: its affix variants, its leetspeak readings and the affix
    variants of the first reading (computed once per core for both lexicons)."""
    leets = leet_variants(core)
    return affix_variants(core), leets, affix_variants(leets[0]) if leets else frozenset()


def deletion_variants(core: str) -> frozenset[str]:
    """``core`` and every string one deletion away (keys of the deletion-neighbourhood index)."""
    return frozenset((core, *(core[:i] + core[i + 1:] for i in range(len(core)))))


_HASH_BASE = 0x100000001B3  # polynomial string hash mod 2**64 (a prefilter only: every hit is checked exactly)
#: The index keeps hashes times this odd constant (a bijection mod 2**64, so the same collisions): strings that
#: differ only in their last bytes have plain hashes that differ only in their low bits, mixed ones do not.
_HASH_MIX = 0x9E3779B97F4A7C15
_BITMAP_BITS = 27  # a bit per value of the top 27 bits of the mixed hashes: 16 MB, ~0.3% set per lexicon
_HASH_POWERS = np.array([pow(_HASH_BASE, i, 1 << 64) for i in range(MAX_CHARS + 2)], dtype=np.uint64)


def _hash_rows(codes: np.ndarray) -> np.ndarray:
    """Polynomial hash (mod 2**64) of each row of a byte matrix: ``sum(b[j] * BASE**(n-1-j))``."""
    h = np.zeros(len(codes), dtype=np.uint64)
    base = np.uint64(_HASH_BASE)
    for j in range(codes.shape[1]):
        h = h * base + codes[:, j]
    return h


def _byte_matrix(strings: list[bytes], width: int) -> np.ndarray:
    return ascii_matrix(strings, width).astype(np.uint64)


_MASK = (1 << 64) - 1


def _hash_bytes(raw: bytes) -> int:
    """:func:`_hash_rows` of one byte string, in Python."""
    h = 0
    for b in raw:
        h = (h * _HASH_BASE + b) & _MASK
    return h


def _mixed(hashes: np.ndarray) -> np.ndarray:
    """The hashes the deletion index keys on (see :data:`_HASH_MIX`); numpy wraps around mod 2**64."""
    return hashes * np.uint64(_HASH_MIX)


def _bitmap(hashes: np.ndarray) -> np.ndarray:
    """Bit-packed set of the top :data:`_BITMAP_BITS` bits of sorted hashes (set bits of one byte are or-ed)."""
    table = np.zeros(1 << (_BITMAP_BITS - 3), dtype=np.uint8)
    if len(hashes):
        top = hashes >> np.uint64(64 - _BITMAP_BITS)
        byte = top >> np.uint64(3)
        first = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
        table[byte[first]] = np.bitwise_or.reduceat(np.left_shift(1, top & np.uint64(7)).astype(np.uint8), first)
    return table


def _in_bitmap(table: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """Whether the bit of each hash is set in a :func:`_bitmap` (a maybe: only the index decides)."""
    top = hashes >> np.uint64(64 - _BITMAP_BITS)
    return ((table[top >> np.uint64(3)] >> (top & np.uint64(7)).astype(np.uint8)) & 1) != 0


def _deletion_hashes(codes: np.ndarray, powers: np.ndarray) -> np.ndarray:
    """Hashes of every one-character deletion of each row of an ``(rows, n)`` byte matrix (column ``i`` = row
    minus byte ``i``) and, in column ``n``, of the row itself; from prefix and suffix hashes."""
    rows, n = codes.shape
    base = np.uint64(_HASH_BASE)
    pre = np.zeros((rows, n + 1), dtype=np.uint64)  # pre[:, i] = hash(row[:i])
    suf = np.zeros((rows, n + 1), dtype=np.uint64)  # suf[:, i] = hash(row[i:])
    for i in range(n):
        pre[:, i + 1] = pre[:, i] * base + codes[:, i]
    for i in range(n - 1, -1, -1):
        suf[:, i] = codes[:, i] * powers[n - 1 - i] + suf[:, i + 1]
    hashes = np.empty((rows, n + 1), dtype=np.uint64)
    hashes[:, :n] = pre[:, :n] * powers[n - 1 - np.arange(n)] + suf[:, 1:]
    hashes[:, n] = pre[:, n]
    return hashes


class DeletionIndex:
    """Lexicon names under their own spelling and each of their one-character deletions (SymSpell's index).

    ``get(variant)`` is what a ``{variant: [names]}`` dict would give, but the index is three numpy arrays
    (:func:`_mixed` 64-bit hashes of the variants, sorted, with the name and the deleted position of each): built
    with numpy in a fraction of the time and memory of a dict of a million lists, which every process pays at
    ``fit``. A hash only finds candidates; each is checked by rebuilding its variant, so collisions cannot add a
    name. :attr:`bitmap` screens many hashes at once before any look-up.
    """

    def __init__(self, names: list[str]):
        self.names = names
        hashes: list[np.ndarray] = []
        owners: list[np.ndarray] = []
        cuts: list[np.ndarray] = []
        by_len: dict[int, list[int]] = {}
        other: list[int] = []
        for j, name in enumerate(names):
            if name.isascii():
                by_len.setdefault(len(name), []).append(j)
            else:
                other.append(j)
        longest = max(by_len, default=0)
        powers = np.array([pow(_HASH_BASE, i, 1 << 64) for i in range(longest + 1)], dtype=np.uint64)
        for n, ids in by_len.items():
            h = _deletion_hashes(_byte_matrix([names[j].encode() for j in ids], n), powers)
            hashes.append(h.ravel())
            owners.append(np.repeat(np.asarray(ids, dtype=np.int64), n + 1))
            cuts.append(np.tile(np.r_[np.arange(n), -1], len(ids)))  # -1: the name itself
        for j in other:  # names with non-ASCII characters: deletions are of characters, hashes of UTF-8 bytes
            name = names[j]
            variants = [name[:i] + name[i + 1:] for i in range(len(name))] + [name]
            hashes.append(np.array([_hash_bytes(v.encode("utf-8", errors="surrogatepass")) for v in variants],
                                   dtype=np.uint64))
            owners.append(np.full(len(variants), j, dtype=np.int64))
            cuts.append(np.r_[np.arange(len(name)), -1])
        h = _mixed(np.concatenate(hashes)) if hashes else np.zeros(0, dtype=np.uint64)
        order = np.argsort(h, kind="stable")
        self.hashes = h[order]
        self.owner = (np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64))[order].astype(np.int32)
        self.cut = (np.concatenate(cuts) if cuts else np.zeros(0, dtype=np.int64))[order].astype(np.int16)
        self.bitmap = _bitmap(self.hashes)

    @classmethod
    def cached(cls, names: list[str], use_cache: bool = True) -> DeletionIndex:
        """The index of ``names``, its arrays kept in the on-disk data cache (:func:`cached`, no pickle, sha256
        checked), keyed by this module's source and the names themselves: building it cost ~0.1 s CPU per
        lexicon in every process that loads a model; reading it back costs a few ms."""

        def build() -> dict[str, Any]:
            index = cls(names)
            return {"hashes": index.hashes, "owner": index.owner, "cut": index.cut}

        key = (source_digest(__file__), hashlib.sha256("\x00".join(names).encode("utf-8", "surrogatepass")).hexdigest())
        state = cached("deletions", key, build, use_cache)
        hashes, owner, cut = state["hashes"], state["owner"], state["cut"]
        if not (hashes.dtype == np.uint64 and owner.dtype == np.int32 and cut.dtype == np.int16
                and len(hashes) == len(owner) == len(cut) and (not len(owner) or int(owner.max()) < len(names))):
            return cls(names)  # not what build() writes: never trusted
        index = cls.__new__(cls)
        index.names, index.hashes, index.owner, index.cut = names, hashes, owner, cut
        index.bitmap = _bitmap(hashes)
        return index

    def __len__(self) -> int:
        """Number of (name, variant) entries (a variant repeated within a name counts more than once)."""
        return len(self.hashes)

    def _found(self, variant: str, lo: int, hi: int) -> list[str]:
        """The names of entries ``lo:hi`` (equal hashes) whose variant really is ``variant``, each once."""
        names = self.names
        out: list[str] = []
        for j, c in zip(self.owner[lo:hi].tolist(), self.cut[lo:hi].tolist(), strict=True):
            name = names[j]
            if (name if c < 0 else name[:c] + name[c + 1:]) == variant and name not in out:
                out.append(name)
        return out

    def get(self, variant: str) -> list[str] | None:
        """Names equal to ``variant`` or one deletion away from it (None when there is none)."""
        h = np.uint64(_hash_bytes(variant.encode("utf-8", errors="surrogatepass")) * _HASH_MIX & _MASK)
        lo = int(np.searchsorted(self.hashes, h, side="left"))
        hi = int(np.searchsorted(self.hashes, h, side="right"))
        return (self._found(variant, lo, hi) or None) if hi > lo else None

    def get_many(self, variants: list[str], hashes: np.ndarray) -> list[list[str] | None]:
        """:meth:`get` of many variants whose :func:`_mixed` hashes (of :func:`_hash_rows` of their bytes) are
        known."""
        lo = np.searchsorted(self.hashes, hashes, side="left").tolist()
        hi = np.searchsorted(self.hashes, hashes, side="right").tolist()
        return [(self._found(v, a, b) or None) if b > a else None for v, a, b in zip(variants, lo, hi, strict=True)]


_AFFIX_WINDOW = 1 + max(map(len, (*PREFIXES, *SUFFIXES)))  # bytes an affix screen reads: an affix and the next
_DIGIT_BYTES = _DIGITS.encode()
_FIRST_READING = np.arange(256, dtype=np.uint8)  # each leetspeak digit to its first reading ('1' → 'i')
_FIRST_READING[[ord(d) for d in LEET_MAP]] = [ord(v[0]) for v in LEET_MAP.values()]


def _affix_hashes(affixes: tuple[str, ...]) -> dict[int, np.ndarray]:
    """:func:`_hash_bytes` of the affixes, by length."""
    by_len: dict[int, list[int]] = {}
    for a in affixes:
        by_len.setdefault(len(a), []).append(_hash_bytes(a.encode()))
    return {n: np.array(sorted(h), dtype=np.uint64) for n, h in sorted(by_len.items())}


_PREFIX_HASHES = _affix_hashes(PREFIXES)
_SUFFIX_HASHES = _affix_hashes(tuple(x[::-1] for x in SUFFIXES))


def _is_digit(m: np.ndarray) -> np.ndarray:
    """Which bytes of a uint8 array are ASCII digits (one unsigned comparison: below '0' wraps around)."""
    return m - np.uint8(48) < 10


def _affix_hits(window: np.ndarray, hashes: dict[int, np.ndarray]) -> list[tuple[int, np.ndarray]]:
    """``(length, rows)``: the rows of a byte matrix that begin with an affix of that length. By hash: a
    collision can only add a span to the screen, never drop one."""
    h = np.zeros(len(window), dtype=np.uint64)
    window = window.astype(np.uint64)
    out = []
    for j in range(max(hashes)):
        h = h * np.uint64(_HASH_BASE) + window[:, j]
        if j + 1 in hashes:
            out.append((j + 1, np.flatnonzero(np.isin(h, hashes[j + 1]))))
    return out


def _row_pairs(a_rows: np.ndarray, a: np.ndarray, b_rows: np.ndarray, b: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ``(row, a, b)`` with an ``a`` and a ``b`` of the same row."""
    order = np.argsort(b_rows, kind="stable")
    b_rows, b = b_rows[order], b[order]
    first = np.searchsorted(b_rows, a_rows, "left")
    counts = np.searchsorted(b_rows, a_rows, "right") - first
    pick = np.repeat(np.arange(len(a_rows)), counts)
    within = np.arange(len(pick)) - np.repeat(np.cumsum(counts) - counts, counts)
    return a_rows[pick], a[pick], b[first[pick] + within]


def _affix_spans(m: np.ndarray, n: np.ndarray, digit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, starts, ends)``: spans of each row of byte matrix ``m`` (lengths ``n``, then at least
    :data:`_AFFIX_WINDOW` zeros; ``digit`` marks its digits) that include every :func:`affix_variants` string of
    it, and more: every start that leading digits or one prefix leave, with every end that trailing digits or
    one suffix (then digits) leave; 4+ characters, never the whole string."""
    rows = np.arange(len(m))
    back = np.arange(_AFFIX_WINDOW)
    lead = np.flatnonzero(digit[:, 0])
    trail = np.flatnonzero(digit[rows, n - 1] & (n > 0))
    d0 = np.argmin(digit[lead], axis=1)  # the zero padding is no digit
    before_trail = np.where(~digit[trail] & (np.arange(m.shape[1]) < n[trail, None]), np.arange(m.shape[1]), -1)
    d1 = n[trail] - 1 - before_trail.max(axis=1)
    start_rows, starts = [rows, lead], [np.zeros(len(m), dtype=np.int64), d0]
    after_lead = m[lead[:, None], d0[:, None] + back]
    for at_rows, at, window in ((rows, starts[0], m[:, :_AFFIX_WINDOW]), (lead, d0, after_lead)):
        for length, hit in _affix_hits(window, _PREFIX_HASHES):
            start_rows.append(at_rows[hit])
            starts.append(at[hit] + length)
    end_rows, ends = [rows, trail], [n, n[trail] - d1]
    for at_rows, at in ((rows, n), (trail, n[trail] - d1)):
        window = m[at_rows[:, None], at[:, None] - 1 - back]  # reversed; before the row: its zero padding
        for length, hit in _affix_hits(window, _SUFFIX_HASHES):
            r, e = at_rows[hit], at[hit] - length
            strip = np.flatnonzero(_is_digit(window[hit, length]))  # digits before the suffix go too
            e[strip] = [len(m[i, :k].tobytes().rstrip(_DIGIT_BYTES))
                        for i, k in zip(r[strip].tolist(), e[strip].tolist(), strict=True)]
            end_rows.append(r)
            ends.append(e)
    r, a, b = _row_pairs(np.concatenate(start_rows), np.concatenate(starts), np.concatenate(end_rows),
                         np.concatenate(ends))
    keep = (b - a >= _MIN_AFFIX_REST) & ((a > 0) | (b < n[r]))
    return r[keep], a[keep], b[keep]


def _as_str(m: np.ndarray) -> list[str]:
    """The rows of a zero-padded byte matrix as strings."""
    return np.ascontiguousarray(m, dtype=np.uint32).view(f"<U{m.shape[1]}").ravel().tolist()


def _screen_ascii(cores: list[str]) -> tuple[list[str], np.ndarray]:
    """:func:`candidate_superset` of ASCII cores without NUL, with numpy."""
    n = np.fromiter(map(len, cores), dtype=np.int64, count=len(cores))
    width = int(n.max()) + _AFFIX_WINDOW
    m = ascii_matrix(cores, width)
    digit = _is_digit(m)
    r, a, b = _affix_spans(m, n, digit)
    strings = [cores[i][s:e] for i, s, e in zip(r.tolist(), a.tolist(), b.tolist(), strict=True)]
    owners = [r]
    # leetspeak readings (every digit is a leetspeak one): the first reading, then i/l over the last two 1s
    n_leet = np.count_nonzero(digit, axis=1)
    leet = np.flatnonzero((n_leet >= 1) & (n_leet <= 4) & (n_leet < n))
    first = _FIRST_READING[m[leet]]
    ones = m[leet] == ord("1")
    from_end = np.cumsum(ones[:, ::-1], axis=1)[:, ::-1]  # 1s at or after each position
    last, second = ones & (from_end == 1), ones & (from_end == 2)
    one, two = np.flatnonzero(from_end[:, 0] >= 1), np.flatnonzero(from_end[:, 0] >= 2)
    readings = _as_str(first)
    strings += readings
    strings += _as_str(np.where(last[one], ord("l"), first[one]))
    strings += _as_str(np.where(second[two], ord("l"), first[two]))
    strings += _as_str(np.where(last[two] | second[two], ord("l"), first[two]))
    owners += [leet, leet[one], leet[two], leet[two]]
    r, a, b = _affix_spans(first, n[leet], np.zeros(first.shape, dtype=bool))  # of the first reading: no digits
    strings += [readings[i][s:e] for i, s, e in zip(r.tolist(), a.tolist(), b.tolist(), strict=True)]
    owners.append(leet[r])
    return strings, np.concatenate(owners)


def candidate_superset(cores: list[str]) -> tuple[list[str], np.ndarray]:
    """``(strings, owners)``: every :func:`candidates` string of every core and a few more, each with the
    position of its core. A screen: only a core with one of them in a lexicon can match by affix or leetspeak,
    and :func:`candidates` then runs for that core alone. Vectorised for ASCII cores (all of them in practice)."""
    joined = "".join(cores)
    if cores and joined.isascii() and "\0" not in joined:
        return _screen_ascii(cores)
    plain = [i for i, c in enumerate(cores) if c.isascii() and "\0" not in c]
    strings, owners = _screen_ascii([cores[i] for i in plain]) if plain else ([], np.zeros(0, dtype=np.int64))
    owners = np.asarray(plain, dtype=np.int64)[owners]
    for i in sorted(set(range(len(cores))) - set(plain)):
        found = list(chain.from_iterable(candidates(cores[i])))
        strings += found
        owners = np.r_[owners, np.full(len(found), i, dtype=np.int64)]
    return strings, owners


class CoreBatch:
    """Many ``(core, homoglyph)`` keys (cores are ``[a-z0-9]``) and the lexicon-independent work on them, done
    once for the brand and the celebrity matcher of a call: the :func:`candidate_superset` of the cores (which a
    lexicon screens in one C-level pass of dict look-ups, so that Python builds :func:`candidates` only for the
    few cores with a hit), those candidates, and the hashes of the one-character deletions of the cores fuzzy
    matching applies to."""

    def __init__(self, keys: list[tuple[str, bool]]):
        self.keys = keys
        self.cores = [core for core, _ in keys]
        self.screen, self.screen_owner = candidate_superset(self.cores)
        self.long_enough = np.fromiter(map(len, self.cores), dtype=np.int64, count=len(keys)) >= _MIN_FUZZY_LEN
        self._candidates: dict[int, _Cands] = {}
        self._deletions: list[tuple[int, np.ndarray, np.ndarray]] | None = None

    def with_candidate_in(self, names: dict[str, Any]) -> np.ndarray:
        """Positions of the cores with a screened string among ``names``: no other core can match by affix or
        leetspeak."""
        hit = np.fromiter(map(names.__contains__, self.screen), dtype=bool, count=len(self.screen))
        return np.unique(self.screen_owner[hit])

    def candidates(self, i: int) -> _Cands:
        """:func:`candidates` of core ``i``, computed once for both lexicons."""
        found = self._candidates.get(i)
        if found is None:
            found = self._candidates[i] = candidates(self.cores[i])
        return found

    def deletion_hashes(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """``(n, rows, hashes)`` per length ``n`` of the cores long enough for fuzzy matching: their positions and
        the :func:`_mixed` hashes of each one-character deletion (column ``i``: byte ``i`` deleted) and, in column
        ``n``, of the core itself. Computed on first use, from prefix and suffix hashes (numpy)."""
        if self._deletions is None:
            by_len: dict[int, list[int]] = {}
            for i in np.flatnonzero(self.long_enough).tolist():
                by_len.setdefault(len(self.cores[i]), []).append(i)
            self._deletions = [
                (n, np.array(rows), _mixed(_deletion_hashes(
                    _byte_matrix([self.cores[i].encode() for i in rows], n), _HASH_POWERS)))
                for n, rows in by_len.items()]
        return self._deletions


class LexiconMatcher:
    """Exact, affix, leetspeak and fuzzy matching of handles against one :class:`Lexicon`."""

    def __init__(self, lexicon: Lexicon, fuzzy_min_popularity: float = 0.3, use_cache: bool = True):
        self.lexicon = lexicon
        self.pop = lexicon.popularity
        self.index = DeletionIndex.cached(
            [key for key, p in self.pop.items() if len(key) >= 4 and p >= fuzzy_min_popularity], use_cache)

    def _best(self, keys: Iterable[str]) -> str | None:
        """The most popular (then longest) of ``keys`` in the lexicon. Among equals, the first in ``keys`` when
        it is a list, the alphabetically first when it is a set (so the result never depends on set order)."""
        pop = self.pop
        found = [k for k in keys if k in pop]
        if not found:
            return None
        if len(found) > 1 and not isinstance(keys, list):
            found.sort()
        return max(found, key=lambda k: (pop[k], len(k)))

    def _fuzzy(self, core: str, cands: set[str] | None = None) -> tuple[str, int] | None:
        """Closest popular name within :func:`max_edits` (then the most popular, then alphabetical) among the
        names indexed under ``core`` or one of its one-character deletions (``cands`` if already looked up)."""
        edits = max_edits(len(core))
        if not edits:
            return None
        if cands is None:
            index = self.index
            cands = set()
            for variant in deletion_variants(core):
                hit = index.get(variant)
                if hit:
                    cands.update(hit)
        if not cands:
            return None
        pop = self.pop
        n = len(core)
        shortest = max(4, n - edits)
        best: tuple[int, float, str] | None = None
        for cand in cands:
            m = len(cand)
            if cand == core or abs(m - n) > edits or m < shortest:
                continue
            d = Levenshtein.distance(core, cand, score_cutoff=edits)
            if d <= edits:
                option = (d, -pop[cand], cand)
                if best is None or option < best:
                    best = option
        return (best[2], best[0]) if best else None

    def _fuzzy_candidates(self, batch: CoreBatch, todo: np.ndarray) -> dict[int, set[str]]:
        """The index entries under each core of ``batch`` that ``todo`` selects or under one of its one-character
        deletions, by position (cores with none are left out). Of the shared deletion hashes only the few that
        hit the index bitmap are looked up in the index (and checked there exactly)."""
        index = self.index
        cores = batch.cores
        out: dict[int, set[str]] = {}
        for n, rows, hashes in batch.deletion_hashes():
            keep = todo[rows]
            rows, hashes = rows[keep], hashes[keep]
            r, i = np.nonzero(_in_bitmap(index.bitmap, hashes))
            if not len(r):
                continue
            hit_rows = rows[r].tolist()
            variants = [core if j == n else core[:j] + core[j + 1:]
                        for core, j in zip([cores[k] for k in hit_rows], i.tolist(), strict=True)]
            for k, names in zip(hit_rows, index.get_many(variants, hashes[r, i]), strict=True):
                if names:
                    out.setdefault(k, set()).update(names)
        return out

    def match(self, text: str) -> Match:
        skel, changed = skeleton(text[:MAX_CHARS])
        core = _NON_ALNUM.sub("", skel)
        homo = changed and core != _NON_ALNUM.sub("", text[:MAX_CHARS])
        return self.match_core(core, homo)

    def match_core(self, core: str, homo: bool) -> Match:
        """Exact, then affix, then leetspeak, then fuzzy match of a core (``[a-z0-9]`` of the skeleton)."""
        m = self._match_strict(core, homo)
        if m is not None:
            return m
        hit = self._fuzzy(core)
        if hit:
            return Match(FUZZY, hit[0], fuzz.ratio(core, hit[0]) / 100, self.pop[hit[0]], homo)
        return _NO_MATCH

    def _match_strict(self, core: str, homo: bool, cands: _Cands | None = None) -> Match | None:
        """Exact, affix or leetspeak match; ``_NO_MATCH`` when fuzzy matching cannot apply, None when it may.
        ``cands``: the core's :func:`candidates`, if already computed."""
        if not core:
            return _NO_MATCH
        pop = self.pop
        p = pop.get(core)
        if p is not None:
            return Match(EXACT, core, 1.0, p, homo)
        affixes, leets, leet_affixes = cands if cands is not None else candidates(core)
        key = self._best(affixes)
        if key:
            return Match(AFFIX, key, len(key) / len(core), pop[key], homo)
        key = self._best(leets) or (self._best(leet_affixes) if leets else None)
        if key:
            return Match(LEET, key, fuzz.ratio(core, key) / 100, pop[key], homo)
        return None if max_edits(len(core)) else _NO_MATCH

    def match_many(self, batch: CoreBatch) -> list[Match]:
        """:meth:`match_core` of every key of ``batch`` (whose candidates and hashes the other lexicon shares)."""
        pop = self.pop
        keys, cores = batch.keys, batch.cores
        n = len(keys)
        out: list[Match] = [_NO_MATCH] * n
        exact = list(map(pop.get, cores))
        matched = np.fromiter(map(is_not, exact, repeat(None)), dtype=bool, count=n)
        for i in np.flatnonzero(matched).tolist():
            out[i] = Match(EXACT, cores[i], 1.0, exact[i], keys[i][1])
        for i in batch.with_candidate_in(pop).tolist():
            if not matched[i]:
                m = self._match_strict(cores[i], keys[i][1], batch.candidates(i))
                if m is not None:  # else no affix or leetspeak match: fuzzy matching decides
                    out[i] = m
                    matched[i] = True
        for i, cands in self._fuzzy_candidates(batch, batch.long_enough & ~matched).items():
            core = cores[i]
            hit = self._fuzzy(core, cands)
            if hit:
                out[i] = Match(FUZZY, hit[0], fuzz.ratio(core, hit[0]) / 100, pop[hit[0]], keys[i][1])
        return out


def skeleton_cores(prepared: Prepared) -> list[tuple[str, bool]]:
    """Per distinct text of ``prepared``: the core of its skeleton and whether confusables changed it
    (what :meth:`LexiconMatcher.match` computes first), computed once per call."""
    hit = prepared.shared.get("skeleton_cores")
    if hit is None and "".join(prepared.unique_texts()[1]).isascii():  # the usual case: no confusables at all
        hit = prepared.shared["skeleton_cores"] = list(zip(prepared.cores(), repeat(False)))
    if hit is None:
        hit = []
        for text, core in zip(prepared.unique_texts()[1], prepared.cores(), strict=True):
            t = text[:MAX_CHARS]
            if t.isascii():
                hit.append((core, False))
            else:
                skel, changed = skeleton(t)
                skel_core = _NON_ALNUM.sub("", skel)
                hit.append((skel_core, changed and skel_core != core))
        prepared.shared["skeleton_cores"] = hit
    return hit


#: Match kinds that are the famous name itself (not a lookalike): only these lend a name fame.
FAME_KINDS = (EXACT, COMPOUND)


def as_written(m: Match, text: str, written: frozenset[str] = frozenset()) -> Match:
    """A famous name is the handle only as its owner writes it: letters and digits, or a real account name or site
    label with separators in ``written`` (``gal_gadot``, ``coca-cola``). ``elon_musk`` or ``_google`` (matched once
    the separators are dropped) is an affix lookalike of the name, with no fame."""
    text = text[:MAX_CHARS]
    if m.kind in FAME_KINDS and _NON_ALNUM.search(text) and text not in written:
        return m._replace(kind=AFFIX, similarity=len(m.key) / len(text))
    return m


def _features(m: Match) -> tuple[float, ...]:
    lookalike = m.kind in (AFFIX, LEET, FUZZY) or (m.kind == EXACT and m.homoglyph)
    fame = m.popularity if m.kind in FAME_KINDS and not m.homoglyph else 0.0
    return (float(m.kind), m.similarity, m.popularity, float(len(m.key)),
            m.popularity * m.similarity if lookalike else 0.0, float(m.homoglyph), fame)


def _feature_table(found: list[Match]) -> np.ndarray:
    """:func:`_features` of many matches, column by column (the features of no match are all 0)."""
    table = np.zeros((len(found), 7))
    hits = [i for i, m in enumerate(found) if m is not _NO_MATCH]
    if hits:
        kinds, keys, similarities, popularities, homoglyphs = zip(*map(found.__getitem__, hits), strict=True)
        kind = np.array(kinds)
        similarity = np.array(similarities, dtype=np.float64)
        popularity = np.array(popularities, dtype=np.float64)
        homoglyph = np.array(homoglyphs, dtype=bool)
        lookalike = np.isin(kind, (AFFIX, LEET, FUZZY)) | ((kind == EXACT) & homoglyph)
        fame = np.where(np.isin(kind, FAME_KINDS) & ~homoglyph, popularity, 0.0)
        table[hits] = np.column_stack([kind, similarity, popularity, np.fromiter(map(len, keys), np.float64, len(hits)),
                                       np.where(lookalike, popularity * similarity, 0.0), homoglyph, fame])
    return table


class _LexiconFeatures(FeatureFamily):
    lexicon_name: ClassVar[str] = ""
    #: ``fame`` is the popularity of the famous name the handle *is* (exact or known full name), 0 for a
    #: lookalike or no match: the one brand/celebrity signal the price model may read (lookalikes are a risk).
    FEATURES: ClassVar[tuple[str, ...]] = ("match_kind", "similarity", "popularity", "match_len", "impersonation",
                                           "homoglyph", "fame")

    def __init__(self, data_dir: str | None = None, fuzzy_min_popularity: float = 0.3, use_cache: bool = True):
        self.data_dir = data_dir
        self.fuzzy_min_popularity = fuzzy_min_popularity
        self.use_cache = use_cache

    def _feature_names(self) -> list[str]:
        return [f"{self.prefix}__{f}" for f in self.FEATURES]

    def _fit(self, prepared: Prepared, X: Any, y: Any) -> None:
        lexicon = load_lexicon(self.lexicon_name, self.data_dir, self.use_cache)
        self.matcher_ = LexiconMatcher(lexicon, self.fuzzy_min_popularity, self.use_cache)
        self.lexicon_fingerprint_ = lexicon.fingerprint
        self.written_ = frozenset(lexicon.written)

    def match(self, text: str) -> Match:
        return as_written(self._match(text), text, self.written_)

    def _match(self, text: str) -> Match:
        return self.matcher_.match(text)

    def _one(self, text: str) -> tuple[float, ...]:
        return _features(self.match(text))

    def _matches(self, prepared: Prepared) -> list[Match]:
        texts = prepared.unique_texts()[1]
        return [as_written(m, t, self.written_) for m, t in zip(self._found(prepared), texts, strict=True)]

    def _found(self, prepared: Prepared) -> list[Match]:
        batch = prepared.shared.get("lexicon_cores")
        if batch is None:  # the other lexicon family's, when it ran first
            batch = prepared.shared["lexicon_cores"] = CoreBatch(skeleton_cores(prepared))
        return self.matcher_.match_many(batch)

    def matches_of(self, prepared: Prepared) -> list[Match]:
        """The match of every distinct text: the one this family's transform of ``prepared`` kept, else found now
        (the same batch matcher)."""
        kept = prepared.shared.get(f"matches:{self.prefix}")
        return kept if kept is not None else self._matches(prepared)

    def _batch(self, prepared: Prepared, failed: dict[int, str]) -> np.ndarray:
        """Features of every distinct text (affix variants are shared with the other lexicon family)."""
        found = prepared.shared[f"matches:{self.prefix}"] = self._matches(prepared)  # kept for matches_of
        return _feature_table(found)

    def _compute(self, prepared: Prepared, errors: list[str | None]) -> np.ndarray:
        return per_unique_batch(prepared, lambda texts, failed: self._batch(prepared, failed), self._one,
                                len(self.FEATURES), errors, self.prefix)

    def display_name(self, key: str) -> str:
        return self.matcher_.lexicon.display.get(key, key)


class BrandFeatures(_LexiconFeatures):
    """Similarity to brands and popular sites (Tranco, Majestic, Moz, Interbrand, Simple Icons, NSI, S&P 500,
    Fortune, Forbes); ``brand__homoglyph`` marks a lookalike made with confusable characters."""

    prefix = "brand"
    lexicon_name = "brand"


class CelebrityFeatures(_LexiconFeatures):
    """Similarity to famous people and top social accounts (Pantheon, top Instagram/TikTok/YouTube handles).

    Beyond the lexicons, a run-together name that wordfreq knows as one token (``elonmusk``, ``taylorswift``:
    words people write as hashtags and handles) and that splits into name-like parts counts as a
    ``known compound`` celebrity signal: it catches people famous after the 2013 Pantheon snapshot.
    """

    prefix = "celeb"
    lexicon_name = "celeb"

    def _fit(self, prepared: Prepared, X: Any, y: Any) -> None:
        super()._fit(prepared, X, y)
        if getattr(self, "words_", None) is None:
            from handleval.features.words import WordFeatures

            self.words_ = WordFeatures(languages=("en",), use_cache=self.use_cache).fit()

    def _match(self, text: str) -> Match:
        m = self.matcher_.match(text)
        if m.kind != NONE:
            return m
        return self._compound(_NON_ALNUM.sub("", text[:MAX_CHARS]), None) or m

    def _found(self, prepared: Prepared) -> list[Match]:
        found = super()._found(prepared)
        cores = prepared.cores()
        segments = prepared.shared.setdefault("segments", {})
        zipf = self.words_.lookup(cores)[0]
        todo = [i for i in np.flatnonzero((zipf >= 1.0) & (zipf < 3.0)).tolist()  # _compound's first test
                if found[i].kind == NONE]
        # the segmentations _compound reads, in one compiled pass (the word family no longer fills the cache)
        fresh = [c for c in dict.fromkeys(cores[i] for i in todo) if c.isalpha() and c not in segments]
        segments.update(zip(fresh, self.words_.segment_many(fresh), strict=True))
        for i in todo:
            found[i] = self._compound(cores[i], segments) or found[i]
        return found

    def _compound(self, core: str, segments: dict[str, list[str]] | None) -> Match | None:
        """A run-together name wordfreq knows as one rare-ish token, made of name-like parts (``elonmusk``)."""
        words = self.words_
        z = float(words.lookup([core])[0][0])
        if not 1.0 <= z < 3.0 or not core.isalpha():
            return None
        parts = words.segment_cached(core, segments)
        zipf, first, surname = words.lookup(parts)
        if not 2 <= len(parts) <= 3 or any(len(p) < 3 or not words.in_vocabulary(p, float(zp))
                                           for p, zp in zip(parts, zipf.tolist(), strict=True)):
            return None
        named = bool(first[0] or surname[-1])
        rare = bool((zipf < 4.0).all())
        if named or rare:
            return Match(COMPOUND, core, 1.0, min(1.0, 0.3 + 0.1 * z), False)
        return None

    def display_name(self, key: str) -> str:
        return self.matcher_.lexicon.display.get(key, key)


__all__ = ["MATCH_KINDS", "BrandFeatures", "CelebrityFeatures", "LexiconMatcher", "Match",
           "affix_variants", "as_written", "deletion_variants", "leet_variants", "max_edits", "skeleton"]
