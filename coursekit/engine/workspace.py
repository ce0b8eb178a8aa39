"""The prepare stage's material: files packed by the master, unpacked into a private course.

A job carries its files as bytes (no shared filesystem needed): the course's instructor parts
(:func:`pack_course`, which leaves out the samples: nothing a grading task needs, and nothing a
kernel without a sandbox should find), a consistent snapshot of the gradebook, and the student's
submitted folder. :func:`unpack` makes the worker's private course; :func:`read_files` collects
what nbgrader wrote for the submission.
"""
import io
import re
import sqlite3
import tarfile
import tempfile
from pathlib import Path

__all__ = ["pack", "pack_course", "unpack", "snapshot_gradebook", "read_files"]

SKIP = re.compile(r"(^|/)(__pycache__|\.ipynb_checkpoints)(/|$)")


def pack(paths, base, skip=SKIP):
    """A tar (bytes) of files and folders ``paths``, named relative to ``base``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in paths:
            tar.add(path, arcname=str(Path(path).relative_to(base)),
                    filter=lambda info: None if skip.search(info.name) else info)
    return buffer.getvalue()


def pack_course(course, assignment_id):
    """``nbgrader_config.py``, ``source/<a>/``, ``release/<a>/`` and ``assignments/<a>/``
    without ``samples/`` (a tar, bytes)."""
    root = course.root
    paths = [root / "nbgrader_config.py", course.source(assignment_id),
             course.assignment_folder(assignment_id)]
    paths += [p for p in [course.release(assignment_id)] if p.is_dir()]
    skip = re.compile(SKIP.pattern + rf"|^assignments/{re.escape(assignment_id)}/samples(/|$)")
    return pack(paths, root, skip)


def unpack(data, dest):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")


def snapshot_gradebook(db_path):
    """A consistent copy of the SQLite gradebook, as bytes (SQLite's online backup)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "gradebook.db"
        src, dst = sqlite3.connect(db_path), sqlite3.connect(copy)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return copy.read_bytes()


def read_files(folder):
    """``{relative path: (mode, bytes)}`` of every file under ``folder``."""
    return {str(p.relative_to(folder)): (p.stat().st_mode & 0o777, p.read_bytes())
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}
