"""The course as one object: its folder, its nbgrader settings (read once), its paths.

Like nbgrader's ``CourseDirectory``, :class:`Course` formats every path the kit uses, and it
reads ``nbgrader_config.py`` once: the sandbox settings (``c.Sandbox.*``), the gradebook's URL
(``c.CourseDirectory.db_url``), each assignment's manifest and status file come from here.

    course = Course(".")
    course.submitted("ada", "two_layer_net")   # Path of submitted/ada/two_layer_net
    course.sandbox_limits(memory="2G")         # SandboxLimits: config, then overrides
"""
from functools import cached_property
from pathlib import Path

from coursekit.course.paths import is_course_root

__all__ = ["Course"]

CONFIG = "nbgrader_config.py"
DEFAULT_DB_URL = "sqlite:///gradebook.db"


class Course:
    """The course folder at ``root`` (``nbgrader_config.py`` and ``assignments/``).

    Raises:
        FileNotFoundError: ``root`` is not a course folder.
    """

    def __init__(self, root):
        self.root = Path(root).resolve()
        if not is_course_root(self.root):
            raise FileNotFoundError(f"{self.root} is not a course folder: it needs {CONFIG} "
                                    f"and assignments/.")

    @cached_property
    def config(self):
        """``nbgrader_config.py`` as a traitlets ``Config`` (read once)."""
        from traitlets.config.loader import PyFileConfigLoader

        return PyFileConfigLoader(CONFIG, path=str(self.root)).load_config()

    @property
    def gradebook_url(self):
        """The gradebook's SQLAlchemy URL: ``c.CourseDirectory.db_url`` (default
        ``sqlite:///gradebook.db``), a relative SQLite path made absolute from the course folder
        (nbgrader reads it from the folder it starts in), e.g.
        ``postgresql+psycopg://grader@127.0.0.1:5432/nn_course``."""
        from coursekit.course.gradebook import absolute_url

        return absolute_url(self.config.CourseDirectory.get("db_url") or DEFAULT_DB_URL,
                            self.root)

    @property
    def gradebook_path(self):
        """The SQLite gradebook file, or None when ``db_url`` names a database server."""
        from coursekit.course.gradebook import sqlite_path

        return sqlite_path(self.gradebook_url)

    def has_gradebook(self):
        """Whether the gradebook exists (an SQLite file, or tables on the database server)."""
        from coursekit.course.gradebook import exists

        return exists(self.gradebook_url)

    def snapshot_gradebook(self):
        """A consistent SQLite copy of the gradebook as bytes, for a grading job's private use
        (``coursekit.course.gradebook.snapshot``)."""
        from coursekit.course.gradebook import snapshot

        return snapshot(self.gradebook_url)

    def source(self, assignment_id):
        return self.root / "source" / assignment_id

    def release(self, assignment_id):
        return self.root / "release" / assignment_id

    def submitted(self, student_id=None, assignment_id=None):
        """``submitted/``, ``submitted/<student>/`` or ``submitted/<student>/<assignment>/``."""
        folder = self.root / "submitted"
        for part in (student_id, assignment_id):
            if part is None:
                return folder
            folder = folder / part
        return folder

    def autograded(self, student_id, assignment_id):
        return self.root / "autograded" / student_id / assignment_id

    def assignment_folder(self, assignment_id):
        """``assignments/<a>/``: the instructor-only material (checks, reference, samples)."""
        return self.root / "assignments" / assignment_id

    def manifest(self, assignment_id):
        from coursekit.course.manifest import load_manifest

        return load_manifest(self.root, assignment_id)

    def status(self, assignment_id):
        from coursekit.course.status import StatusFile

        return StatusFile(self.root, assignment_id)

    def sandbox_limits(self, **overrides):
        """``c.Sandbox.*`` of the config, then ``overrides`` (see
        ``coursekit.isolation.settings.sandbox_limits``)."""
        from coursekit.isolation.settings import sandbox_limits

        return sandbox_limits(self.config, **overrides)
