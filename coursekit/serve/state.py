"""The service's own record of what it has seen and done, and the lock that keeps it alone.

``coursekit_status/<assignment>.serve.json`` holds one entry per inbound submission (keyed by
its exchange folder name, ``<student>+<assignment>+<timestamp>+<random>``)::

    {"student": "ada", "timestamp": "2026-12-01 10:15:00.123456 UTC",
     "owner": "ada", "arrived": 1764584100.0,
     "status": "received" | "grading" | "graded" | "released" | "over_limit" | "superseded"
               | "refused" | "late",
     "verdict": "graded" | "needs_review" | "failed", "counted": true,
     "received_at": 1764584100.1, "graded_at": ..., "released_at": ..., "score": 42.5,
     "max_score": 50.0, "reason": null, "next_try": null}

``status`` is how far the service got; ``verdict`` what the grader said (as in
``coursekit_status/<assignment>.json``); ``counted``: a graded try (for ``c.Serve.graded_tries``).

Every change is written at once, atomically (a temporary file, ``fsync``, ``rename``), so a
service killed at any moment finds on restart every submission it had seen, in the last state
it reached. ``coursekit_status/<assignment>.serve.lock`` is held (``flock``) while a service
runs; the kernel releases it when the process dies, however it dies.
"""
import contextlib
import fcntl
import json
import os
import time
from pathlib import Path

__all__ = ["STATUSES", "ServeRecord", "ServiceLock", "ServiceRunning", "holder"]

# received: seen, waiting; grading: handed to the grader; graded: the grader's verdict is in the
# gradebook and the status file; released: its feedback (or, failed, a notice why) is in the
# exchange; over_limit: not graded (too many tries), a notice released; superseded: a newer
# submission of the same student came before this one was graded, a notice released; refused:
# not a submission nbgrader made, or sent from another student's account; late: arrived after
# the due date (coursekit.serve.admission), a notice released.
STATUSES = ("received", "grading", "graded", "released", "over_limit", "superseded", "refused",
            "late")
DONE = ("released", "over_limit", "superseded", "refused", "late")


def _folder(course_root):
    from coursekit.course.status import status_folder

    return status_folder(course_root)


class ServeRecord:
    """The entries of ``coursekit_status/<assignment_id>.serve.json``, written on every change."""

    def __init__(self, course_root, assignment_id):
        self.path = _folder(course_root) / f"{assignment_id}.serve.json"
        self.entries = {}
        if self.path.is_file():
            data = json.loads(self.path.read_text() or "{}")
            self.entries = {k: v for k, v in data.get("submissions", {}).items()
                            if isinstance(v, dict) and v.get("status") in STATUSES}

    def save(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "w") as out:
            json.dump({"submissions": self.entries}, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)

    def update(self, name, **fields):
        """Set ``fields`` of the entry ``name`` (created if new) and save at once (inside
        :meth:`deferred`: at its end)."""
        self.entries.setdefault(name, {}).update(fields)
        if getattr(self, "_deferred", 0):
            self._dirty = True
        else:
            self.save()
        return self.entries[name]

    @contextlib.contextmanager
    def deferred(self):
        """Save once at the end of the block instead of at every update: a step that records
        many entries (a flood of thousands of folders) writes the record once, not once per
        entry. A kill inside the block loses only that step, which the next pass repeats."""
        self._deferred = getattr(self, "_deferred", 0) + 1
        try:
            yield self
        finally:
            self._deferred -= 1
            if not self._deferred and getattr(self, "_dirty", False):
                self._dirty = False
                self.save()

    def with_status(self, *statuses):
        """``{name: entry}`` of the entries in one of ``statuses``."""
        return {k: v for k, v in self.entries.items() if v["status"] in statuses}


class ServiceRunning(RuntimeError):
    """Another service holds the lock of this course and assignment."""


class ServiceLock:
    """An exclusive ``flock`` on ``coursekit_status/<assignment_id>.serve.lock``.

    Raises:
        ServiceRunning: (on entering) another process holds it; the message names its pid.
    """

    def __init__(self, course_root, assignment_id):
        self.path = _folder(course_root) / f"{assignment_id}.serve.lock"
        self._fd = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ServiceRunning(f"another coursekit serve (pid {holder}) is serving this "
                                 f"assignment ({self.path} is locked); stop it first, one "
                                 f"service per course and assignment") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc):
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def holder(course_root, assignment_id):
    """The pid of the service that holds the lock of ``assignment_id`` now, or None.

    A non-blocking probe: it takes a shared ``flock`` on
    ``coursekit_status/<assignment_id>.serve.lock`` (never creating the file) and lets it go at
    once. A service that starts in that very instant finds the lock taken and refuses to run;
    start it again.

    Returns:
        the holder's pid (int), -1 when the file is locked but no pid is written in it yet (a
        service in its first instant), None when no process holds the lock.
    """
    from coursekit.course.status import STATUS_DIR

    path = Path(course_root) / STATUS_DIR / f"{assignment_id}.serve.lock"  # made by nothing
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            for _ in range(20):  # the holder writes its pid right after taking the lock
                text = os.pread(fd, 64, 0).decode(errors="replace").strip()
                if text.isdigit():
                    return int(text)
                time.sleep(0.05)
            return -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
