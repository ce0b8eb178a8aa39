"""Feedback for students that never shows the hidden tests (nbgrader's #917 and #1363).

Plain ``nbgrader generate_feedback`` renders the autograded notebook, in which the hidden tests
are restored from the gradebook: every student would read them, and the tracebacks of failed
hidden tests quote both the hidden cell and the instructor's check module. The preprocessor
:class:`HideHiddenTests` runs inside nbgrader's feedback step and, from the hidden-test markers
of the source cells (as stored in the gradebook) and of the notebook itself:

* replaces every region between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` by one
  line, ``# (hidden tests)``; the visible part of the cell (its comment line) stays;
* turns every error output of a test (grade) cell into ``ename: first line of evalue``, with no
  traceback, plus the line of the student's own code it came from when there is one; a stub
  that was never answered reads "not answered yet" (:mod:`coursekit.results.errors`); an
  error in the student's own cells keeps its traceback, scrubbed;
* drops every output line, in every cell, that quotes a line of a hidden region (an answer that
  prints ``inspect.getsource`` of its caller, or ``In``, shows nothing of them).

    coursekit feedback two_layer_net      # feedback/<student>/two_layer_net/*.html
"""
import html

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

from coursekit.results.errors import readable_error, student_cells, stub_function

__all__ = ["BEGIN", "END", "HideHiddenTests", "hidden_lines"]

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def hidden_lines(source, begin=BEGIN, end=END):
    """The lines of ``source`` inside hidden-test regions, markers included (stripped)."""
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        if inside and line.strip():
            lines.append(line.strip())
        if end in line:
            inside = False
    return lines


def _hide_regions(source, placeholder, begin=BEGIN, end=END):
    """``source`` with each hidden region (markers included) replaced by ``placeholder``."""
    kept, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
            indent = line[:len(line) - len(line.lstrip())]
            kept.append(indent + placeholder)
        elif end in line and inside:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


class HideHiddenTests(NbGraderPreprocessor):
    """Strip hidden tests, their tracebacks and any output quoting them from a graded notebook.

    Register it for ``GenerateFeedback`` (see :data:`FEEDBACK_PREPROCESSORS`).
    """

    begin_marker = Unicode(BEGIN, help="The line that opens a hidden-test region.").tag(
        config=True)
    end_marker = Unicode(END, help="The line that closes a hidden-test region.").tag(config=True)
    placeholder = Unicode("# (hidden tests)",
                          help="What the student sees in place of a hidden region.").tag(
        config=True)
    min_quoted_length = Integer(
        8, help="Hidden lines shorter than this are too generic to scrub from outputs.").tag(
        config=True)

    def preprocess(self, nb, resources):
        quoted = set()
        for cell in nb.cells:
            quoted.update(hidden_lines(cell.source, self.begin_marker, self.end_marker))
        quoted.update(self._gradebook_hidden_lines(nb, resources))
        self._quoted = sorted(line for line in quoted if len(line) >= self.min_quoted_length)
        # a quoted line may reach the HTML escaped (text/html outputs)
        self._quoted += sorted({html.escape(line) for line in self._quoted} - set(self._quoted))
        self._students = student_cells(nb)
        return super().preprocess(nb, resources)

    def _gradebook_hidden_lines(self, nb, resources):
        """Hidden lines of this notebook's source cells as the gradebook stores them."""
        info = resources.get("nbgrader", {})
        if not {"db_url", "notebook", "assignment"} <= set(info):
            return []
        lines = []
        with Gradebook(info["db_url"]) as gb:
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if not grade_id:
                    continue
                try:
                    stored = gb.find_source_cell(grade_id, info["notebook"], info["assignment"])
                except MissingEntry:
                    continue
                lines += hidden_lines(stored.source, self.begin_marker, self.end_marker)
        return lines

    def preprocess_cell(self, cell, resources, cell_index):
        is_grade = cell.metadata.get("nbgrader", {}).get("grade", False)
        if cell.cell_type == "code" and self.begin_marker in cell.source:
            cell.source = _hide_regions(cell.source, self.placeholder, self.begin_marker,
                                        self.end_marker)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                readable = readable_error(output, self._students)
                if is_grade or stub_function(output, self._students):
                    first = (output.get("evalue") or "").strip().splitlines()
                    output.evalue = self._scrub(first[0] if first else "")
                    output.traceback = [line for line in (
                        self._scrub(text).rstrip("\n") for text in readable) if line]
                else:
                    output.evalue = self._scrub(output.get("evalue", ""))
                    output.traceback = [self._scrub(line) for line in output.get("traceback", [])]
            elif output.output_type == "stream":
                output.text = self._scrub(output.text)
            if "data" in output:
                for mime, value in output.data.items():
                    if isinstance(value, str) and mime.startswith(("text/", "application/j")):
                        output.data[mime] = self._scrub(value)
        return cell, resources

    def _scrub(self, text):
        """``text`` without the lines that quote a hidden line, and no quote left inside."""
        if not self._quoted or not text:
            return text
        lines = text.splitlines(keepends=True)
        kept = [line for line in lines if not any(q in line for q in self._quoted)]
        if len(kept) < len(lines):
            kept.append("[output quoting hidden tests removed]\n")
        return "".join(kept)
