"""Parse, normalise and validate handles per platform.

``parse_handle("@Elon_Musk ", "x")`` returns a :class:`Handle` whose ``name`` is ``"elon_musk"``; a handle that
breaks the platform's rules raises :class:`InvalidHandle` with a reason a person understands. Every platform
lower-cases (X, Telegram, Instagram, domains and the common mail providers are case-insensitive), so
normalising twice equals normalising once.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from handleval.errors import InvalidHandle

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PLATFORMS = ("x", "telegram", "instagram", "domain", "email")
#: Other names a platform goes by: X was Twitter until 2023, and its users still say so.
PLATFORM_ALIASES = {"twitter": "x"}
#: What joins a name to its suffix on the platforms whose handles include one (``pizza`` + ``com``).
SUFFIX_SEPARATOR = {"domain": ".", "email": "@"}

# Characters that are invisible or flip text direction: never part of a handle, stripped before validation
# so that a copy-pasted name still parses (the hostile-input corpus is full of them).
_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2060, 0x2066,
     0x2067, 0x2068, 0x2069, 0xFEFF, 0x00AD]
)
_INVISIBLE_CHARS = frozenset(map(chr, _INVISIBLE))
#: A profile URL: its site, then the name (after twitter.com's old ``#!/`` and Telegram's preview ``t.me/s/``).
_URL = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://)?(?:www\.|mobile\.)?"
    r"(x\.com|twitter\.com|t\.me|telegram\.me|fragment\.com/username|instagram\.com)/+(?:#!/+)?(?:(?<=me/)s/+)?"
    r"([^/?#]*)",
    re.IGNORECASE,
)
#: Pages of x.com (``x.com/home``, ``x.com/i/…``): paths of the site, so never an account's name.
X_PAGES = frozenset(("home", "explore", "notifications", "messages", "settings", "search", "login", "logout", "signup",
                     "i", "tos", "privacy", "compose", "account", "intent", "hashtag", "share"))
#: Per platform, the first path segments of its site's pages (a post, a tag, an invite link): a URL of one names
#: no account.
SITE_PAGES = {"x": X_PAGES,
              "instagram": frozenset(("p", "reel", "reels", "explore", "stories", "accounts", "direct", "tv")),
              "telegram": frozenset(("joinchat", "addstickers", "addemoji", "share", "c", "iv", "proxy", "socks",
                                     "addtheme", "setlanguage", "login", "confirmphone"))}
_URL_PLATFORM = {"x.com": "x", "twitter.com": "x", "t.me": "telegram", "telegram.me": "telegram",
                 "fragment.com": "telegram", "instagram.com": "instagram"}

_X = re.compile(r"[a-z0-9_]+")
_TELEGRAM = re.compile(r"[a-z][a-z0-9_]*")
_INSTAGRAM = re.compile(r"[a-z0-9._]+")
_LDH = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_EMAIL_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+")

_LIMITS = {"x": (1, 15), "telegram": (4, 32), "instagram": (1, 30)}


def is_x_handle(text: str) -> bool:
    """Whether ``text`` is, as it is, a handle X allows: lower-case letters, digits and '_', 1 to 15 of them."""
    lo, hi = _LIMITS["x"]
    return lo <= len(text) <= hi and _X.fullmatch(text) is not None
#: A platform's name in a sentence about its market ("Telegram sales", "own sale on Telegram").
PLATFORM_NAMES = {"x": "X", "telegram": "Telegram", "instagram": "Instagram", "domain": "domain",
                  "email": "e-mail"}
_PLATFORM_LABEL = {**PLATFORM_NAMES, "domain": "a domain", "email": "an e-mail address"}  # "not valid for a domain"


def has_public_suffix(domain: str) -> bool:
    """True where the Public Suffix List's ICANN section names the suffix of ``domain`` (``pizza.com``,
    ``mweb.co.za``, ``пример.рф`` as punycode), False for a made-up one (``nike.zzz``) or a blockchain's naming
    space (``vitalik.eth``)."""
    return public_suffix_list(icann=True, accept_unknown=False).publicsuffix(domain) is not None


def registered_domain(suffix: str) -> str | None:
    """For a domain's suffix (all after its first label) that is no public suffix but a domain itself (``google.com``
    of ``mail.google.com``), that registered domain; ``None`` for a public suffix (``com``, ``co.uk``, and the
    private section's ``eu.com``, whose names are sold too)."""
    public = public_suffix_list(icann=False).publicsuffix(f"x.{suffix}")
    return None if public == suffix else public_suffix_list(icann=False).privatesuffix(f"x.{suffix}")


@functools.cache
def public_suffix_list(icann: bool, accept_unknown: bool = True) -> Any:
    """The Public Suffix List the pinned ``publicsuffixlist`` package ships (its ICANN section, or all of it with
    the private section's hosting spaces); loaded on first use."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(only_icann=icann, accept_unknown=accept_unknown)


@dataclass(frozen=True, slots=True)
class Handle:
    """A validated handle. ``name`` is what is priced: the username, a domain's second-level label, or an
    e-mail address's local part; ``suffix`` is the TLD (``com``) or mail provider (``163.com``)."""

    name: str
    platform: str
    suffix: str = ""

    def __str__(self) -> str:
        if self.platform == "domain":
            return f"{self.name}.{self.suffix}"
        if self.platform == "email":
            return f"{self.name}@{self.suffix}"
        return self.name


def clean(raw: object) -> str:
    """NFKC, invisible characters removed, surrounding space and a leading ``@`` or profile URL stripped,
    lower-cased. Idempotent; raises ``InvalidHandle`` only for values that are not text at all."""
    return _stripped(raw)[0]


def platform_from_url(raw: object) -> str | None:
    """The platform a profile URL points at (``t.me/durov``, ``@instagram.com/nike`` → its platform), else
    ``None``: what :func:`clean` strips, read the same way."""
    try:
        return _stripped(raw)[1]
    except InvalidHandle:
        return None


def _stripped(raw: object) -> tuple[str, str | None]:
    """:func:`clean`'s text, and the platform of the profile URL it stripped (None when there was none)."""
    if raw is None or (isinstance(raw, float) and raw != raw):
        raise InvalidHandle(raw, "empty handle")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidHandle(raw, "not valid UTF-8 text") from exc
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise InvalidHandle(raw, f"not text: {type(raw).__name__}")
    text, linked = str(raw), None
    # Repeat until stable: NFKC of a stripped string can expose another prefix ("＠@name").
    for _ in range(8):
        before = text
        text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).strip()
        match = _URL.match(text)
        if match:
            text, linked = match.group(2), _URL_PLATFORM[match.group(1).lower().split("/")[0]]
        text = text.lstrip("@").strip().lower()
        if text == before:
            break
    return text, linked


def _too_long(n: int, platform: str, hi: int) -> str:
    return f"{n} characters: {_PLATFORM_LABEL[platform]} allows at most {hi}"


def _validate_username(text: str, platform: str, typed: str = "") -> Handle:
    """``text`` (cleaned, lower case) as a handle of ``platform``; a character not allowed is quoted as ``typed``
    has it (``'Ν'``, a Greek capital, not the ``'ν'`` lower case made of it; ``'İ'``, not a bare combining dot)."""
    lo, hi = _LIMITS[platform]
    n = len(text)
    if n == 0:
        raise InvalidHandle(text, "empty handle", platform)
    if n > hi:
        raise InvalidHandle(text, _too_long(n, platform, hi), platform)
    if n < lo:
        raise InvalidHandle(text, f"{n} characters: {_PLATFORM_LABEL[platform]} needs at least {lo}", platform)
    pattern = {"x": _X, "telegram": _X, "instagram": _INSTAGRAM}[platform]
    if not pattern.fullmatch(text):
        bad = next(c for c in text if not pattern.fullmatch(c))
        bad = next((c for c in typed if bad in unicodedata.normalize("NFKC", c).lower()), bad)
        allowed = "letters, digits and '_'" if platform != "instagram" else "letters, digits, '.' and '_'"
        raise InvalidHandle(text, f"character {bad!r} not allowed: {_PLATFORM_LABEL[platform]} allows "
                                  f"only {allowed}", platform)
    if platform == "telegram":
        if not _TELEGRAM.fullmatch(text):
            raise InvalidHandle(text, "Telegram usernames must start with a letter", platform)
        if text.endswith("_"):
            raise InvalidHandle(text, "Telegram usernames cannot end with '_'", platform)
        if "__" in text:
            raise InvalidHandle(text, "Telegram usernames cannot contain '__'", platform)
    if platform == "instagram" and (text.startswith(".") or text.endswith(".") or ".." in text):
        raise InvalidHandle(text, "Instagram usernames cannot start or end with '.' or contain '..'", platform)
    return Handle(text, platform)


def _to_ascii_label(label: str, platform: str) -> str:
    """IDN labels go to punycode (``münchen`` → ``xn--mnchen-3ya``) so that LDH rules apply."""
    if label.isascii():
        return label
    try:
        return "xn--" + label.encode("punycode").decode("ascii")
    except UnicodeError as exc:
        raise InvalidHandle(label, f"label {label!r} cannot be encoded as an international domain", platform) from exc


def _validate_domain(text: str) -> Handle:
    text = text.rstrip(".")
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text).split("/", 1)[0]
    if text.startswith("www."):
        text = text[4:]
    if "." not in text:
        raise InvalidHandle(text, "a domain needs a name and a suffix, such as 'pizza.com'", "domain")
    labels = [_to_ascii_label(lab, "domain") for lab in text.split(".")]
    for label in labels:
        if not label:
            raise InvalidHandle(text, "empty label between dots", "domain")
        if len(label) > 63:
            raise InvalidHandle(text, f"{len(label)} characters in one label: domains allow at most 63", "domain")
        if not _LDH.fullmatch(label):
            raise InvalidHandle(text, f"label {label!r} breaks the letters-digits-hyphens rule "
                                      "(no leading/trailing '-')", "domain")
    if len(".".join(labels)) > 253:
        raise InvalidHandle(text, "longer than 253 characters: not a valid domain", "domain")
    return Handle(labels[0], "domain", ".".join(labels[1:]))


def _validate_email(text: str) -> Handle:
    if text.count("@") != 1:
        raise InvalidHandle(text, "an e-mail handle needs exactly one '@' between name and provider", "email")
    local, provider = text.split("@")
    if not local:
        raise InvalidHandle(text, "empty name before '@'", "email")
    if len(local) > 64:
        raise InvalidHandle(text, f"{len(local)} characters before '@': e-mail allows at most 64", "email")
    if not _EMAIL_LOCAL.fullmatch(local):
        raise InvalidHandle(text, "the name before '@' has a character e-mail does not allow", "email")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidHandle(text, "an e-mail name cannot start or end with '.' or contain '..'", "email")
    domain = _validate_domain(provider)
    return Handle(local, "email", str(domain))


def platform_name(text: object, default: str = "x") -> str:
    """A platform as :data:`PLATFORMS` names it: trimmed, lower case, an alias resolved (``Twitter`` → ``x``), blank
    → ``default``. An unknown name comes back as given, for the caller's error to quote."""
    name = str(text).strip().lower() if text is not None else ""
    name = name or default
    return PLATFORM_ALIASES.get(name, name)


def unknown_platform(name: str) -> str | None:
    """Why ``name`` (as :func:`platform_name` gives it) is no platform handleval prices, or None."""
    return None if name in PLATFORMS else f"unknown platform {name!r}: choose one of {', '.join(PLATFORMS)}"


def as_typed(raw: str) -> str:
    """The username in ``raw`` as typed, case and all: without the spaces around it, a leading '@' or full-width '＠',
    or a profile address before it (``@AppIe``, ``x.com/AppIe`` → ``AppIe``)."""
    return raw.strip().lstrip("@＠").rsplit("/", 1)[-1]


def foreign_characters(raw: object, platform: str, read_as: str) -> str | None:
    """For a username written with characters its platform does not allow that cleaning turned into the name
    ``read_as`` (full-width or circled forms, invisible marks: ``pay\u200bpal``, ``ｎｉｋｅ``, ``①``), the risk to show:
    the price is ``read_as``'s, and the reader sees which characters were read how. ``None`` for plain text."""
    shown = disallowed_characters(raw, platform)
    return None if shown is None else (f"written with characters {PLATFORM_NAMES[platform]} does not allow ({shown}): "
                                       f"priced as '{read_as}'")


def disallowed_characters(raw: object, platform: str) -> str | None:
    """The characters of a username that its platform does not allow, as a reader can see them (``'ｎ', U+200D``),
    or ``None`` for plain text or a platform without such limits."""
    if platform not in _LIMITS or not isinstance(raw, str) or raw.isascii():
        return None
    foreign = [c for c in dict.fromkeys(raw.strip().lstrip("@＠"))  # a full-width '＠' or space only frames it
               if not c.isascii() and not unicodedata.normalize("NFKC", c).isspace()]
    return ", ".join(repr(c) if c.isprintable() and c not in _INVISIBLE_CHARS else f"U+{ord(c):04X}"
                     for c in foreign) or None


def _is_boolean(value: object) -> bool:
    """A Python or numpy boolean (numpy's is no ``bool`` subclass)."""
    import numpy as np

    return isinstance(value, bool | np.bool_)


def parse_handle(raw: object, platform: str = "x") -> Handle:
    """Normalise ``raw`` and validate it for ``platform``; raise :class:`InvalidHandle` with a reason."""
    platform = platform_name(platform)
    if unknown_platform(platform):
        raise InvalidHandle(raw, str(unknown_platform(platform)), platform)
    if _is_boolean(raw):  # a yes/no column given as handles: True would be priced as the word "true"
        raise InvalidHandle(raw, f"a yes/no value ({raw}), not a handle", platform)
    if platform in ("domain", "email"):
        text = unicodedata.normalize("NFKC", str(raw) if raw is not None else "").translate(_INVISIBLE)
        if raw is None or (isinstance(raw, float) and raw != raw):
            raise InvalidHandle(raw, "empty handle", platform)
        text = text.strip().lower()
        if platform == "email":
            text = text.removeprefix("mailto:")
        if not text:
            raise InvalidHandle(raw, "empty handle", platform)
        return _validate_domain(text) if platform == "domain" else _validate_email(text)
    text, linked = _stripped(raw)
    if linked is not None and text in SITE_PAGES.get(linked, ()):  # x.com/search?q=pizza is no account 'search'
        raise InvalidHandle(raw, f"a URL of a page of {PLATFORM_NAMES[linked]} (/{text}), not of a profile", platform)
    if linked is not None and linked != platform:  # a profile URL names its platform: never priced on another
        raise InvalidHandle(raw, f"a profile URL of {PLATFORM_NAMES[linked]}, not of {PLATFORM_NAMES[platform]}: "
                                 f"price it with platform {linked}", platform)
    return _validate_username(text, platform, raw if isinstance(raw, str) else "")


def normalise(raw: object, platform: str = "x") -> str:
    """The canonical string form of a valid handle (idempotent)."""
    return str(parse_handle(raw, platform))


# Handles that are already canonical for their platform: ``parse_handle(h, p).name == h``. Batch scoring checks
# whole columns against these at C speed and sends only the rest through ``parse_handle`` one by one.
_CANONICAL = {
    "x": r"[a-z0-9_]{1,15}",
    "telegram": r"[a-z](?:[a-z0-9]|_(?!_)){2,30}[a-z0-9]",
    "instagram": r"[a-z0-9_]{1,30}",
}


def pandas_text(values: pd.Series) -> pd.Series:
    """``values`` as pandas text; a lone surrogate ('\ud800', which no UTF-8 holds, nor pandas' Arrow-backed text)
    becomes '?', so that a name holding one is a row's error, not the whole call's traceback."""
    try:
        return values.astype("string")
    except UnicodeEncodeError:
        return values.map(lambda v: v.encode("utf-8", "replace").decode("utf-8") if isinstance(v, str) else v
                          ).astype("string")


def handle_texts(values: pd.Series) -> pd.Series:
    """A handle column as the text every path reads (the batch command, the library, the MLflow model, triage):
    text stays as it is, a missing value stays missing (None: an "empty handle" error), an integral float is its
    integer (``7.0`` is the handle ``"7"``, as ``7`` is: Parquet stores a numeric column with gaps as floats),
    UTF-8 bytes are their text, other bytes and booleans are left to the parser (which refuses them) and anything else
    is ``str(value)``. ``values`` itself
    when it holds only text and None."""
    import pandas as pd

    cells = values.tolist()
    if pd.api.types.is_string_dtype(values) and all(isinstance(v, str) or v is None for v in cells):
        return values

    def text(value: object) -> object:
        if isinstance(value, bytes):  # UTF-8 text as bytes is that text; other bytes the parser refuses
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                return value
        if isinstance(value, str) or _is_boolean(value):  # the parser refuses a boolean
            return value
        if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
            return None
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return pd.Series([text(v) for v in cells], index=values.index, dtype=object, name=values.name)


def canonical_mask(values: object, platform: str) -> np.ndarray:
    """True where a value of ``values`` (a pandas Series) is a text that ``parse_handle`` would return unchanged
    for ``platform``; False where it needs the full parser (or is not text)."""
    import numpy as np
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    pattern = _CANONICAL.get(platform)
    if pattern is None or not (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)) \
            or pd.api.types.infer_dtype(series, skipna=True) in ("boolean", "bytes"):  # no .str on these alone
        return np.zeros(len(series), dtype=bool)
    return series.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)


# Domains and e-mail addresses already in canonical form: lower-case ASCII LDH labels (at least two), no scheme,
# path, ``www.`` or trailing dot, and an e-mail name of allowed characters without stray dots. ``parse_handle``
# changes nothing in them but splits them, at the first '.' (domain) or at the '@' (e-mail); the groups are the
# two parts. The length limits are checked beside the match.
_LDH_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_LOCAL_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_CANONICAL_SPLIT = {
    "domain": re.compile(rf"({_LDH_LABEL})\.({_LDH_LABEL}(?:\.{_LDH_LABEL})*)"),
    "email": re.compile(rf"({_LOCAL_ATOM}(?:\.{_LOCAL_ATOM})*)@({_LDH_LABEL}(?:\.{_LDH_LABEL})+)"),
}


def split_canonical(values: list[object], platform: str) -> tuple[np.ndarray, list[str], list[str]]:
    """``(canonical, names, suffixes)``: where ``canonical[i]``, ``parse_handle(values[i], platform)`` is
    ``Handle(names[i], platform, suffixes[i])``; elsewhere both are ``""`` and the value needs the parser.

    A regular-expression match per value instead of the parser's normalising and rule checks: loading the
    sales history goes from ~10 µs to ~0.5 µs per row."""
    import numpy as np

    n = len(values)
    canonical = np.zeros(n, dtype=bool)
    names, suffixes = [""] * n, [""] * n
    username = _CANONICAL.get(platform)
    split = _CANONICAL_SPLIT.get(platform)
    if username is not None:
        match = re.compile(username).fullmatch
        for i, value in enumerate(values):
            if type(value) is str and match(value):
                canonical[i], names[i] = True, value
    elif split is not None:
        match = split.fullmatch
        for i, value in enumerate(values):
            found = match(value) if type(value) is str else None
            if found is None:
                continue
            name, suffix = found.groups()
            domain = value if platform == "domain" else suffix
            if len(domain) <= 253 and not domain.startswith("www.") and len(name) <= 64:
                canonical[i], names[i], suffixes[i] = True, name, suffix
    return canonical, names, suffixes
