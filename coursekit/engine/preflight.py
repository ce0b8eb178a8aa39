"""Check and repair one submission before nbgrader grades it, and say what was wrong.

``prepare`` runs on a private copy of the student's ``submitted/<student>/<assignment>/``
folder before ``nbgrader autograde`` and never raises: it returns ``{"gradable": bool, "notes":
[one line each, for the instructor], "reason": why not gradable, or None}``.

    from coursekit.engine.preflight import prepare
    prepare("submitted/ada/two_layer_net", "two_layer_net",
            "release/two_layer_net/two_layer_net.ipynb", student_files=["best_model.pt"])

Not gradable: the notebook is missing, not JSON, not a notebook, or huge without its outputs.
Repaired, with a note, against the release notebook (matched by ``grade_id``): nbformat 3,
duplicate cell ids, stored outputs, another kernel, graded and read-only cells that were
deleted, split, copied, retyped or had their nbgrader metadata edited (nbgrader 0.9.6 restores
an edited locked cell's source from the gradebook, but crashes on a split, copied or renamed
test cell, one without its ``grade`` flag, or one deleted after a read-only cell), an empty
notebook (graded as the blank release, other files set aside: 0 points), files over
``max_file_size`` (nbgrader's autograde copies every file). Extra and missing files are noted.
"""
import json
import uuid
from pathlib import Path

import nbformat

__all__ = ["prepare", "prepare_course", "NOTE_BYTES", "MAX_NOTEBOOK_BYTES", "MAX_CLEAN_BYTES"]

NOTE_BYTES = 1_000_000            # outputs/attachments above this are worth a note
MAX_NOTEBOOK_BYTES = 300_000_000  # not even parsed above this
MAX_CLEAN_BYTES = 20_000_000      # without outputs, a notebook this big is not an answer
IGNORED = {"timestamp.txt"}


def _mb(size):
    return f"{size / 1e6:.1f} MB"


def _meta(cell):
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _is_protected(meta):
    """A cell that must be there: graded (a test or a written answer) or locked."""
    return bool(meta.get("locked") or meta.get("grade"))


class NotGradable(Exception):
    """The reason, one line, why a submission cannot be graded."""


def _read(path):
    """The notebook at ``path`` as a v4 dict, plus notes; raises NotGradable."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise NotGradable(f"{path.name} is {_mb(size)}: clear its outputs in Jupyter (Edit > "
                          f"Clear Outputs of All Cells), save and submit again")
    data = path.read_bytes()
    try:
        nb = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise NotGradable(f"{path.name} is not a notebook: not UTF-8 text (byte {err.start}); "
                          f"submit the .ipynb file that Jupyter saved") from None
    except json.JSONDecodeError as err:
        raise NotGradable(f"{path.name} is not valid JSON ({err.msg} at line {err.lineno}, "
                          f"column {err.colno}): the file is damaged or not a notebook; "
                          f"submit the .ipynb file that Jupyter saved") from None
    version = nb.get("nbformat") if isinstance(nb, dict) else None
    if not isinstance(version, int) or version < 3 or version > 4 or (
            version == 4 and not isinstance(nb.get("cells"), list)):
        raise NotGradable(f"{path.name} is JSON but not a Jupyter notebook (nbformat "
                          f"{version!r}); submit the .ipynb file that Jupyter saved")
    notes = []
    if version == 3:
        try:
            nb = json.loads(json.dumps(nbformat.convert(nbformat.from_dict(nb), 4)))
        except Exception as err:  # noqa: BLE001 - nbformat raises many types
            raise NotGradable(f"{path.name} is an nbformat 3 notebook that cannot be upgraded "
                              f"({type(err).__name__}: {err}); open and save it in a current "
                              f"Jupyter") from None
        notes.append(f"{path.name} was an old nbformat 3 notebook: upgraded to nbformat 4")
    nb.setdefault("metadata", {})
    return nb, size, notes


def _strip_outputs(nb, notes):
    """Drop outputs and execution counts; drop attachments when they are big."""
    outputs, attachments, largest = 0, 0, (0, None)
    for i, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") == "code":
            size = len(json.dumps(cell.get("outputs", [])))
            outputs += size
            largest = max(largest, (size, i))
            cell["outputs"], cell["execution_count"] = [], None
        if cell.get("attachments"):
            attachments += len(json.dumps(cell["attachments"]))
    if outputs > NOTE_BYTES:
        notes.append(f"stripped {_mb(outputs)} of stored outputs before grading (largest in "
                     f"cell {largest[1] + 1}); grading runs every cell again")
    if attachments > NOTE_BYTES:
        for cell in nb["cells"]:
            cell.pop("attachments", None)
        notes.append(f"removed {_mb(attachments)} of images attached to markdown cells")


def _fix_ids(nb, notes):
    """Give every cell a unique valid id (nbformat 4.5); note the duplicates."""
    if nb.get("nbformat_minor", 0) < 5:
        return
    seen, duplicates = set(), 0
    for cell in nb["cells"]:
        cid = cell.get("id")
        if not isinstance(cid, str) or cid in seen or not 1 <= len(cid) <= 64:
            duplicates += cid in seen
            cid = uuid.uuid4().hex[:12]
            cell["id"] = cid
        seen.add(cid)
    if duplicates:
        notes.append(f"{duplicates} duplicate cell ids renamed")


def _fix_kernel(nb, release, notes):
    want = release["metadata"].get("kernelspec")
    have = nb["metadata"].get("kernelspec") or {}
    if want and (have.get("name"), have.get("language")) != (want.get("name"),
                                                            want.get("language")):
        notes.append(f"the notebook named the kernel {have.get('name')!r} (language "
                     f"{have.get('language')!r}); graded with {want.get('name')!r}")
        nb["metadata"]["kernelspec"] = dict(want)
        if "language_info" in release["metadata"]:
            nb["metadata"]["language_info"] = dict(release["metadata"]["language_info"])


def _fix_cells(nb, release, notes):
    """Make the nbgrader cells agree with the release, matched by ``grade_id``."""
    truth = {_meta(c).get("grade_id"): (i, c) for i, c in enumerate(release["cells"])
             if _meta(c).get("grade_id")}
    positions = {}
    for i, cell in enumerate(nb["cells"]):
        gid = _meta(cell).get("grade_id")
        if _meta(cell) and gid not in truth:
            notes.append(f"a cell with unknown nbgrader id {gid!r} became a plain cell")
            cell["metadata"].pop("nbgrader")
        elif gid in truth:
            positions.setdefault(gid, []).append(i)
    drop_meta = []
    for gid, where in positions.items():
        if len(where) > 1:  # split or copied: keep the unedited copy, else the first
            source = "".join(truth[gid][1]["source"])
            keep = next((i for i in where if "".join(nb["cells"][i]["source"]) == source),
                        where[0])
            drop_meta += [i for i in where if i != keep]
            positions[gid] = [keep]
            notes.append(f"cell {gid!r} appeared {len(where)} times (split or copied): "
                         f"cell {keep + 1} is graded, the others became plain cells")
    for i in drop_meta:
        nb["cells"][i]["metadata"].pop("nbgrader")
    changed = []
    for gid, (i, want) in truth.items():
        if gid not in positions:
            continue
        cell = nb["cells"][positions[gid][0]]
        if _meta(cell) != _meta(want) or cell.get("cell_type") != want["cell_type"]:
            fields = sorted(k for k in set(_meta(cell)) | set(_meta(want))
                            if k != "checksum" and _meta(cell).get(k) != _meta(want).get(k))
            if cell.get("cell_type") != want["cell_type"]:
                fields.append(f"type {cell.get('cell_type')}")
                _set_type(cell, want["cell_type"])
            if fields:
                changed.append(f"{gid} ({', '.join(fields)})")
            cell["metadata"]["nbgrader"] = json.loads(json.dumps(_meta(want)))
    if changed:
        notes.append(f"restored edited nbgrader cells from the release: {'; '.join(changed)}")
    edited = [gid for gid, (i, want) in truth.items() if gid in positions
              and _meta(want).get("locked") and "".join(want["source"]) != "".join(
                  nb["cells"][positions[gid][0]]["source"])]
    if edited:  # nbgrader puts their source back from the gradebook (checksums)
        notes.append(f"read-only cells edited (nbgrader restores them): {', '.join(edited)}")
    _restore_missing(nb, release, truth, positions, notes)


def _set_type(cell, cell_type):
    cell["cell_type"] = cell_type
    if cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
        cell.pop("attachments", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _restore_missing(nb, release, truth, positions, notes):
    """Put back deleted graded and read-only cells, each after the release cell before it.

    nbgrader's ``add_missing_cells`` does it only for graded cells, and raises ``KeyError``
    when the cell before the deleted one is a read-only one (a heading, say).
    """
    present = set(positions)
    missing = [gid for gid, (i, c) in sorted(truth.items(), key=lambda kv: kv[1][0])
               if gid not in present and _is_protected(_meta(c))]
    for gid in missing:
        index = truth[gid][0]
        before = [g for g, (i, c) in truth.items() if i < index and g in present]
        after = max(before, key=lambda g: truth[g][0]) if before else None
        at = 0
        if after is not None:
            at = next(k for k, c in enumerate(nb["cells"])
                      if _meta(c).get("grade_id") == after) + 1
        cell = json.loads(json.dumps(truth[gid][1]))
        cell.pop("id", None)  # _fix_ids gives it a fresh one where the format has ids
        nb["cells"].insert(at, cell)
        present.add(gid)
    if missing:
        notes.append(f"put back {len(missing)} deleted graded or read-only cells: "
                     f"{', '.join(missing)}")


def _check_files(folder, notebook_name, student_files, release_files, max_file_size, notes):
    """Note extra and missing files; set aside (delete) files over ``max_file_size`` bytes."""
    expected = set(student_files) | set(release_files) | {notebook_name} | IGNORED
    extra, big = [], []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        size = path.stat().st_size
        if rel == notebook_name or rel in IGNORED:
            continue
        if max_file_size is not None and size > max_file_size:
            big.append(f"{rel} ({_mb(size)})")
            path.unlink()
        elif rel not in expected:
            extra.append(f"{rel} ({_mb(size)})" if size >= 100_000 else rel)
    if big:
        notes.append(f"ignored files over max_file_size ({_mb(max_file_size)}): "
                     f"{', '.join(big[:10])}")
    if extra:
        more = f" and {len(extra) - 10} more" if len(extra) > 10 else ""
        notes.append(f"extra files (not graded): {', '.join(extra[:10])}{more}")
    missing = sorted(name for name in student_files if not (folder / name).is_file())
    if missing:
        notes.append(f"missing {', '.join(missing)}: the tests that need "
                     f"{'them' if len(missing) > 1 else 'it'} score 0")


def _prepare(folder, release_notebook, student_files, max_file_size, notes):
    folder, release_notebook = Path(folder), Path(release_notebook)
    name = release_notebook.name
    path = folder / name
    if not path.is_file():
        found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                       if p.is_file() and p.name not in IGNORED) if folder.is_dir() else []
        others = [f for f in found if f.endswith(".ipynb")]
        hint = f"; if {others[0]} is it, rename it to {name}" if others else ""
        raise NotGradable(f"no {name} in the submission (found: "
                          f"{', '.join(found[:10]) or 'no files'}){hint}")
    release = json.loads(release_notebook.read_text())
    release_files = [p.relative_to(release_notebook.parent).as_posix()
                     for p in release_notebook.parent.rglob("*") if p.is_file()]
    nb, size, read_notes = _read(path)
    notes += read_notes
    empty = not nb["cells"]
    if empty:
        notes.append(f"empty notebook: {name} has no cells; graded as the blank release "
                     f"notebook (0 points)")
        nb = json.loads(json.dumps(release))
        for other in [p for p in folder.rglob("*") if p.is_file() and p != path
                      and p.name not in IGNORED]:
            other.unlink()
            notes.append(f"{other.relative_to(folder).as_posix()} set aside: the notebook "
                         f"is empty")
    elif not any(_meta(c).get("grade_id") for c in nb["cells"]):
        raise NotGradable(f"no cell of {name} carries nbgrader metadata (copied into a new "
                          f"notebook?): the student must answer in the released notebook")
    _strip_outputs(nb, notes)
    _fix_kernel(nb, release, notes)
    _fix_cells(nb, release, notes)
    _fix_ids(nb, notes)
    node = nbformat.from_dict(nb)
    try:
        nbformat.validate(node)
    except nbformat.ValidationError as err:
        raise NotGradable(f"{name} breaks the notebook format after repairs "
                          f"({str(err).splitlines()[0][:200]}); open and save it in Jupyter, "
                          f"or grade it by hand") from None
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if len(text.encode()) > MAX_CLEAN_BYTES:
        raise NotGradable(f"{name} is {_mb(len(text.encode()))} even without outputs (huge "
                          f"cell sources); the student must remove what was pasted in")
    path.write_text(text)
    _check_files(folder, name, () if empty else student_files, release_files,
                 max_file_size, notes)


def prepare(submission_dir, assignment_id, release_notebook, *, student_files=(),
            max_file_size=100_000_000):
    """Check and repair the submission in ``submission_dir`` in place; never raises.

    Args:
        submission_dir: the student's ``submitted/<student>/<assignment>/`` folder (a copy).
        assignment_id: the assignment (for messages).
        release_notebook: the released notebook, the truth for nbgrader cells and kernel.
        student_files: files the student must submit beside the notebook (``best_model.pt``).
        max_file_size: bytes; larger files are deleted from ``submission_dir`` with a note
            (nbgrader's ``CourseDirectory.max_file_size``, in bytes; None: no limit).

    Returns:
        ``{"gradable": bool, "notes": [str], "reason": str or None}``.
    """
    notes = []
    try:
        _prepare(submission_dir, release_notebook, student_files, max_file_size, notes)
    except NotGradable as err:
        return {"gradable": False, "notes": notes, "reason": str(err)}
    except Exception as err:  # noqa: BLE001 - never crash a batch: report it instead
        return {"gradable": False, "notes": notes,
                "reason": f"preflight of {assignment_id} failed ({type(err).__name__}: "
                          f"{str(err)[:200]}); grade this submission by hand"}
    return {"gradable": True, "notes": notes, "reason": None}


def _course_settings(course, assignment_id):
    """(files students submit beside the notebook, max_file_size in bytes) from the course's
    ``nbgrader_config.py``: ``Autograde.exclude_overwriting`` and ``CourseDirectory.max_file_size``
    (kilobytes, as nbgrader counts them: 1000 bytes)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    files = list(config.Autograde.get("exclude_overwriting", {}).get(assignment_id, []))
    return files, 1000 * int(config.CourseDirectory.get("max_file_size", 100000))


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
        student_files, max_file_size = _course_settings(course, assignment_id)
    except Exception as err:  # noqa: BLE001 - a broken config is reported, not raised
        return {"gradable": False, "notes": [],
                "reason": f"cannot read nbgrader_config.py ({type(err).__name__}: {err})"}
    folder = course / "submitted" / student_id / assignment_id
    notes = []
    for release in releases:
        result = prepare(folder, assignment_id, release, student_files=student_files,
                         max_file_size=max_file_size)
        notes += [note for note in result["notes"] if note not in notes]
        if not result["gradable"]:
            return {"gradable": False, "notes": notes, "reason": result["reason"]}
    return {"gradable": True, "notes": notes, "reason": None}
