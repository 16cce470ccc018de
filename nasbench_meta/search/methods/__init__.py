"""Built-in NAS methods (baselines); look them up with ``nasbench_meta.search.method_class``."""
