"""Errors in feedback as a student can act on them: "not answered yet", and the line at fault.

A traceback as IPython stores it (ANSI colours, one string per frame) is read back into frames:
``Cell In[6], line 12, in nn_forward_backward(params, X, y, reg)`` and its ``---->`` line.

* A ``# YOUR_TURN`` stub that still runs ``raise NotImplementedError()`` (directly, or as a
  hidden check reports it: ``nn_predict raised NotImplementedError``) reads
  ``not answered yet: nn_predict (its # YOUR_TURN stub still raises NotImplementedError)``.
* Any other error names the last line of the student's own code it went through, when there
  is one: a frame whose cell is one of the student's cells (a code cell that is neither a test
  cell nor locked) and whose ``---->`` line is that cell's line. Frames in test cells, the
  hidden checks or libraries are never quoted.
"""
import re
from typing import NamedTuple, Optional

__all__ = ["Frame", "strip_ansi", "frames", "student_cells", "stub_function", "student_line",
           "readable_error"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL = re.compile(r"^Cell In\s*\[(?P<count>\d+)\], line (?P<line>\d+)(?:, in (?P<func>\w+))?")
_ARROW = re.compile(r"^-+>\s*(?P<line>\d+)\s?(?P<code>.*)$")
_STUB_REPORTED = re.compile(r"\b(?P<func>\w+) raised NotImplementedError\b")


class Frame(NamedTuple):
    """One traceback frame in a notebook cell."""

    count: int  # execution count of the cell (``In[n]``)
    line: int  # 1-based line in the cell
    function: Optional[str]  # function name, or None at cell level
    code: str  # the source line the arrow points at


def strip_ansi(text):
    """``text`` without ANSI colour codes."""
    return _ANSI.sub("", text or "")


def frames(traceback):
    """The notebook-cell frames of an IPython ``traceback`` (list of str), outermost first."""
    found = []
    for entry in traceback or []:
        header = None
        for raw in strip_ansi(entry).splitlines():
            match = _CELL.match(raw.strip())
            if match:
                header = match
                continue
            arrow = _ARROW.match(raw.strip())
            if header and arrow and int(arrow["line"]) == int(header["line"]):
                found.append(Frame(int(header["count"]), int(header["line"]), header["func"],
                                   arrow["code"].rstrip()))
                header = None
    return found


def student_cells(nb):
    """``{execution_count: [source, ...]}`` of the student's code cells (not tests, not locked)."""
    cells = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade") or meta.get("locked"):
            continue
        if isinstance(cell.get("execution_count"), int):
            cells.setdefault(cell.execution_count, []).append(cell.source)
    return cells


def _is_students(frame, cells):
    """Whether ``frame`` is a line of one of the student's cells (by count, line and text)."""
    for source in cells.get(frame.count, []):
        lines = source.splitlines()
        if 0 < frame.line <= len(lines) and lines[frame.line - 1].strip() == frame.code.strip():
            return True
    return False


def stub_function(output, cells):
    """The function whose unanswered stub raised this error output, or None.

    Args:
        output: an ``error`` output (``ename``, ``evalue``, ``traceback``).
        cells: :func:`student_cells` of the notebook.
    """
    if output.get("ename") == "NotImplementedError" and not (output.get("evalue") or "").strip():
        for frame in reversed(frames(output.get("traceback"))):
            if "NotImplementedError" in frame.code and _is_students(frame, cells):
                return frame.function or "this cell"
        return None
    reported = _STUB_REPORTED.search(output.get("evalue") or "")
    return reported["func"] if reported else None


def student_line(output, cells):
    """``"nn_forward_backward, line 12: sy = scores[range(N), y]"``: the student's last frame.

    Returns None when the error went through no line of the student's cells.
    """
    for frame in reversed(frames(output.get("traceback"))):
        if _is_students(frame, cells):
            where = f"{frame.function}, line {frame.line}" if frame.function else (
                f"line {frame.line} of your cell")
            return f"{where}: {frame.code.strip()}"
    return None


def readable_error(output, cells):
    """The lines a student reads for an error output: a headline, then where, if known.

    Returns:
        list of str: ``["not answered yet: nn_predict (its # YOUR_TURN stub still raises
        NotImplementedError)"]`` for a stub; otherwise ``["ename: first line of evalue",
        "in your code: <function>, line <n>: <code>"]`` (the second line only when the
        error went through the student's code).
    """
    stub = stub_function(output, cells)
    if stub:
        return [f"not answered yet: {stub} (its # YOUR_TURN stub still raises "
                f"NotImplementedError)"]
    first = (output.get("evalue") or "").strip().splitlines()
    lines = [f"{output.get('ename', 'Error')}: {first[0] if first else ''}".rstrip()]
    where = student_line(output, cells)
    if where:
        lines.append(f"in your code: {where}")
    return lines
