"""The compiled row scan of :mod:`handleval.features.length` (the features of plain ASCII strings), in a module of
its own so numba loads only when a batch is featurised."""

import numpy as np

from handleval._jit import njit


@njit
def _listed(keys, key):  # pragma: no cover
    at = np.searchsorted(keys, key)
    return at < keys.shape[0] and keys[at] == key


@njit
def _digit_run(value, length, only_689, all_digits, lucky_keys, meme_keys, max_keyed):  # pragma: no cover
    """``(lucky, meme)`` of one run of ``length`` digits whose first ``max_keyed`` read ``value``: a lucky number
    (of 2+ digits, or any when the handle is all digits) or 2+ digits of 6, 8 and 9 only; a meme number. The lists
    are keys ``value * 8 + length`` of their numbers, all of at most ``max_keyed`` digits."""
    key = value * 8 + length if length <= max_keyed else -1
    lucky = (_listed(lucky_keys, key) and (length >= 2 or all_digits)) or (length >= 2 and only_689)
    return lucky, _listed(meme_keys, key)


@njit
def _step(d, run, prev, best):  # pragma: no cover
    """One step of ``_max_step_run``: ``d`` the step to the next character (0 = none); returns ``(run, best)``."""
    if d != 0 and (run == 1 or d == prev):
        run += 1
    else:
        run = 2 if d != 0 else 1
    return run, max(best, run)


@njit
def _periodic(m, r, n):  # pragma: no cover
    """Whether row ``r`` (``n`` bytes) is a shorter string repeated, i.e. ``(t + t).find(t, 1) < len(t)``: it
    equals a rotation of itself, which holds exactly when some period ``p < n`` divides ``n``."""
    for p in range(1, n // 2 + 1):
        if n % p:
            continue
        same = True
        for i in range(n - p):
            if m[r, i] != m[r, i + p]:
                same = False
                break
        if same:
            return True
    return False


@njit
def _palindrome(m, r, n):  # pragma: no cover
    for i in range(n // 2):  # noqa: SIM110 - a plain loop, which numba compiles without a generator
        if m[r, i] != m[r, n - 1 - i]:
            return False
    return True


@njit
def plain_features(m, n, key_row, key_col, code_of, is_vowel, tri, lucky_keys, meme_keys, max_keyed,
                   out):  # pragma: no cover
    """``LengthPatternFeatures._one`` of each row of the byte matrix ``m`` (``n[r]`` bytes: ASCII, no upper case,
    no newline, at least one) into the float64 table ``out``, columns in ``FEATURES`` order, in one walk over
    each row's bytes.

    ``key_row``/``key_col`` place a byte on the keyboard (row -1: none); ``code_of`` is its trigram-model symbol
    (a-z 0..25, '^' 26, '$' 27) and ``tri`` the (28, 28, 28) log-probabilities, summed left to right as
    ``pronounce_loglik`` does; ``lucky_keys``/``meme_keys`` the sorted keys of the listed numbers."""
    seen = np.full(256, -1, dtype=np.int64)  # the row that last saw each byte
    for r in range(m.shape[0]):
        k = n[r]
        n_l = n_d = n_us = n_dot = n_hy = n_unique = n_lucky = vowels = 0
        lead_l = lead_d = -1  # first non-letter / non-digit (-1: none yet)
        last_not_l = last_not_d = -1
        same_run = max_run = 0
        seq_run = seq_best = key_run = key_best = 1
        seq_prev = key_prev = 0
        n_parts = 0
        only_word = True  # letters, digits and separators only
        # digit runs
        year = np.nan
        found_year = False
        lucky = meme = False
        d_start = -1
        d_value = 0
        only_689 = True
        # letters: pronounceability and consonant clusters
        c0 = c1 = 26
        total = 0.0
        cons_run = cons_best = 0
        prev = -1
        prev_letter = prev_digit = prev_word = False
        for j in range(k + 1):
            if j == k:  # past the end: closes a digit run
                is_d = False
            else:
                b = np.int64(m[r, j])
                is_d = 48 <= b <= 57
            if not is_d and d_start >= 0:
                length = j - d_start
                if not found_year and length == 4 and 1950 <= d_value <= 2035:
                    year = float(d_value)
                    found_year = True
                run_lucky, run_meme = _digit_run(d_value, length, only_689, length == k, lucky_keys, meme_keys,
                                                 max_keyed)
                lucky = lucky or run_lucky
                meme = meme or run_meme
                d_start = -1
            if j == k:
                break
            is_l = 97 <= b <= 122
            is_sep = b == 95 or b == 46 or b == 45
            if seen[b] != r:
                seen[b] = r
                n_unique += 1
            # runs of one character, sequences (abc, 321) and keyboard walks (qwerty)
            if b == prev:
                same_run += 1
            else:
                same_run = 1
            max_run = max(max_run, same_run)
            if j > 0:
                d = b - prev
                seq = d if ((is_l and prev_letter) or (is_d and prev_digit)) and (d == 1 or d == -1) else 0
                seq_run, seq_best = _step(seq, seq_run, seq_prev, seq_best)
                seq_prev = seq
                row = key_row[b]
                kd = np.int64(key_col[b]) - np.int64(key_col[prev])
                walk = kd if row >= 0 and row == key_row[prev] and (kd == 1 or kd == -1) else 0
                key_run, key_best = _step(walk, key_run, key_prev, key_best)
                key_prev = walk
            if is_l:
                n_l += 1
                c = code_of[b]
                total = total + tri[c0, c1, c]
                c0, c1 = c1, c
                if is_vowel[b]:
                    vowels += 1
                    cons_run = 0
                else:
                    cons_run += 1
                    cons_best = max(cons_best, cons_run)
            else:
                last_not_l = j
                if lead_l < 0:
                    lead_l = j
            if is_d:
                n_d += 1
                digit = b - 48
                if d_start < 0:
                    d_start, d_value, only_689 = j, 0, True
                if j - d_start < max_keyed:
                    d_value = d_value * 10 + digit
                only_689 = only_689 and (digit == 6 or digit == 8 or digit == 9)
                if digit == 6 or digit == 8 or digit == 9:
                    n_lucky += 1
            else:
                last_not_d = j
                if lead_d < 0:
                    lead_d = j
            if is_sep:
                if b == 95:
                    n_us += 1
                elif b == 46:
                    n_dot += 1
                else:
                    n_hy += 1
            elif not is_l and not is_d:
                only_word = False
            word = not is_sep
            if word and not prev_word:
                n_parts += 1
            prev, prev_letter, prev_digit, prev_word = b, is_l, is_d, word
        if lead_l < 0:
            lead_l = k
        if lead_d < 0:
            lead_d = k
        trail_l, trail_d = k - 1 - last_not_l, k - 1 - last_not_d
        first, last = np.int64(m[r, 0]), np.int64(m[r, k - 1])
        n_sep = n_us + n_dot + n_hy
        # pattern class (see PATTERN_CLASSES)
        if n_l == k:
            cls = k if k <= 5 else 13
            if k == 4 or k == 5:
                cv = (not is_vowel[m[r, 0]] and is_vowel[m[r, 1]] and not is_vowel[m[r, 2]] and is_vowel[m[r, 3]])
                if k == 4 and cv:
                    cls = 11
                elif k == 5 and cv and not is_vowel[m[r, 4]]:
                    cls = 12
        elif n_d == k:
            cls = 5 + k if k <= 5 else 14
        elif lead_l > 0 and trail_d > 0 and lead_l + trail_d == k:
            cls = 15
        elif lead_d > 0 and trail_l > 0 and lead_d + trail_l == k:
            cls = 16
        elif (only_word and n_sep > 0 and not (first == 95 or first == 46 or first == 45)
              and not (last == 95 or last == 46 or last == 45)):
            cls = 17
        else:
            cls = 18
        o = out[r]
        o[0] = k
        o[1] = n_l
        o[2] = n_d
        o[3] = n_us
        o[4] = n_dot
        o[5] = n_hy
        o[6] = k - n_l - n_d - n_sep
        o[7] = n_l / k
        o[8] = n_d / k
        o[9] = n_unique
        o[10] = 0.0
        o[11] = cls
        o[12] = n_l == k
        o[13] = n_d == k
        o[14] = max_run
        o[15] = k >= 2 and n_unique == 1
        o[16] = k >= 2 and 2 * n_unique <= k and _periodic(m, r, k)
        o[17] = k >= 2 and first == last and _palindrome(m, r, k)
        o[18] = seq_best if seq_best >= 3 else 0
        o[19] = key_best if key_best >= 3 else 0
        o[20] = year
        o[21] = lucky
        o[22] = n_lucky / n_d if n_d > 0 else 0.0
        o[23] = meme
        o[24] = lead_d
        o[25] = trail_d
        o[26] = first == 95
        o[27] = last == 95
        o[28] = n_parts
        # pronounceability: the closing trigram (…, '$'), then the mean over the n_l + 1 trigrams. (The numpy version
        # this replaces also added 0.0 for each column past a row's letters: a no-op, as a sum of log-probabilities
        # started at 0.0 is never -0.0.)
        total = total + tri[c0, c1, 27]
        o[29] = total / (n_l + 1) if n_l > 0 else np.nan
        o[30] = vowels / n_l if n_l > 0 else np.nan
        o[31] = cons_best
