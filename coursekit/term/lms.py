r"""Submissions downloaded from an LMS as one zip, collected with ``nbgrader zip_collect``.

The zip goes to ``downloaded/<assignment>/archive/``; nbgrader extracts it to
``downloaded/<assignment>/extracted/`` and files each file whose name matches
:data:`LMS_REGEXP` under ``submitted/<student>/<assignment>/``.

The expected naming is Canvas's "Download submissions" one, flat files named
``<student>_[late_]<user id>_<submission id>_<file name>``, e.g.
``smithjane_4711_123456_two_layer_net.ipynb`` or ``smithjane_late_4711_123456_best_model.pt``;
a ``-<n>`` that the LMS appends to a resubmitted file's name (``two_layer_net-1.ipynb``) is
dropped. The student id is everything before the first ``_<digits>_<digits>_`` (or
``_late_<digits>_<digits>_``), so it may itself hold underscores. Other LMSs: pass your own
regular expression with the named groups ``student_id`` and ``file_id`` (nbgrader's
``FileNameCollectorPlugin.named_regexp``; it is matched against the file's full path).

    coursekit collect-zip two_layer_net submissions.zip
"""
import shutil
from pathlib import Path

from coursekit.course import commands

__all__ = ["LMS_REGEXP", "COLLECTED_EXTENSIONS", "collect_zip"]

LMS_REGEXP = (r".*/(?P<student_id>[^/]+?)_(?:late_|LATE_)?\d+_\d+_"
              r"(?P<file_id>[^/]+?)(?:-\d+)?\.[^./]+$")

# nbgrader collects only notebooks by default; the checkpoint is part of the submission.
COLLECTED_EXTENSIONS = (".ipynb", ".pt")


def collect_zip(course_root, assignment_id, zip_path, regexp=LMS_REGEXP):
    """Put ``zip_path`` in ``downloaded/<assignment>/archive/`` and run ``nbgrader zip_collect``.

    Returns:
        sorted student ids whose files the zip held (as the regular expression found them).

    Raises:
        FileNotFoundError: no such zip, or the assignment was never released here.
        ValueError: ``regexp`` lacks the ``student_id`` or ``file_id`` group.
    """
    import re

    zip_path, root = Path(zip_path), Path(course_root)
    if not zip_path.is_file():
        raise FileNotFoundError(f"no zip file {zip_path}; give the path of the LMS download.")
    if not (root / "release" / assignment_id).is_dir():
        raise FileNotFoundError(f"{root / 'release' / assignment_id} is missing: release the "
                                f"assignment first (coursekit release); nbgrader checks the "
                                f"collected notebooks' names against it.")
    pattern = re.compile(regexp)
    if not {"student_id", "file_id"} <= set(pattern.groupindex):
        raise ValueError("the regular expression needs the named groups (?P<student_id>...) "
                         "and (?P<file_id>...)")
    archive = root / "downloaded" / assignment_id / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    shutil.copy2(zip_path, archive / zip_path.name)
    extensions = "[" + ", ".join(repr(ext) for ext in COLLECTED_EXTENSIONS) + "]"
    commands.run_nbgrader(root, "zip_collect", assignment_id, "--force",
                         f"--FileNameCollectorPlugin.named_regexp={regexp}",
                         f"--FileNameCollectorPlugin.valid_ext={extensions}")
    extracted = root / "downloaded" / assignment_id / "extracted"
    students = set()
    for path in extracted.rglob("*"):
        match = pattern.match(str(path.resolve())) if path.is_file() else None
        if match and path.suffix in COLLECTED_EXTENSIONS:
            students.add(match.group("student_id"))
    return sorted(students)
