"""Run nbgrader's own command line in a course folder, with this environment's interpreter."""
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["NbgraderError", "run_nbgrader"]


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
    # nbgrader runs the ``alembic`` and ``jupyter`` commands of its environment: put this
    # interpreter's bin folder first on PATH, also when the venv is not activated.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = dict(os.environ, PATH=path, COURSEKIT_ROOT=str(Path(course_root).resolve()))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_root, env=env,
                          capture_output=True, text=True, timeout=timeout)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        tail = "\n".join(log.splitlines()[-30:])
        raise NbgraderError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{tail}",
                            log=log)
    return log
