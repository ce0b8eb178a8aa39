"""Run nbgrader's own command line in a course folder, with this environment's interpreter."""
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["NbgraderError", "run_nbgrader", "interpreter_path", "use_interpreter_path"]


def interpreter_path(path=None):
    """``path`` (default: ``$PATH``) with this interpreter's bin folder first: nbgrader runs the
    ``alembic`` and ``jupyter`` commands of its environment, also when the venv is not
    activated."""
    here = str(Path(sys.executable).parent)
    rest = [p for p in (os.environ.get("PATH", "") if path is None else path).split(os.pathsep)
            if p and p != here]
    return os.pathsep.join([here, *rest])


def use_interpreter_path():
    """Put this interpreter's bin folder first on this process's ``PATH``, for nbgrader's code
    run in this process (a new gradebook runs ``alembic``)."""
    os.environ["PATH"] = interpreter_path()


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message holds the end of its log, ``log`` all of it."""

    def __init__(self, message, log=""):
        super().__init__(message)
        self.log = log


def run_nbgrader(course_root, *args, timeout=None):
    """Run ``nbgrader ARGS`` in ``course_root`` with this interpreter; return its log.

    Raises:
        NbgraderError: nbgrader exited non-zero (the message ends with its last log lines).
    """
    env = dict(os.environ, PATH=interpreter_path(),
               COURSEKIT_ROOT=str(Path(course_root).resolve()))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_root, env=env,
                          capture_output=True, text=True, timeout=timeout)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        tail = "\n".join(log.splitlines()[-30:])
        raise NbgraderError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{tail}",
                            log=log)
    return log
