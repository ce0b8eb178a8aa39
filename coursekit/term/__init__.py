"""A term's chores around grading.

- ``demo``: the README's main job (``coursekit demo``) and ``grade-samples``;
- ``samples``: sample submissions built from ``assignments/<a>/samples/``;
- ``exchange``: nbgrader's exchange (release, fetch, submit, collect);
- ``lms``: LMS zips into ``submitted/``.
"""
__all__ = ["demo", "exchange", "lms", "samples"]
