"""The compiled digit-run scan of :mod:`handleval.features.length`, in a module of its own so numba loads only when
a batch is featurised."""

import numpy as np

from handleval._jit import njit


@njit
def _listed(keys, key):  # pragma: no cover
    at = np.searchsorted(keys, key)
    return at < keys.shape[0] and keys[at] == key


@njit
def digit_runs(m, n, n_digits, lucky_keys, meme_keys, max_keyed, year, lucky, meme):  # pragma: no cover
    """Per row of the byte matrix ``m`` (``n`` bytes, ``n_digits`` of them digits), over its runs of digits: the
    first run of four that reads 1950..2035 into ``year``; whether a run is a lucky number (of 2+ digits, or any
    when the handle is all digits) or 2+ digits of 6, 8 and 9 only; whether a run is a meme number. The lists are
    keys ``value * 8 + length`` of their numbers, all of at most ``max_keyed`` digits."""
    for r in range(m.shape[0]):
        if n_digits[r] == 0:
            continue
        all_digits = n_digits[r] == n[r]
        found_year = False
        i = 0
        while i < n[r]:
            if not 48 <= m[r, i] <= 57:
                i += 1
                continue
            start, value, only_689 = i, 0, True
            while i < n[r] and 48 <= m[r, i] <= 57:
                digit = np.int64(m[r, i]) - 48
                if i - start < max_keyed:
                    value = value * 10 + digit
                only_689 = only_689 and (digit == 6 or digit == 8 or digit == 9)
                i += 1
            length = i - start
            key = value * 8 + length if length <= max_keyed else -1
            if not found_year and length == 4 and 1950 <= value <= 2035:
                year[r] = value
                found_year = True
            if (_listed(lucky_keys, key) and (length >= 2 or all_digits)) or (length >= 2 and only_689):
                lucky[r] = True
            if _listed(meme_keys, key):
                meme[r] = True
