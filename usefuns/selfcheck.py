"""The student's self-check: ``nbgrader validate`` and the Validate button, naming every cell.

nbgrader 0.9.6's ``Validator`` reports the test cells that failed and nothing else
(``Validator.invert`` reports the passed ones instead); it says nothing about an ungraded cell
that ran out of time, and it has no setting for another validator class: ``nbgrader validate``
(``nbgrader.apps.validateapp``) and the Validate button's server handler
(``nbgrader.server_extensions.validate_assignment.handlers``) each build
``nbgrader.validator.Validator`` by that name. So the course's ``nbgrader_config.py`` and the
one in the students' bundle call :func:`use_in_nbgrader`, which rebinds the name in those two
modules to :class:`ListingValidator`. It runs the notebook as nbgrader does (with
``NBGRADER_EXECUTION=validate``) and then:

- names every graded cell with its result: passed, failed (with its error), partial credit,
  stopped by the time limit (``Execute.timeout``), hidden (its tests run only when the
  notebook is graded), a written answer (graded by hand) or no answer yet;
- with ``Validator.validate_all`` (the course sets it), also names every ungraded code cell
  that raised or was stopped by the time limit (a warning on stderr is no failure there);
- judges test cells by their errors only, as autograde does, when the config calls
  ``usefuns.stderr.stderr_fails_cells(False)`` (both configs do): a progress bar, a torch
  warning or logging fails no cell;
- shows the lines that cells print starting with ``Self-check:`` (what a cell cut short under
  ``validate``, say) as notes.

``validate()`` returns nbgrader's dict plus ``"cells"`` (one entry per named cell) and
``"notes"``. Its ``"failed"`` list, which the Validate button shows, holds every cell that
failed, ran out of time or has no answer yet, each headed by its name and result; the first
also carries the summary of all the cells. The button's dialog (nbgrader's labextension)
shows failures only, or its fixed "Success! Your notebook passes all the tests." when there
are none: its branch for passed cells reads the wrong key and breaks, so passed cells are
named there only next to failures. ``nbgrader validate`` prints the whole table every time.
"""
import os
import sys

from nbconvert.filters import ansi2html, strip_ansi
from nbformat import current_nbformat
from nbformat import read as read_notebook
from traitlets import List

from nbgrader import utils
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, Execute, IgnorePattern
from nbgrader.validator import Validator

__all__ = ["ListingValidator", "cell_results", "format_table", "use_in_nbgrader",
           "NOTE_PREFIX"]

NOTE_PREFIX = "Self-check:"  # a line a cell prints that starts so is shown as a note
VALIDATOR_USERS = ("nbgrader.apps.validateapp",
                   "nbgrader.server_extensions.validate_assignment.handlers")
# status -> (label in the table, whether the cell costs points as it is)
STATUS = {
    "passed": ("passed", False),
    "hidden": ("hidden", False),
    "written": ("by hand", False),
    "partial": ("PARTIAL", True),
    "failed": ("FAILED", True),
    "timeout": ("TIME LIMIT", True),
    "error": ("ERROR", True),
    "unanswered": ("NO ANSWER", True),
}


def _name(cell, index):
    """The cell's ``grade_id``, else ``cell N (its first line)``, N counted from 1."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    if grade_id:
        return grade_id
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {index + 1} ({first[:40]})"


def _errors(cell):
    """The tracebacks and stderr text of a code cell, ANSI colours removed."""
    texts = []
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            texts.append(strip_ansi("\n".join(output.traceback)))
        elif output.output_type == "stream" and output.name == "stderr":
            texts.append(output.text)
    return "\n".join(texts)


def _last_line(text):
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _result(cell, timeout, timeout_ename, validate_all):
    """(status, message) of an executed cell, or None when the report leaves it out."""
    timed_out = any(o.output_type == "error" and o.ename == timeout_ename
                    for o in cell.get("outputs", []))
    limit = (f"stopped by the time limit: it ran longer than {timeout:g} s "
             f"(Execute.timeout); the cells after it still ran") if timeout else (
             "stopped by the time limit")
    if not utils.is_grade(cell):
        if not validate_all or cell.cell_type != "code":
            return None
        if timed_out:
            return "timeout", limit
        if any(o.output_type == "error" for o in cell.outputs):
            return "error", _last_line(_errors(cell))
        return None
    score, max_score = utils.determine_grade(cell)
    if utils.is_solution(cell):
        return ("unanswered", "no answer yet") if score == 0 else (
            "written", "answered; graded by hand")
    if cell.cell_type != "code":
        return None
    if timed_out:
        return "timeout", limit
    if all(not line.strip() or line.lstrip().startswith("#") for line in cell.source.splitlines()):
        return "hidden", "hidden tests run only when graded"
    if score >= max_score:
        return "passed", ""
    if utils.has_failed(cell):
        return "failed", _last_line(_errors(cell))
    return "partial", f"{score:g} of {max_score:g} points"


def cell_results(nb, timeout=None, timeout_ename="CellTimeoutError", validate_all=True):
    """The result of every graded cell (and of ungraded code cells that failed) of ``nb``.

    Args:
        nb: an executed notebook (``nbformat.NotebookNode``).
        timeout: the per-cell limit it ran under, in seconds (for the message), or None.
        timeout_ename: the error name that marks a cell stopped by the time limit
            (``Execute.error_on_timeout["ename"]``).
        validate_all: also report ungraded code cells that raised or ran out of time.

    Returns:
        list of dicts in notebook order: ``index`` (from 0), ``name``, ``status`` (a key of
        ``STATUS``), ``points`` (float or None), ``message`` (one line), ``error`` (the full
        error text, for failures) and ``source``.
    """
    results = []
    for index, cell in enumerate(nb.cells):
        found = _result(cell, timeout, timeout_ename, validate_all)
        if found is None:
            continue
        status, message = found
        points = cell.metadata.nbgrader.get("points") if utils.is_grade(cell) else None
        results.append({"index": index, "name": _name(cell, index), "status": status,
                        "points": None if points is None else float(points),
                        "message": message, "source": cell.source.strip(),
                        "error": _errors(cell) if STATUS[status][1] else ""})
    return results


def self_check_notes(nb):
    """The lines that cells printed starting with :data:`NOTE_PREFIX`, in order."""
    return [line.strip() for cell in nb.cells if cell.cell_type == "code"
            for output in cell.get("outputs", [])
            if output.output_type == "stream" and output.name == "stdout"
            for line in output.text.splitlines() if line.strip().startswith(NOTE_PREFIX)]


def _summary_line(results):
    counts = {}
    for entry in results:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    words = {"passed": "passed", "failed": "failed", "partial": "with partial credit",
             "timeout": "stopped by the time limit", "error": "ungraded cells with errors",
             "unanswered": "written answers missing", "written": "written answers (graded by hand)",
             "hidden": "hidden (run when graded)"}
    return ", ".join(f"{counts[key]} {words[key]}" for key in STATUS if key in counts)


def format_table(results, notes=()):
    """The report as lines: a summary, one line per cell, then the notes."""
    lines = [f"Self-check: {_summary_line(results) or 'no test cells'}"]
    for entry in results:
        points = "" if entry["points"] is None else f"{entry['points']:g} pt"
        lines.append(f"  {STATUS[entry['status']][0]:10}  {entry['name']:24} {points:>6}  "
                     f"{entry['message']}".rstrip())
    lines.extend(f"  note: {note[len(NOTE_PREFIX):].strip()}" for note in notes)
    return lines


class ListingValidator(Validator):
    """nbgrader's ``Validator`` that names every cell's result (see the module docstring)."""

    preprocessors = List([CheckCellMetadata, ClearOutput, Execute, IgnorePattern])

    def _preprocess(self, nb):
        resources = {}
        self._timeout, self._timeout_ename = None, "CellTimeoutError"
        with utils.setenv(NBGRADER_VALIDATING="1", NBGRADER_EXECUTION="validate"):
            for preprocessor in self.preprocessors:
                step = preprocessor(parent=self)
                if isinstance(step, Execute):
                    self._timeout = step.timeout
                    self._timeout_ename = (step.error_on_timeout or {}).get(
                        "ename", self._timeout_ename)
                nb, resources = step(nb, resources)  # skips a disabled IgnorePattern
        return nb

    def validate(self, filename):
        """nbgrader's result dict, with every problem in ``"failed"``, plus ``"cells"``."""
        if self.invert:
            return super().validate(filename)
        self.log.info("Validating '%s'", os.path.abspath(filename))
        dirname, basename = os.path.dirname(filename), os.path.basename(filename)
        with utils.chdir(dirname):
            nb = read_notebook(basename, as_version=current_nbformat)
        type_changed = self._get_type_changed_cells(nb)
        if type_changed:
            return {"type_changed": [{"source": cell.source.strip(), "old_type": cell.cell_type,
                                      "new_type": cell.metadata.nbgrader.cell_type}
                                     for cell in type_changed]}
        with utils.chdir(dirname):
            nb = self._preprocess(nb)
        changed = self._get_changed_cells(nb)
        if changed and not self.ignore_checksums:
            return {"changed": [{"source": cell.source.strip()} for cell in changed]}
        cells = cell_results(nb, self._timeout, self._timeout_ename, self.validate_all)
        notes = self_check_notes(nb)
        results = {"cells": cells, "notes": notes}
        problems = [entry for entry in cells if STATUS[entry["status"]][1]]
        summary = "\n".join(format_table(cells, notes))
        for i, entry in enumerate(problems):
            text = f"{entry['name']}: {entry['message']}\n\n{entry['error']}".rstrip()
            if i == 0:
                text += "\n\n" + summary
            results.setdefault("failed", []).append(
                {"source": entry["source"], "error": ansi2html(text), "raw_error": text})
        return results

    def validate_and_print(self, filename):
        """Print the table of every cell, then nbgrader's account of each failure."""
        if self.invert:
            return super().validate_and_print(filename)
        results = self.validate(filename)
        if results.get("type_changed"):
            self._print_num_type_changed(len(results["type_changed"]))
            for cell in results["type_changed"]:
                self._print_type_changed(cell["old_type"], cell["new_type"], cell["source"])
            return None
        if results.get("changed"):
            self._print_num_changed(len(results["changed"]))
            for cell in results["changed"]:
                self._print_changed(cell["source"])
            return None
        self.stream.write("\n".join(format_table(results["cells"], results["notes"])) + "\n")
        problems = [e for e in results["cells"] if STATUS[e["status"]][1]]
        for entry in problems:
            self._print_error(entry["source"],
                              f"{entry['name']}: {entry['message']}\n\n{entry['error']}".rstrip())
        self._print_num_failed(len(problems))
        return None


def use_in_nbgrader():
    """Make ``nbgrader validate`` and the Validate button use :class:`ListingValidator`.

    Call it from ``nbgrader_config.py``. It rebinds ``Validator`` in the modules of nbgrader
    that build one and are loaded in this process (the command line's, the Validate
    button's); elsewhere it does nothing.

    Returns:
        the names of the modules it changed.
    """
    changed = []
    for name in VALIDATOR_USERS:
        module = sys.modules.get(name)
        if module is not None and getattr(module, "Validator", None) is Validator:
            module.Validator = ListingValidator
            changed.append(name)
    return changed
