"""The compiled Viterbi word segmentation of :mod:`handleval.features.words`, in a module of its own so numba loads
only when a batch is segmented.

The vocabulary is a trie numbered breadth first: the children of a node are consecutive ids, so a node needs only
the id of its first child and a bit per letter that has a child (the child of letter ``c`` is the first child plus
the number of lower letters present). Walking the trie from each start position yields every vocabulary word that
starts there, without building or hashing substrings.
"""

import numpy as np

from handleval._jit import njit


@njit
def _popcount(v):  # pragma: no cover
    """Set bits of a 26-bit letter mask."""
    v = v - ((v >> 1) & 0x55555555)
    v = (v & 0x33333333) + ((v >> 2) & 0x33333333)
    return (((v + (v >> 4)) & 0x0F0F0F0F) * 0x01010101 & 0xFFFFFFFF) >> 24


@njit
def segment_runs(codes, offsets, first_child, letters, word_cost, max_word, unknown_cost, part_start, part_end,
                 n_parts):  # pragma: no cover
    """Per run of ``a``-``z`` bytes (``codes[offsets[r]:offsets[r + 1]]``): the most probable split into words.
    Words have at most ``max_word`` letters; a character no word covers costs ``unknown_cost``. The parts of all
    runs, left to right, are ``codes[part_start[i]:part_end[i]]``; run ``r`` has ``n_parts[r]`` of them.

    The recursion compares the options in :meth:`WordFeatures.segment`'s documented order with the same float
    arithmetic: first "``end - 1`` is a character no word covers", then every word ending at ``end`` from the
    longest to the single letter; a later option wins only if strictly cheaper."""
    longest = 0
    for r in range(offsets.shape[0] - 1):
        longest = max(longest, offsets[r + 1] - offsets[r])
    cost_of = np.empty((longest, max_word))  # cost_of[start, length - 1]: the word there, inf when none
    cost = np.empty(longest + 1)
    back = np.empty(longest + 1, dtype=np.int64)  # back[end]: where the best part ending at end starts
    written = 0
    for r in range(offsets.shape[0] - 1):
        lo = offsets[r]
        n = offsets[r + 1] - lo
        for start in range(n):
            node = 0
            for length in range(max_word):
                cost_of[start, length] = np.inf
            for length in range(min(max_word, n - start)):
                c = np.int64(codes[lo + start + length]) - 97
                present = letters[node]
                if c < 0 or c > 25 or not (present >> c) & 1:
                    break
                node = first_child[node] + _popcount(present & ((np.int64(1) << c) - 1))
                cost_of[start, length] = word_cost[node]
        cost[0] = 0.0
        for end in range(1, n + 1):
            best = cost[end - 1] + unknown_cost
            arg = end - 1
            for start in range(max(0, end - max_word), end):
                candidate = cost[start] + cost_of[start, end - start - 1]
                if candidate < best:
                    best = candidate
                    arg = start
            cost[end] = best
            back[end] = arg
        count = 0
        end = n
        while end > 0:  # count the parts, then write them left to right
            count += 1
            end = back[end]
        n_parts[r] = count
        end = n
        for k in range(written + count - 1, written - 1, -1):
            part_end[k] = lo + end
            end = back[end]
            part_start[k] = lo + end
        written += count
