"""The ``nasbench-meta`` command line."""
