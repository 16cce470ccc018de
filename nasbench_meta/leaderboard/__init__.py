"""Verified leaderboards: submissions are re-scored from the tables, stored one file per entry,
and rendered deterministically to Markdown, HTML and SVG.

Modules: ``schema`` (the submission envelope), ``verify`` (re-scoring and rejection reasons),
``storage`` (boards directory, atomic writes, duplicates), ``boards`` (aggregation), ``render``
(README.md, index.html, plots), ``actions`` (what the CLI commands and the demo stage do).
"""
from nasbench_meta.leaderboard.actions import check_all, demo_stage, render_all, submit, validate
from nasbench_meta.leaderboard.schema import Problem, SubmissionRejected, load_submission, make_submission
from nasbench_meta.leaderboard.storage import BoardStore, default_boards_dir
from nasbench_meta.leaderboard.verify import Verdict, verify_submission

__all__ = ["BoardStore", "Problem", "SubmissionRejected", "Verdict", "check_all", "default_boards_dir", "demo_stage",
           "load_submission", "make_submission", "render_all", "submit", "validate", "verify_submission"]
