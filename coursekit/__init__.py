"""Instructor tools for the course kit: find the course, release, build samples, autograde.

Students never need this package; it holds no secrets either (the reference and the hidden-test
support live in ``assignments/``, which never reaches students).
"""
__all__ = ["course", "hidden", "samples", "grading"]
