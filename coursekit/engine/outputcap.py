"""Output bytes capped while a cell runs, per cell and per notebook.

nbgrader's ``LimitOutput`` cuts a cell's output by *lines* and only after the whole notebook
ran: a cell that prints 200 lines of 1 MB each leaves a 210 MB graded notebook and a 210 MB
feedback page, and the grader holds all of it in memory meanwhile. nbclient has no limit of its
own; every output message becomes part of the notebook as it arrives
(``NotebookClient.output``).

:class:`CappedExecute` is nbgrader's ``Execute`` whose ``output`` counts the bytes each cell
run writes (stream text, display data, results) and, past ``cell_output_bytes`` for that run or
``notebook_output_bytes`` for the notebook, drops the rest, leaving one line where it cut::

    [output cut here: this cell wrote more than 1000000 bytes (c.CappedExecute.cell_output_bytes);
     the rest was not kept]

Error outputs are never dropped (a test cell's failure must stay a failure); their tracebacks
are cut by ``LimitOutput`` afterwards as before. The kernel may still send more: it is read and
thrown away, so the grader's memory stays bounded by the caps.
"""
import json

from nbgrader.preprocessors import Execute
from nbformat import NotebookNode
from traitlets import Integer

__all__ = ["CappedExecute", "output_bytes"]

CUT = ("[output cut here: this {what} wrote more than {limit} bytes (c.CappedExecute.{trait}); the "
       "rest was not kept]\n")


def output_bytes(msg):
    """The bytes an iopub message would add to a notebook (0 for what is not output).

    Args:
        msg: a Jupyter message (``msg_type`` stream, display_data, update_display_data,
            execute_result or error).
    """
    content = msg.get("content", {})
    kind = msg.get("msg_type")
    if kind == "stream":
        return len(str(content.get("text", "")).encode("utf-8", "replace"))
    if kind in ("display_data", "update_display_data", "execute_result"):
        return sum(len(value.encode("utf-8", "replace")) if isinstance(value, str)
                   else len(json.dumps(value)) for value in content.get("data", {}).values())
    return 0


class CappedExecute(Execute):
    """nbgrader's ``Execute`` with the output of each cell run and of the notebook capped."""

    cell_output_bytes = Integer(
        1_000_000, help="Bytes of output one cell run may leave in the notebook (text, images, "
                        "results; errors always stay); the rest is dropped with a line saying "
                        "so.").tag(config=True)

    notebook_output_bytes = Integer(
        20_000_000, help="Bytes of output the whole notebook may leave; past it every cell's "
                         "further output is dropped with a line saying so.").tag(config=True)

    def reset_execution_trackers(self):
        super().reset_execution_trackers()
        self._run_bytes, self._cut, self._notebook_bytes, self.cuts = {}, set(), 0, []

    def output(self, outs, msg, display_id, cell_index):
        size = output_bytes(msg)
        if not size:
            return super().output(outs, msg, display_id, cell_index)
        run = msg.get("parent_header", {}).get("msg_id") or cell_index
        if not hasattr(self, "_run_bytes"):
            CappedExecute.reset_execution_trackers(self)
        used = self._run_bytes.get(run, 0)
        left_cell = self.cell_output_bytes - used
        left_notebook = self.notebook_output_bytes - self._notebook_bytes
        if size <= min(left_cell, left_notebook):
            self._run_bytes[run] = used + size
            self._notebook_bytes += size
            return super().output(outs, msg, display_id, cell_index)
        cut = ("cell", self.cell_output_bytes, "cell_output_bytes") if left_cell <= \
            left_notebook else ("notebook", self.notebook_output_bytes, "notebook_output_bytes")
        left = min(left_cell, left_notebook)
        if msg["msg_type"] == "stream" and left > 0 and run not in self._cut:  # what fits stays
            text = str(msg["content"].get("text", "")).encode("utf-8", "replace")[:left]
            part = {**msg, "content": {**msg["content"],
                                       "text": text.decode("utf-8", "ignore")}}
            self._run_bytes[run] = used + len(text)
            self._notebook_bytes += len(text)
            super().output(outs, part, display_id, cell_index)
        return self._cut_here(outs, run, cell_index, *cut)

    def _cut_here(self, outs, run, cell_index, what, limit, trait):
        """Drop this output; the first time for this run, leave the line that says so (and
        record it in ``cuts``: ``[{"cell", "grade_id", "message"}]``)."""
        if run not in self._cut:
            self._cut.add(run)
            cell = self.nb.cells[cell_index] if 0 <= cell_index < len(self.nb.cells) else {}
            self.cuts.append({"cell": cell_index, "grade_id": cell.get("metadata", {}).get(
                "nbgrader", {}).get("grade_id"), "message": f"output cut: the {what} wrote "
                                                           f"more than {limit} bytes"})
            outs.append(NotebookNode(output_type="stream", name="stdout",
                                     text=CUT.format(what=what, limit=limit, trait=trait)))
        return None
