"""An assignment's manifest (``assignments/<a>/manifest.toml``): what is graded how.

The one place that says, for every graded cell of the notebook, who decides its score and how:
the check it calls and the student functions it is given (``grader = "check"``), the visible
test code the grader re-runs (``"visible"``), or a person (``"manual"``); and the files students
submit beside the notebook and the demo's sample students. Verification, preflight, the demo
and ``nbgrader_config.py`` read it; ``tests/course/test_manifest.py`` proves that the notebook,
the manifest and the check modules agree. The file's own comments document the format.

    manifest = load_manifest(course_root, "two_layer_net")
    manifest.cells["grads_hidden"].check      # ("checks", "check_grads")
"""
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CellSpec", "Manifest", "ManifestError", "load_manifest", "MANIFEST"]

MANIFEST = "manifest.toml"
GRADERS = ("check", "visible", "manual")
CELL_KEYS = {"grader", "check", "uses", "args", "kwargs", "constants", "score"}
TOP_KEYS = {"notebook", "student_files", "demo_samples", "reference", "cells"}


class ManifestError(ValueError):
    """The manifest is missing or malformed; the message says where and how to fix it."""


@dataclass(frozen=True)
class CellSpec:
    """How one graded cell is scored.

    Attributes:
        grade_id: the cell's nbgrader ``grade_id``.
        grader: ``"check"``, ``"visible"`` or ``"manual"``.
        check: ``(module, function)`` of the assignment's check package (``"check"`` only).
        uses: the student functions it is given, in order.
        args, kwargs: further arguments (``"{submission}"`` is the submitted folder).
        constants: names of the instructor's literal constants passed after ``args``.
        returns_score: the check returns points instead of passing or raising.
    """
    grade_id: str
    grader: str
    check: tuple = None
    uses: tuple = ()
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    constants: tuple = ()
    returns_score: bool = False

    @property
    def graded_outside(self):
        """Whether the grader, outside the kernel, decides this cell's score."""
        return self.grader in ("check", "visible")


@dataclass(frozen=True)
class Manifest:
    """One assignment's manifest (see the module docstring)."""
    assignment: str
    folder: Path
    notebook: str
    student_files: tuple
    demo_samples: tuple
    cells: dict  # grade_id -> CellSpec
    # the reference implementation (a file of the folder): the grader's control when a check
    # raises (coursekit.engine.verify.runner)
    reference: str = "reference.py"


def _cell(where, grade_id, raw):
    unknown = sorted(set(raw) - CELL_KEYS)
    if unknown:
        raise ManifestError(f"{where}: [cells.{grade_id}] has unknown keys {unknown}; known: "
                            f"{sorted(CELL_KEYS)}")
    grader = raw.get("grader")
    if grader not in GRADERS:
        raise ManifestError(f"{where}: [cells.{grade_id}] grader = {grader!r}; use one of "
                            f"{', '.join(GRADERS)}")
    check = raw.get("check")
    if grader == "check":
        if not (isinstance(check, str) and check.count(":") == 1):
            raise ManifestError(f"{where}: [cells.{grade_id}] needs check = \"module:function\"")
        check = tuple(check.split(":"))
    elif check is not None:
        raise ManifestError(f"{where}: [cells.{grade_id}] has a check but grader = {grader!r}")
    score = raw.get("score")
    if score not in (None, "returned"):
        raise ManifestError(f"{where}: [cells.{grade_id}] score = {score!r}; use \"returned\" "
                            f"or leave it out")
    lists = {key: raw.get(key, []) for key in ("uses", "args", "constants")}
    for key, value in lists.items():
        if not isinstance(value, list):
            raise ManifestError(f"{where}: [cells.{grade_id}] {key} must be a list")
    if not isinstance(raw.get("kwargs", {}), dict):
        raise ManifestError(f"{where}: [cells.{grade_id}] kwargs must be a table")
    return CellSpec(grade_id, grader, check, tuple(lists["uses"]), tuple(lists["args"]),
                    dict(raw.get("kwargs", {})), tuple(lists["constants"]), score == "returned")


def load_manifest(course_root, assignment_id):
    """The manifest of ``assignments/<assignment_id>/``.

    Raises:
        ManifestError: missing, not TOML, or malformed (the message names the key).
    """
    folder = Path(course_root) / "assignments" / assignment_id
    path = folder / MANIFEST
    if not path.is_file():
        raise ManifestError(f"{path} is missing: every assignment needs a manifest that says "
                            f"how each graded cell is scored (see assignments/two_layer_net/"
                            f"{MANIFEST})")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ManifestError(f"{path} is not valid TOML: {err}") from None
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise ManifestError(f"{path}: unknown keys {unknown}; known: {sorted(TOP_KEYS)}")
    cells = {gid: _cell(path, gid, spec) for gid, spec in raw.get("cells", {}).items()}
    return Manifest(assignment_id, folder, raw.get("notebook", f"{assignment_id}.ipynb"),
                    tuple(raw.get("student_files", [])), tuple(raw.get("demo_samples", [])),
                    cells, raw.get("reference", "reference.py"))


def exclude_overwriting(course_root):
    """``{assignment: [student files]}`` of every manifest under ``assignments/``: the value of
    nbgrader's ``Autograde.exclude_overwriting`` (a submitted checkpoint is never replaced by
    a file of the same name from ``source/``)."""
    found = {}
    for path in sorted(Path(course_root).glob(f"assignments/*/{MANIFEST}")):
        manifest = load_manifest(course_root, path.parent.name)
        if manifest.student_files:
            found[manifest.assignment] = list(manifest.student_files)
    return found
