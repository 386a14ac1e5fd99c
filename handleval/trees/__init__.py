"""What both models share: bundles on disk (``bundle``: manifest, sha256-checked LightGBM text, no pickle) and
the compiled scoring of their tree ensembles (``forest``, with its numba kernel in ``_kernel``)."""
