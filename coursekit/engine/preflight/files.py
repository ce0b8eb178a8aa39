"""The files beside the notebook: extra, missing, too big, or nbgrader's own.

nbgrader 0.9.6 writes ``timestamp.txt`` and ``submission_secret.txt`` into every submission
that passes through its exchange (``exchange/default/submit.py``; ``zip_collect`` writes
``timestamp.txt`` too), and its autograde neither copies nor grades what matches
``CourseDirectory.ignore`` (by default ``.ipynb_checkpoints``, ``*.pyc``, ``__pycache__`` and
``feedback``, where ``fetch_feedback`` puts a student's feedback): none of these is a student's
extra file. Every other file is: nbgrader's autograde copies it, whatever its size, so a file
over ``max_file_size`` is set aside here first.
"""
import fnmatch

from .reading import megabytes

__all__ = ["NBGRADER_FILES", "DEFAULT_IGNORE", "is_nbgrader_file", "check_files"]

NBGRADER_FILES = frozenset({"timestamp.txt", "submission_secret.txt"})
DEFAULT_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")


def is_nbgrader_file(rel, ignore=DEFAULT_IGNORE):
    """Whether ``rel`` (a path relative to the submission, with ``/``) is written by nbgrader
    at the top of the submission or lies under a name that nbgrader ignores."""
    parts = rel.split("/")
    if len(parts) == 1 and rel in NBGRADER_FILES:
        return True
    return any(fnmatch.fnmatchcase(part, glob) for part in parts for glob in ignore)


def check_files(folder, notebook_name, student_files, release_files, max_file_size, notes,
                ignore=DEFAULT_IGNORE):
    """Note extra and missing files; set aside (delete) files over ``max_file_size`` bytes."""
    expected = set(student_files) | set(release_files) | {notebook_name}
    extra, big = [], []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel == notebook_name or is_nbgrader_file(rel, ignore):
            continue
        size = path.stat().st_size
        if max_file_size is not None and size > max_file_size:
            big.append(f"{rel} ({megabytes(size)})")
            path.unlink()
        elif rel not in expected:
            extra.append(f"{rel} ({megabytes(size)})" if size >= 100_000 else rel)
    if big:
        notes.append(f"ignored files over max_file_size ({megabytes(max_file_size)}): "
                     f"{', '.join(big[:10])}")
    if extra:
        more = f" and {len(extra) - 10} more" if len(extra) > 10 else ""
        notes.append(f"extra files (not graded): {', '.join(extra[:10])}{more}")
    missing = sorted(name for name in student_files if not (folder / name).is_file())
    if missing:
        notes.append(f"missing {', '.join(missing)}: the tests that need "
                     f"{'them' if len(missing) > 1 else 'it'} score 0")
