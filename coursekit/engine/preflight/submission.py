"""Check and repair one submitted folder: :func:`prepare`, and :func:`prepare_course` for a
course folder's ``submitted/<student>/<assignment>/`` with the course's nbgrader settings."""
import json
from pathlib import Path

import nbformat

from .cells import fix_cells
from .files import DEFAULT_IGNORE, check_files, is_nbgrader_file
from .reading import NotGradable, fix_ids, fix_kernel, megabytes, read_notebook, strip_outputs

__all__ = ["prepare", "prepare_course", "MAX_CLEAN_BYTES"]

MAX_CLEAN_BYTES = 20_000_000  # without outputs, a notebook this big is not an answer


def _missing_notebook(folder, name):
    found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file() and not is_nbgrader_file(p.relative_to(folder).as_posix())
                   ) if folder.is_dir() else []
    others = [f for f in found if f.endswith(".ipynb")]
    hint = f"; if {others[0]} is it, rename it to {name}" if others else ""
    return NotGradable(f"no {name} in the submission (found: "
                       f"{', '.join(found[:10]) or 'no files'}){hint}")


def _strip_grader_metadata(nb, notes):
    """Drop the notebook metadata that the grader's own run writes, ``coursekit`` (incidents,
    cut outputs): a submission must not bring its own, forged or stale."""
    metadata = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    if metadata.pop("coursekit", None) is not None:
        notes.append("set aside: notebook metadata coursekit (the grader's run writes it)")


def _prepare(folder, release_notebook, student_files, max_file_size, ignore, notes):
    folder, release_notebook = Path(folder), Path(release_notebook)
    name = release_notebook.name
    path = folder / name
    if not path.is_file():
        raise _missing_notebook(folder, name)
    release = json.loads(release_notebook.read_text())
    release_files = [p.relative_to(release_notebook.parent).as_posix()
                     for p in release_notebook.parent.rglob("*") if p.is_file()]
    nb, read_notes = read_notebook(path)
    notes += read_notes
    empty = not nb["cells"]
    if empty:
        notes.append(f"empty notebook: {name} has no cells; graded as the blank release "
                     f"notebook (0 points)")
        nb = json.loads(json.dumps(release))
        for other in [p for p in folder.rglob("*") if p.is_file() and p != path
                      and not is_nbgrader_file(p.relative_to(folder).as_posix(), ignore)]:
            other.unlink()
            notes.append(f"{other.relative_to(folder).as_posix()} set aside: the notebook "
                         f"is empty")
    strip_outputs(nb, notes)
    _strip_grader_metadata(nb, notes)
    fix_kernel(nb, release, notes)
    fix_cells(nb, release, notes, name)
    fix_ids(nb, notes)
    try:
        nbformat.validate(nbformat.from_dict(nb))
    except nbformat.ValidationError as err:
        raise NotGradable(f"{name} breaks the notebook format after repairs "
                          f"({str(err).splitlines()[0][:200]}); open and save it in Jupyter, "
                          f"or grade it by hand") from None
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if len(text.encode()) > MAX_CLEAN_BYTES:
        raise NotGradable(f"{name} is {megabytes(len(text.encode()))} even without outputs "
                          f"(huge cell sources); the student must remove what was pasted in")
    path.write_text(text)
    check_files(folder, name, () if empty else student_files, release_files, max_file_size,
                notes, ignore)


def prepare(submission_dir, assignment_id, release_notebook, *, student_files=(),
            max_file_size=100_000_000, ignore=DEFAULT_IGNORE):
    """Check and repair the submission in ``submission_dir`` in place; never raises.

    Args:
        submission_dir: the student's ``submitted/<student>/<assignment>/`` folder (a copy).
        assignment_id: the assignment (for messages).
        release_notebook: the released notebook, the truth for nbgrader cells and kernel.
        student_files: files the student must submit beside the notebook (``best_model.pt``).
        max_file_size: bytes; larger files are deleted from ``submission_dir`` with a note
            (nbgrader's ``CourseDirectory.max_file_size``, in bytes; None: no limit).
        ignore: nbgrader's ``CourseDirectory.ignore`` globs (never extra files).

    Returns:
        ``{"gradable": bool, "notes": [str], "reason": str or None}``.
    """
    notes = []
    try:
        _prepare(submission_dir, release_notebook, student_files, max_file_size, ignore, notes)
    except NotGradable as err:
        return {"gradable": False, "notes": notes, "reason": str(err)}
    except Exception as err:  # noqa: BLE001 - never crash a batch: report it instead
        return {"gradable": False, "notes": notes,
                "reason": f"preflight of {assignment_id} failed ({type(err).__name__}: "
                          f"{str(err)[:200]}); grade this submission by hand"}
    return {"gradable": True, "notes": notes, "reason": None}


def _course_settings(course, assignment_id):
    """(files students submit beside the notebook, max_file_size in bytes, ignore globs) from
    the course's ``nbgrader_config.py``: ``Autograde.exclude_overwriting``,
    ``CourseDirectory.max_file_size`` (kilobytes, as nbgrader counts them: 1000 bytes) and
    ``CourseDirectory.ignore``."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    files = list(config.Autograde.get("exclude_overwriting", {}).get(assignment_id, []))
    ignore = tuple(config.CourseDirectory.get("ignore", DEFAULT_IGNORE))
    return files, 1000 * int(config.CourseDirectory.get("max_file_size", 100000)), ignore


def prepare_course(course, assignment_id, student_id):
    """:func:`prepare` on ``submitted/<student>/<assignment>/`` of the course folder ``course``,
    against each notebook of its ``release/<assignment>/`` and with its nbgrader settings;
    never raises. Without a release notebook it checks nothing and says so in a note."""
    course = Path(course)
    releases = sorted((course / "release" / assignment_id).glob("*.ipynb"))
    if not releases:
        return {"gradable": True, "reason": None,
                "notes": [f"no release/{assignment_id}/ notebook: submission not checked"]}
    try:
        student_files, max_file_size, ignore = _course_settings(course, assignment_id)
    except Exception as err:  # noqa: BLE001 - a broken config is reported, not raised
        return {"gradable": False, "notes": [],
                "reason": f"cannot read nbgrader_config.py ({type(err).__name__}: {err})"}
    folder = course / "submitted" / student_id / assignment_id
    notes = []
    for release in releases:
        result = prepare(folder, assignment_id, release, student_files=student_files,
                         max_file_size=max_file_size, ignore=ignore)
        notes += [note for note in result["notes"] if note not in notes]
        if not result["gradable"]:
            return {"gradable": False, "notes": notes, "reason": result["reason"]}
    return {"gradable": True, "notes": notes, "reason": None}
