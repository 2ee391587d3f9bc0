"""dpm: the open, exact and fast Opgaven & Middelen model (Duurzaam Prestatiemodel).

Packages: ``dpm.model`` (case data, financial projection, the MIP), ``dpm.solvers``
(HiGHS and the lexicographic stage driver), ``dpm.scenarios`` (defaults and embedded cases).
"""
__version__ = "0.1.0"
