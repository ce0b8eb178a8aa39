"""Read a submitted notebook whatever wrote it, and make its format and kernel gradable.

Not gradable (:class:`NotGradable`): missing, not UTF-8, not JSON, JSON but not a notebook, an
nbformat 3 notebook that cannot be upgraded, or bigger than :data:`MAX_NOTEBOOK_BYTES`.
Repaired with a note: nbformat 3 (upgraded), stored outputs and attachments over
:data:`NOTE_BYTES` (stripped; every output is dropped anyway: grading runs every cell again),
missing, invalid or duplicate cell ids of nbformat 4.5 (editors and copy-paste make them), and a
kernelspec that names another kernel or none at all (the release's is used). Colab writes a
kernelspec without ``language``: that alone is not worth a note.
"""
import json
import uuid

import nbformat

__all__ = ["NotGradable", "read_notebook", "strip_outputs", "fix_ids", "fix_kernel",
           "NOTE_BYTES", "MAX_NOTEBOOK_BYTES", "megabytes"]

NOTE_BYTES = 1_000_000            # outputs/attachments above this are worth a note
MAX_NOTEBOOK_BYTES = 300_000_000  # not even parsed above this


class NotGradable(Exception):
    """The reason, one line, why a submission cannot be graded."""


def megabytes(size):
    """``size`` bytes as ``"12.3 MB"``."""
    return f"{size / 1e6:.1f} MB"


def read_notebook(path):
    """The notebook at ``path`` as an nbformat 4 dict, and notes.

    Raises:
        NotGradable: the file is too big, not UTF-8, not JSON or not a notebook.
    """
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise NotGradable(f"{path.name} is {megabytes(size)}: clear its outputs in Jupyter "
                          f"(Edit > Clear Outputs of All Cells), save and submit again")
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
    if not isinstance(nb.get("metadata"), dict):
        nb["metadata"] = {}
    for cell in nb["cells"]:
        if isinstance(cell, dict) and not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
        if isinstance(cell, dict) and not isinstance(cell["metadata"].get("nbgrader", {}),
                                                     dict):
            del cell["metadata"]["nbgrader"]  # not nbgrader's: the cell is matched by content
    return nb, notes


def strip_outputs(nb, notes):
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
        notes.append(f"stripped {megabytes(outputs)} of stored outputs before grading (largest "
                     f"in cell {largest[1] + 1}); grading runs every cell again")
    if attachments > NOTE_BYTES:
        for cell in nb["cells"]:
            cell.pop("attachments", None)
        notes.append(f"removed {megabytes(attachments)} of images attached to markdown cells")


def fix_ids(nb, notes):
    """Give every cell a unique valid id where the format has ids (nbformat 4.5; a cell put back
    from the release or saved without one gets a fresh one); note the duplicates (an editor's
    bug). Below 4.5 cells carry no id."""
    if nb.get("nbformat_minor", 0) < 5:
        for cell in nb["cells"]:  # an id in nbformat 4.0-4.4 breaks validation
            cell.pop("id", None)
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


def fix_kernel(nb, release, notes):
    """Use the release's kernelspec; note a kernel of another name or language, or none."""
    want = release["metadata"].get("kernelspec")
    have = nb["metadata"].get("kernelspec")
    if not want:
        return
    if not isinstance(have, dict) or not have.get("name"):
        notes.append(f"the notebook names no kernel (its editor dropped the notebook's "
                     f"metadata): graded with {want.get('name')!r}")
    elif have.get("name") != want.get("name") or have.get("language", want.get(
            "language")) != want.get("language"):
        notes.append(f"the notebook named the kernel {have.get('name')!r} (language "
                     f"{have.get('language')!r}); graded with {want.get('name')!r}")
    nb["metadata"]["kernelspec"] = dict(want)
    if "language_info" in release["metadata"]:
        nb["metadata"]["language_info"] = dict(release["metadata"]["language_info"])
