"""Make a graded notebook renderable by nbconvert, whatever metadata its editor left in it.

nbconvert fails a whole page on metadata that Jupyter itself tolerates, and then nbgrader
writes no feedback for that student. Each rule below is a class of such metadata, found in the
issue trackers of nbconvert and ipywidgets and reproduced in ``tests/results/test_sanitise.py``:

* ``metadata.widgets`` in any shape (ipywidgets leaves it without its ``state`` key or its
  ``application/vnd.jupyter.widget-state+json`` entry; GitHub refuses such notebooks too):
  dropped. A static, offline page cannot run widgets anyway.
* widget views in outputs (``application/vnd.jupyter.widget-view+json``), with or without a
  ``model_id`` or a model in the state: replaced by their ``text/plain`` fallback, or by a line
  saying an interactive widget was there.
* ``language_info``, ``kernelspec`` or ``language`` that are not what nbformat's schema says
  (``null``, no ``name``), and any other metadata that fails the schema (``tags`` as a string,
  say): removed, as ``nbformat.validator.normalize(strip_invalid_metadata=True)`` does.
* outputs in a shape nbformat does not accept: a stream without ``name`` (``stdout``), an
  ``execute_result`` without ``execution_count`` (``None``), output metadata that is not a
  dict, ``data`` values that are neither text nor JSON: repaired or dropped.
* Markdown that shows an attachment the cell does not carry (a cell copied between notebooks
  keeps ``attachment:`` links but loses the images): the link becomes a line of text.

:func:`sanitise` returns a repaired copy and one line per repair; ``FeedbackExporter`` applies
it to every notebook before nbconvert sees it.
"""
import copy
import re

import nbformat
from nbformat import validator

__all__ = ["WIDGET_STATE", "WIDGET_VIEW", "sanitise"]

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_ATTACHMENT = re.compile(r"!\[(?P<alt>[^\]]*)\]\(attachment:(?P<name>[^)\s]+)[^)]*\)"
                         r"|<img[^>]*src=[\"']attachment:(?P<name2>[^\"']+)[\"'][^>]*>")


def _notebook_metadata(nb, changes):
    meta = nb.setdefault("metadata", {})
    if "widgets" in meta:
        del meta["widgets"]
        changes.append("dropped metadata.widgets (widgets cannot run in a static page)")
    for key, required in (("language_info", "name"), ("kernelspec", "name")):
        value = meta.get(key, {})
        if not isinstance(value, dict) or (key in meta and not value.get(required)):
            del meta[key]
            changes.append(f"dropped metadata.{key} ({value!r} has no {required})")
    if "language" in meta and not isinstance(meta["language"], str):
        changes.append(f"dropped metadata.language ({meta.pop('language')!r})")


def _output(output, changes, where):
    kind = output.get("output_type")
    if not isinstance(output.get("metadata", {}), dict):
        output["metadata"] = {}
        changes.append(f"{where}: output metadata replaced by {{}}")
    for mime, value in list(output.get("metadata", {}).items()):
        if value is None:
            del output["metadata"][mime]
    if kind == "stream" and not output.get("name"):
        output["name"] = "stdout"
        changes.append(f"{where}: stream output without a name read as stdout")
    if kind == "execute_result" and "execution_count" not in output:
        output["execution_count"] = None
    data = output.get("data")
    if not isinstance(data, dict):
        return
    if WIDGET_VIEW in data:
        del data[WIDGET_VIEW]
        if not any(mime != "text/plain" or text.strip() for mime, text in data.items()
                   if isinstance(text, str)):
            data["text/plain"] = "[an interactive widget was here; it cannot be shown offline]"
        changes.append(f"{where}: widget view replaced by its text")
    for mime, value in list(data.items()):
        is_json = mime == "application/json" or mime.endswith("+json")
        if isinstance(value, list) and all(isinstance(part, str) for part in value):
            data[mime] = "".join(value)
        elif not (isinstance(value, str) or (is_json and isinstance(value, (dict, list)))):
            del data[mime]
            changes.append(f"{where}: dropped {mime} output data ({type(value).__name__})")


def _missing_attachments(cell, changes, where):
    carried = cell.get("attachments") or {}
    if not isinstance(carried, dict):
        cell.pop("attachments")
        carried = {}

    def replace(match):
        name = match["name"] or match["name2"]
        if name in carried:
            return match[0]
        changes.append(f"{where}: image attachment {name} is missing from the notebook")
        return f"*[image {name}: missing from the submitted notebook]*"

    cell["source"] = _ATTACHMENT.sub(replace, "".join(cell.get("source") or ""))


def sanitise(nb):
    """A copy of notebook ``nb`` that nbconvert can render, and the repairs made.

    Args:
        nb: a notebook (``nbformat.NotebookNode`` or dict, format 4).

    Returns:
        (repaired ``NotebookNode``, list of one-line descriptions of each repair).
    """
    nb = copy.deepcopy(dict(nb))
    changes = []
    _notebook_metadata(nb, changes)
    for index, cell in enumerate(nb.get("cells", [])):
        where = f"cell {index + 1}"
        if not isinstance(cell.get("metadata", {}), dict):
            cell["metadata"] = {}
            changes.append(f"{where}: metadata replaced by {{}}")
        if cell.get("cell_type") == "markdown":
            _missing_attachments(cell, changes, where)
        for output in cell.get("outputs", []) or []:
            _output(output, changes, where)
    count, nb = validator.normalize(nb, relax_add_props=True, strip_invalid_metadata=True)
    if count:
        changes.append(f"removed {count} piece(s) of metadata that fail nbformat's schema")
    return nbformat.from_dict(nb), changes
