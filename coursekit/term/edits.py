"""Edit a filled notebook as a student or an editor would: the ``notebook_edits`` of a sample.

:func:`apply_edits` takes the notebook as a dict (nbformat 4) and a list of edits, each a dict
with ``"op"``. Cells are named by their nbgrader ``grade_id``, so an edit that names a cell
must come before an edit that drops its metadata (``editor``, ``clear_cell_metadata``).

Cells: ``delete``; ``retype`` (``cell_type``); ``set_metadata`` (``key``, ``value``; a null
value deletes the key of the cell's nbgrader metadata); ``set_cell_metadata`` (``key``,
``value`` of the cell's own metadata, e.g. ``tags``); ``set_source`` (``source``); ``prepend_source`` (``source``, put before
the cell's own: an import at the top of an answer cell); ``split``
(into two cells that keep the metadata, as Jupyter's split does, at line ``at`` or before the
first line that starts with ``at_text``, default half; ``second_source`` replaces the second
part); ``duplicate`` (a copy, with ``source`` if given, right after it, at the ``"end"`` or
after the cell named by ``to``); ``move`` (``before`` or ``after`` another cell);
``insert`` (a new cell: ``source``, ``cell_type`` (code), ``metadata``, at ``"start"`` (the
default), ``"end"`` or ``{"after": grade_id}``); ``huge_output`` (``megabytes``, ``kind``
``"text"`` or ``"image"``).

Whole notebook: ``kernelspec`` (``name``, ``language``); ``clear_cells``; ``nbformat3``
(``nbformat.convert`` to version 3); ``nbformat_minor`` (``minor``: 0 to 5; below 5 the cell
ids go, as nbformat's own downgrade does); ``drop_ids`` (a 4.5 file without ids);
``duplicate_cell_ids``; ``clear_cell_metadata`` (``cell_type``: ``"code"``, ``"markdown"`` or
``"all"``); ``notebook_metadata`` (``value`` replaces it; with ``key``, only that entry, a null
value deleting it); ``editor`` (``name``: what that
editor does on save, :mod:`coursekit.term.editors`).
"""
import base64
import hashlib
import json

__all__ = ["apply_edits", "find_cell"]

_NAMED = ("delete", "retype", "set_metadata", "set_cell_metadata", "set_source",
          "prepend_source", "split",
          "duplicate", "move", "huge_output")


def find_cell(cells, grade_id):
    """Position of the cell with nbgrader ``grade_id`` in ``cells``.

    Raises:
        ValueError: no cell has it.
    """
    for i, cell in enumerate(cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise ValueError(f"no cell has grade_id {grade_id!r}; name a cell of the released notebook "
                     f"(and name cells before an edit that drops their metadata).")


def _huge_output(megabytes, kind):
    """A stdout text or a PNG image output of about ``megabytes`` MB in the notebook file."""
    if kind == "image":  # a PNG header and noise, base64 as Jupyter stores images
        data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (megabytes * 3072)
        return {"output_type": "display_data", "metadata": {},
                "data": {"image/png": base64.b64encode(data).decode("ascii")}}
    return {"output_type": "stream", "name": "stdout",
            "text": ("x" * 99 + "\n") * (megabytes * 10_000)}


def _new_cell(edit, nb):
    cell = {"cell_type": edit.get("cell_type", "code"), "metadata": dict(edit.get(
        "metadata", {})), "source": edit["source"]}
    if cell["cell_type"] == "code":
        cell.update(outputs=[], execution_count=None)
    if nb.get("nbformat_minor", 0) >= 5:  # deterministic, unique for each place and source
        key = f"{len(nb['cells'])}:{edit['source']}".encode()
        cell["id"] = f"added-{hashlib.sha1(key).hexdigest()[:8]}"
    return cell


def _split(cells, i, edit):
    cell = cells[i]
    lines = "".join(cell["source"]).splitlines(keepends=True)
    at = edit.get("at", len(lines) // 2)
    if "at_text" in edit:
        at = next(k for k, line in enumerate(lines) if line.startswith(edit["at_text"]))
    second = json.loads(json.dumps(cell))
    cell["source"] = "".join(lines[:at])
    second["source"] = edit.get("second_source", "".join(lines[at:]))
    second["id"] = f"{cell.get('id', 'cell')}-2"
    cells.insert(i + 1, second)


def _cell_edit(nb, edit):
    op, cells = edit["op"], nb["cells"]
    i = find_cell(cells, edit["grade_id"])
    cell = cells[i]
    if op == "delete":
        del cells[i]
    elif op == "retype":
        cell["cell_type"] = edit.get("cell_type", "markdown")
        if cell["cell_type"] != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    elif op in ("set_metadata", "set_cell_metadata"):
        meta = cell["metadata"].setdefault("nbgrader", {}) if op == "set_metadata" else cell[
            "metadata"]
        if edit.get("value") is None:
            meta.pop(edit["key"], None)
        else:
            meta[edit["key"]] = edit["value"]
    elif op == "set_source":
        cell["source"] = edit["source"]
    elif op == "prepend_source":
        cell["source"] = edit["source"] + "".join(cell["source"])
    elif op == "split":
        _split(cells, i, edit)
    elif op == "duplicate":
        copy = json.loads(json.dumps(cell))
        copy["id"] = f"{cell.get('id', 'cell')}-copy"
        copy["source"] = edit.get("source", copy["source"])
        to = edit.get("to")
        at = len(cells) if to == "end" else i + 1 if to is None else find_cell(cells, to) + 1
        cells.insert(at, copy)
    elif op == "move":
        del cells[i]
        anchor = edit.get("after", edit.get("before"))
        cells.insert(find_cell(cells, anchor) + ("after" in edit), cell)
    elif op == "huge_output":
        cell.setdefault("outputs", []).append(
            _huge_output(int(edit.get("megabytes", 100)), edit.get("kind", "text")))


def _notebook_edit(nb, edit):
    op, cells = edit["op"], nb.get("cells", [])
    if op == "kernelspec":
        nb["metadata"]["kernelspec"] = {"name": edit["name"], "language": edit["language"],
                                        "display_name": edit.get("display_name", edit["name"])}
        nb["metadata"]["language_info"] = {"name": edit["language"]}
    elif op == "clear_cells":
        nb["cells"] = []
    elif op == "nbformat3":
        import nbformat

        return json.loads(json.dumps(nbformat.convert(
            nbformat.reads(json.dumps(nb), as_version=nbformat.NO_CONVERT), 3)))
    elif op in ("nbformat_minor", "drop_ids"):
        if op == "nbformat_minor":
            nb["nbformat_minor"] = int(edit["minor"])
        if op == "drop_ids" or nb["nbformat_minor"] < 5:
            for cell in cells:
                cell.pop("id", None)
    elif op == "duplicate_cell_ids":
        for cell in cells:
            cell["id"] = "same-id"
    elif op == "clear_cell_metadata":
        kind = edit.get("cell_type", "all")
        for cell in cells:
            if kind in ("all", cell["cell_type"]):
                cell["metadata"] = {}
    elif op == "notebook_metadata" and "key" in edit:  # one entry; a null value deletes it
        if edit.get("value") is None:
            nb.setdefault("metadata", {}).pop(edit["key"], None)
        else:
            nb.setdefault("metadata", {})[edit["key"]] = json.loads(json.dumps(edit["value"]))
    elif op == "notebook_metadata":
        nb["metadata"] = json.loads(json.dumps(edit["value"]))
    elif op == "insert":
        at = edit.get("at", "start")
        index = 0 if at == "start" else len(cells) if at == "end" else find_cell(
            cells, at["after"]) + 1
        cells.insert(index, _new_cell(edit, nb))
    elif op == "editor":
        from coursekit.term.editors import save_as

        return save_as(nb, edit["name"])
    else:
        raise ValueError(f"unknown notebook edit {op!r}; see coursekit.term.edits.")
    return nb


def apply_edits(nb, edits):
    """A copy of ``nb`` (a dict) with ``edits`` applied (see the module docstring).

    Raises:
        ValueError: an unknown op or a ``grade_id`` no cell has.
    """
    nb = json.loads(json.dumps(nb))
    for edit in edits:
        if edit["op"] in _NAMED:
            _cell_edit(nb, edit)
        else:
            nb = _notebook_edit(nb, edit)
    return nb
