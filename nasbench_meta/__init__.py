"""nasbench-meta: tabular NAS benchmarks, meta-trained predictors, a training harness and leaderboards."""
__version__ = "0.1.0"
