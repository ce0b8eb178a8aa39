"""The student bundle: what students need for an assignment, and nothing of the grader's.

``coursekit student-bundle ASSIGNMENT --out DIR`` writes::

    DIR/README.md               install, open, check, submit, get feedback (student/README.md.in)
    DIR/requirements.txt        exact versions for students, from the kit's requirements.txt
    DIR/nbgrader_config.py      the course's per-cell time limit and what the self-check needs
    DIR/wheels/usefuns-V-py3-none-any.whl   the helper package, built from usefuns/ alone
    DIR/ASSIGNMENT/             release/ASSIGNMENT/: the student notebook and its files

Nothing comes from ``source/``, ``assignments/`` or ``coursekit/``: the notebook and its files
are nbgrader's release (no solutions, no hidden tests); the wheel is built with setuptools
(``pip wheel --no-deps``) from a staged copy of ``usefuns/`` with a pyproject of its own, since
the kit's pyproject packages ``coursekit`` too; the two texts are the course's templates in
``student/``, filled with settings read from the course's ``nbgrader_config.py`` (the
README's feedback section states the course's ``c.Serve`` limit of graded tries).

Every version is the kit's: ``requirements.txt`` pins what the notebook and the student's tools
need (:data:`STUDENT_PACKAGES` and everything they require, as installed here), each at the
version of the kit's ``requirements.txt``, so students compute with the grader's numerics.
"""
import os
import re
import shutil
import string
import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

__all__ = ["STUDENT_PACKAGES", "STUDENT_SETTINGS", "student_requirements", "build_usefuns_wheel",
           "student_config", "graded_tries_rule", "student_texts", "write_bundle"]

# What students install: the notebook's imports (torch, usefuns' numpy, matplotlib and
# scikit-learn, tqdm's progress bars, which need ipywidgets), a kernel and JupyterLab to run
# it, and nbgrader for the self-check (``nbgrader validate``, the Validate button).
STUDENT_PACKAGES = ("torch", "numpy", "matplotlib", "scikit-learn", "tqdm", "ipywidgets",
                    "ipykernel", "jupyterlab", "nbgrader")

# Course settings the students' nbgrader_config.py repeats ("Class.trait"; nbgrader's default
# where the course sets none): the self-check must run as the grader does.
STUDENT_SETTINGS = ("Execute.timeout", "Execute.interrupt_on_timeout", "Validator.validate_all")


def _normal(name):
    """A distribution name as PEP 503 compares them (``Scikit_Learn`` -> ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(requirements):
    """``{normal name: "name==version"}`` of the exact pins in a requirements file."""
    pins = {}
    for line in Path(requirements).read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            pins[_normal(line.split("==")[0].split("[")[0])] = line
    return pins


def _closure(names):
    """Normal names of ``names`` and of everything they require here (markers, extras)."""
    from packaging.requirements import Requirement

    done, todo = {}, [(name, "") for name in names]
    while todo:
        name, extra = todo.pop()
        key = _normal(name)
        if extra in done.setdefault(key, set()):
            continue
        done[key].add(extra)
        for text in metadata.distribution(name).requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": extra}):
                todo += [(req.name, wanted) for wanted in ("", *req.extras)]
    return sorted(done)


def student_requirements(root, packages=STUDENT_PACKAGES):
    """The text of the students' ``requirements.txt``.

    Args:
        root: the course folder (its ``requirements.txt`` holds the pins).
        packages: what students need; everything they require comes too.

    Raises:
        ValueError: a package students need is not installed here (the closure is read from
            this environment's metadata: run in the kit's virtual environment).
    """
    pins = _pins(Path(root) / "requirements.txt")
    try:
        needed = _closure(packages)
    except metadata.PackageNotFoundError as err:
        raise ValueError(f"{err.args[0]} is not installed in {sys.prefix}: run coursekit from "
                         f"the kit's environment (make venv) to read what students need.") from None
    unpinned = [name for name in needed if name not in pins]
    lines = ["# The packages of this assignment, at the versions that the grader uses.",
             "# Install them with:  python -m pip install -r requirements.txt",
             "--find-links wheels", f"usefuns=={_kit_version(root)}"]
    lines += [pins[name] for name in needed if name in pins]
    if unpinned:
        lines += ["# not pinned by the course:"] + unpinned
    return "\n".join(lines) + "\n"


def _kit_project(root):
    return tomllib.loads((Path(root) / "pyproject.toml").read_text())["project"]


def _kit_version(root):
    return _kit_project(root)["version"]


def build_usefuns_wheel(root, dest):
    """Build ``usefuns-<kit version>-py3-none-any.whl`` into ``dest`` from ``usefuns/`` alone.

    The staged project holds only ``usefuns/*.py`` and a minimal pyproject (name, the kit's
    version, Python requirement and dependencies); setuptools builds it without network.

    Returns:
        the wheel's ``Path``.

    Raises:
        RuntimeError: pip or setuptools failed (the message ends with their output).
    """
    project = _kit_project(root)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="usefuns-wheel-") as stage:
        stage = Path(stage)
        shutil.copytree(Path(root) / "usefuns", stage / "usefuns",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        dependencies = ", ".join(f'"{d}"' for d in project.get("dependencies", []))
        (stage / "pyproject.toml").write_text(
            '[build-system]\nrequires = ["setuptools>=61"]\n'
            'build-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "usefuns"\nversion = "{project["version"]}"\n'
            'description = "Helpers of the two-layer neural network assignment"\n'
            f'requires-python = "{project.get("requires-python", ">=3.11")}"\n'
            f"dependencies = [{dependencies}]\n\n"
            '[tool.setuptools]\npackages = ["usefuns"]\n')
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                               "--no-build-isolation", "--disable-pip-version-check", "-q",
                               "--wheel-dir", str(dest), str(stage)],
                              capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("building the usefuns wheel failed (pip wheel needs setuptools in "
                           f"this environment):\n{(proc.stdout + proc.stderr)[-2000:]}")
    return next(dest.glob(f"usefuns-{project['version']}-*.whl"))


def _course_config(root):
    """The course's nbgrader config, read as nbgrader reads it (its test override ignored)."""
    from traitlets.config.loader import PyFileConfigLoader

    saved = os.environ.pop("COURSEKIT_CELL_TIMEOUT", None)  # a test's short limit, not the course's
    try:
        return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    finally:
        if saved is not None:
            os.environ["COURSEKIT_CELL_TIMEOUT"] = saved


def student_config(config):
    """``{"Class_trait": repr(value)}`` of :data:`STUDENT_SETTINGS` in the course's nbgrader
    ``config`` (a traitlets ``Config``), or nbgrader's default where it sets none."""
    from nbgrader.preprocessors import Execute
    from nbgrader.validator import Validator

    from usefuns import stderr

    classes = {"Execute": Execute, "Validator": Validator}
    values = {}
    for setting in STUDENT_SETTINGS:
        section, trait = setting.split(".")
        if trait in config.get(section, {}):
            value = config[section][trait]
        else:
            value = classes[section].class_traits()[trait].default_value
        values[setting.replace(".", "_")] = repr(value)
    values["stderr_fails_cells"] = repr(stderr.fails_cells())
    return values


def _submit_files(config, assignment_id):
    """How the README names what students hand in beside the notebook."""
    files = config.Autograde.get("exclude_overwriting", {}).get(assignment_id, [])
    return " and ".join(f"`{assignment_id}/{name}`" for name in files) or "nothing else"


def _number(value):
    """``24.0`` -> ``"24"``, ``1.5`` -> ``"1.5"``."""
    return f"{value:g}"


def graded_tries_rule(config):
    """The course's limit of graded tries in words, from ``c.Serve`` of ``config``:
    ``"3 graded tries per 24 hours"``, ``"1 graded try per 1.5 hours"``, ``"no limit on
    graded tries"``.

    Raises:
        ValueError: a ``c.Serve`` setting unknown or out of range
            (``coursekit.serve.settings.serve_config``).
    """
    from coursekit.serve.settings import serve_config

    serve = serve_config(config)
    if serve.graded_tries == 0:
        return "no limit on graded tries"
    tries = "1 graded try" if serve.graded_tries == 1 else f"{serve.graded_tries} graded tries"
    hours = "hour" if serve.period_hours == 1 else f"{_number(serve.period_hours)} hours"
    return f"{tries} per {hours}"


def student_texts(root, assignment_id):
    """``{"README.md": text, "nbgrader_config.py": text}``: the course's templates in
    ``student/`` filled with the assignment's names and the course's settings."""
    root = Path(root)
    notebook = sorted((root / "release" / assignment_id).glob("*.ipynb"))[0]
    config = _course_config(root)
    values = {"assignment": assignment_id, "notebook": f"{assignment_id}/{notebook.name}",
              "python": _kit_project(root).get("requires-python", ">=3.11").lstrip(">="),
              "torch": _pins(root / "requirements.txt")["torch"].split("==")[1],
              "submit_files": _submit_files(config, assignment_id),
              "course_id": config.CourseDirectory.get("course_id") or "COURSE_ID",
              "graded_tries": graded_tries_rule(config),
              **student_config(config)}
    values["timeout"] = values["Execute_timeout"]
    return {name: string.Template((root / "student" / f"{name}.in").read_text()).substitute(
        values) for name in ("README.md", "nbgrader_config.py")}


def write_bundle(root, assignment_id, out):
    """Write the student bundle of ``assignment_id`` into the new or empty folder ``out``.

    Returns:
        sorted list of the written files' ``Path``s.

    Raises:
        FileNotFoundError: no ``release/<assignment>/`` notebook (run ``coursekit release``).
        ValueError: ``out`` is a file or a folder that is not empty.
    """
    root, out = Path(root), Path(out)
    release = root / "release" / assignment_id
    notebooks = sorted(release.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebook in {release}: run `coursekit release` first.")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} exists and is not an empty folder; delete it or give "
                         f"another --out (the bundle is written from scratch).")
    missing = [part for part in ("pyproject.toml", "requirements.txt", "usefuns", "student")
               if not (root / part).exists()]
    if missing:
        raise FileNotFoundError(f"{root} has no {', '.join(missing)}: make the bundle in the "
                                f"kit's own folder (the clone the course runs from), which "
                                f"builds the usefuns wheel and pins the students' packages")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:  # written aside, then moved into place: a failure leaves no half bundle behind
        shutil.copytree(release, work / assignment_id,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        build_usefuns_wheel(root, work / "wheels")
        (work / "requirements.txt").write_text(student_requirements(root))
        for name, text in student_texts(root, assignment_id).items():
            (work / name).write_text(text)
        os.chmod(work, 0o755)
        if out.exists():
            out.rmdir()  # empty, checked above
        work.rename(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return sorted(p for p in out.rglob("*") if p.is_file())
