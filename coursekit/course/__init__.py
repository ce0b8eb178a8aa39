"""The course: its folder and the nbgrader commands run in it.

- ``paths``: find the course folder (``nbgrader_config.py`` + ``assignments/``), copy it;
- ``commands``: run nbgrader's own command line there.
"""
from coursekit.course.paths import ROOT_ENV, copy_course, find_course_root, is_course_root

__all__ = ["ROOT_ENV", "copy_course", "find_course_root", "is_course_root"]
