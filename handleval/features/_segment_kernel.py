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
def _viterbi(codes, lo, n, first_child, letters, word_cost, max_word, unknown_cost, cost, back,
             back_node):  # pragma: no cover
    """Best split of the run ``codes[lo:lo + n]``: the best part ending at ``end`` starts at ``back[end]``; it is
    the vocabulary word of trie node ``back_node[end]``, or -1 for a character no word covers.

    The recursion compares the options in :meth:`WordFeatures.segment`'s documented order with the same float
    arithmetic: first "``end - 1`` is a character no word covers", then every word ending at ``end`` from the
    longest to the single letter; a later option wins only if strictly cheaper — that is, the first cheapest
    option in that order. It is computed forwards: walking the trie from each start in turn offers the words
    starting there to their ends, so a word ending at ``end`` is offered in the order above, and the
    uncovered-character option, known only once ``cost[end - 1]`` is, goes before the words offered so far
    (it wins a tie with them) and after the ones still to come."""
    cost[0] = 0.0
    for end in range(1, n + 1):
        cost[end] = np.inf
    for start in range(n):
        here = cost[start]
        unknown = here + unknown_cost
        if unknown <= cost[start + 1]:
            cost[start + 1] = unknown
            back[start + 1] = start
            back_node[start + 1] = -1
        node = 0
        for length in range(min(max_word, n - start)):
            c = np.int64(codes[lo + start + length]) - 97
            present = letters[node]
            if c < 0 or c > 25 or not (present >> c) & 1:
                break
            node = first_child[node] + _popcount(present & ((np.int64(1) << c) - 1))
            candidate = here + word_cost[node]
            end = start + length + 1
            if candidate < cost[end]:
                cost[end] = candidate
                back[end] = start
                back_node[end] = node


@njit
def segment_runs(codes, offsets, first_child, letters, word_cost, max_word, unknown_cost, part_start, part_end,
                 n_parts):  # pragma: no cover
    """Per run of ``a``-``z`` bytes (``codes[offsets[r]:offsets[r + 1]]``): the most probable split into words
    (:func:`_viterbi`). Words have at most ``max_word`` letters; a character no word covers costs
    ``unknown_cost``. The parts of all runs, left to right, are ``codes[part_start[i]:part_end[i]]``; run ``r``
    has ``n_parts[r]`` of them."""
    longest = 0
    for r in range(offsets.shape[0] - 1):
        longest = max(longest, offsets[r + 1] - offsets[r])
    cost = np.empty(longest + 1)
    back = np.empty(longest + 1, dtype=np.int64)  # back[end]: where the best part ending at end starts
    back_node = np.empty(longest + 1, dtype=np.int64)
    written = 0
    for r in range(offsets.shape[0] - 1):
        lo = offsets[r]
        n = offsets[r + 1] - lo
        _viterbi(codes, lo, n, first_child, letters, word_cost, max_word, unknown_cost, cost, back, back_node)
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


@njit
def word_stats(codes, offsets, first_child, letters, word_cost, node_zipf, max_word, unknown_cost, count, covered,
               low, total, longest, first_node, last_node, first_length):  # pragma: no cover
    """Per core (``codes[offsets[i]:offsets[i + 1]]``): its vocabulary words, the parts of the :func:`_viterbi`
    splits of its runs of ``a``-``z`` that are vocabulary words, left to right; writes their number, total
    length, lowest and summed ``node_zipf`` (added left to right, as Python's ``sum``), the longest length, the
    trie nodes of the first and last word (-1 when none) and the length of the first."""
    widest = 0
    for i in range(offsets.shape[0] - 1):
        widest = max(widest, offsets[i + 1] - offsets[i])
    cost = np.empty(widest + 1)
    back = np.empty(widest + 1, dtype=np.int64)
    back_node = np.empty(widest + 1, dtype=np.int64)
    ends = np.empty(widest + 1, dtype=np.int64)
    for i in range(offsets.shape[0] - 1):
        k = 0
        size = 0
        lo_z = np.nan
        sum_z = 0.0
        most = 0
        first = -1
        last = -1
        first_size = 0
        pos = offsets[i]
        stop = offsets[i + 1]
        while pos < stop:
            if codes[pos] < 97 or codes[pos] > 122:
                pos += 1
                continue
            run = pos  # a maximal run of letters
            while pos < stop and 97 <= codes[pos] <= 122:
                pos += 1
            n = pos - run
            _viterbi(codes, run, n, first_child, letters, word_cost, max_word, unknown_cost, cost, back, back_node)
            m = 0
            end = n
            while end > 0:  # the parts' ends, right to left
                ends[m] = end
                m += 1
                end = back[end]
            for j in range(m - 1, -1, -1):  # left to right
                end = ends[j]
                node = back_node[end]
                length = end - back[end]
                if node < 0:  # a character no word covers: kept all the same if it is a word ("a", "i")
                    c = np.int64(codes[run + end - 1]) - 97
                    present = letters[0]
                    if (present >> c) & 1:
                        node = first_child[0] + _popcount(present & ((np.int64(1) << c) - 1))
                        if not word_cost[node] < np.inf:
                            node = -1
                if node < 0:
                    continue
                z = node_zipf[node]
                if k == 0:
                    lo_z = z
                    first = node
                    first_size = length
                elif z < lo_z:
                    lo_z = z
                sum_z += z
                k += 1
                size += length
                most = max(most, length)
                last = node
        count[i] = k
        covered[i] = size
        low[i] = lo_z
        total[i] = sum_z
        longest[i] = most
        first_node[i] = first
        last_node[i] = last
        first_length[i] = first_size
