"""The course: its folder and settings, each assignment's manifest and status file.

- ``paths``: find the course folder (``nbgrader_config.py`` + ``assignments/``), copy it;
- ``course``: :class:`~coursekit.course.course.Course`, the folder's paths and settings;
- ``manifest``: what is graded how (``assignments/<a>/manifest.toml``);
- ``status``: the status file of a batch (``coursekit_status/<a>.json``);
- ``commands``: run nbgrader's own command line there.
"""
from coursekit.course.paths import ROOT_ENV, copy_course, find_course_root, is_course_root

__all__ = ["ROOT_ENV", "copy_course", "find_course_root", "is_course_root"]
