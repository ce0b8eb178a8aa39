"""The status file of an assignment: ``coursekit_status/<a>.json``, one entry per submission.

Every submission ``coursekit autograde`` touched has an entry: ``status`` (``graded``,
``failed``, ``needs_review``), ``reason`` (why it failed), ``notes`` (what preflight repaired,
what verification found), ``withheld`` (cells waiting for an instructor's review, with the
kernel's score and the reason), ``seconds``, ``worker``, ``sandbox``, ``kernels``,
``tampering``, ``suspicious``, ``limits`` (the submission's cgroup, or a WARNING that it had
none), ``memory_peak`` (bytes, all its processes together) and ``timed_out`` (its deadline
ran out: what was graded before counts, the rest scores zero). The file is rewritten
atomically after each submission, so a crash of the master never leaves half of it, and each
read-modify-write of one entry holds an exclusive ``flock`` on ``<a>.json.lock``, so two
masters at once (``coursekit serve`` and a batch) never lose each other's entries.
"""
import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path

__all__ = ["StatusFile", "STATUS_DIR", "STATUSES", "status_folder"]

STATUS_DIR = "coursekit_status"
STATUSES = ("graded", "failed", "needs_review")


def status_folder(root):
    """``<root>/coursekit_status``, made (or repaired) 0700: it holds every submission's
    status, log and reasons, and the service's record, whose exchange folder names are the
    only thing that keeps one student's submission (and its feedback page's name) from
    another (nbgrader makes the folders 0777); nothing in it is for students."""
    folder = Path(root) / STATUS_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        os.chmod(folder, 0o700)
    return folder


class StatusFile:
    """``coursekit_status/<assignment_id>.json`` of the course at ``root``."""

    def __init__(self, root, assignment_id):
        self.path = Path(root) / STATUS_DIR / f"{assignment_id}.json"
        self.log_folder = self.path.parent / assignment_id

    def read(self):
        """``{student: entry}`` (entries that are not dicts are dropped); {} without a file."""
        if not self.path.is_file():
            return {}
        data = json.loads(self.path.read_text())
        if not isinstance(data, dict):
            return {}
        return {student: entry for student, entry in data.items() if isinstance(entry, dict)}

    @contextmanager
    def locked(self):
        """Hold the file's lock (blocking) for a read-modify-write."""
        status_folder(self.path.parent.parent)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def write(self, entries):
        status_folder(self.path.parent.parent)
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(entries, indent=1, sort_keys=True))
        tmp.replace(self.path)

    def record(self, student, entry, log=None):
        """Set ``student``'s entry (and keep ``log``, the end of a failed run's log)."""
        with self.locked():
            entries = self.read()
            entries[student] = entry
            self.write(entries)
        if log:
            self.log_folder.mkdir(parents=True, exist_ok=True)
            (self.log_folder / f"{student}.log").write_text(log)
