"""The compiled loop of :mod:`handleval.forest`, in a module of its own so numba loads only when it is used."""

import numba


@numba.njit(cache=True, nogil=True)
def accumulate(leaves, leaf_offset, indptr, indices, data, leaf_value, prediction, attributions):  # pragma: no cover
    """Per row: the sum of its leaves' values into ``prediction`` and of their path vectors (CSR rows
    ``indptr``/``indices``/``data``) into ``attributions``, both written in place."""
    for r in range(leaves.shape[0]):
        total = 0.0
        for t in range(leaves.shape[1]):
            leaf = leaf_offset[t] + leaves[r, t]
            total += leaf_value[leaf]
            for k in range(indptr[leaf], indptr[leaf + 1]):
                attributions[r, indices[k]] += data[k]
        prediction[r] = total
