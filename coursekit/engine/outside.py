"""Hidden tests stay out of the kernel: an nbgrader preprocessor that makes them placeholders.

Under ``coursekit autograde`` the grader runs every hidden check itself, outside the kernel
(``coursekit.engine.verify``), so the kernel never holds instructor material: no check module,
no reference, no hidden test source. :class:`HiddenTestsOutside` runs first among the autograde
preprocessors (after nbgrader has restored the hidden tests from the gradebook, before
``Execute``) and replaces each ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region by
a comment, markers kept; the grader writes those cells' outputs once it has decided
(``coursekit.engine.annotate``).

It is off unless ``--HiddenTestsOutside.enabled=True`` is given (``coursekit autograde`` gives
it): plain ``nbgrader autograde`` runs the hidden tests in the kernel, as nbgrader always does.
"""
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Unicode

__all__ = ["HiddenTestsOutside", "BEGIN", "END", "placeholder_regions"]

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def placeholder_regions(source, placeholder, begin=BEGIN, end=END):
    """``source`` with each hidden region's inside replaced by ``placeholder`` (markers kept)."""
    kept, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
            kept.append(line)
            indent = line[:len(line) - len(line.lstrip())]
            kept.append(indent + placeholder)
        elif end in line and inside:
            inside = False
            kept.append(line)
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


class HiddenTestsOutside(NbGraderPreprocessor):
    """Replace hidden test regions by a comment before the kernel runs (see the module)."""

    enabled = Bool(False, help="Replace hidden tests by placeholders before execution (the "
                               "grader runs them outside the kernel).").tag(config=True)
    placeholder = Unicode("# (graded outside the notebook by coursekit)",
                          help="The line left inside each hidden region.").tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if self.enabled and cell.cell_type == "code" and BEGIN in cell.source:
            cell.source = placeholder_regions(cell.source, self.placeholder)
        return cell, resources
