"""Fitting: lmprobe's fit pipeline on activations (``fit``), the classifiers it builds
(``classifiers``, ``estimators``), scaling and preprocessing, group-lasso layer selection, and the
export of fitted models as arrays (``export``, which also keeps opaque estimators for ``score``).
Imports only ``errors`` from the rest of the worker."""
