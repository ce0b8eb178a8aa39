"""Where the course lives: the folder with ``nbgrader_config.py``, ``source/`` and ``assignments/``.

The repository root is the nbgrader course folder. Tools and hidden tests find it from the
environment variable ``COURSEKIT_ROOT`` or by walking up from the current folder, which works both
in ``source/<assignment>/`` (nbval) and in ``autograded/<student>/<assignment>/`` (nbgrader).
"""
import os
from pathlib import Path

__all__ = ["ROOT_ENV", "find_course_root", "is_course_root", "copy_course"]

ROOT_ENV = "COURSEKIT_ROOT"


def is_course_root(path):
    """True when ``path`` holds ``nbgrader_config.py`` and an ``assignments/`` folder."""
    path = Path(path)
    return (path / "nbgrader_config.py").is_file() and (path / "assignments").is_dir()


def find_course_root(start=None):
    """The course folder (a ``Path``) above ``start`` (default: the current folder).

    Raises:
        FileNotFoundError: neither ``COURSEKIT_ROOT`` nor any parent folder is a course root.
    """
    forced = os.environ.get(ROOT_ENV)
    if forced:
        if not is_course_root(forced):
            raise FileNotFoundError(
                f"{ROOT_ENV}={forced!r} is not a course folder (it needs nbgrader_config.py and "
                f"assignments/); point it at the kit's top folder or unset it.")
        return Path(forced).resolve()
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if is_course_root(folder):
            return folder
    raise FileNotFoundError(
        f"no course folder above {here}: run from inside the kit (the folder with "
        f"nbgrader_config.py and assignments/) or set {ROOT_ENV} to it.")


COURSE_PARTS = ("nbgrader_config.py", "source", "assignments")


def copy_course(root, dest):
    """Copy the instructor's parts of the course at ``root`` into a fresh folder ``dest``.

    Only ``nbgrader_config.py``, ``source/`` and ``assignments/`` are copied: a scratch course
    for a demo or a test, with its own gradebook, never touches the real one.

    Returns:
        ``dest`` as a ``Path``.
    """
    import shutil

    root, dest = Path(root), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
    for part in COURSE_PARTS:
        src = root / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=ignore, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dest / part)
    return dest
