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

Every part of an output counts (data, metadata, names, tracebacks) plus ``OUTPUT_OVERHEAD``
per output. A cell run's first error is never dropped (a test cell's failure must stay a
failure): past the caps it keeps its name and about ``ERROR_BYTES`` of its value and of the end
of its traceback; later errors of that run are dropped like any output. The kernel may still send more: it is read and
thrown away, so the grader's memory stays bounded by the caps.

Widget messages (``comm_open``, ``comm_msg``: state that nbclient keeps and writes into the
notebook's ``metadata.widgets``) count against the same caps, data and binary buffers alike,
and past them are dropped. One message is at most ``max_message_bytes``: the grader's ZeroMQ
sockets refuse a bigger one before reading it (``ZMQ_MAXMSGSIZE``), so a kernel cannot make the
grader hold a gigabyte at once either, and the client opens no stdin or control channel (nbclient
reads neither, so messages a kernel sent there would pile up in the grader).
"""
import json

from nbclient.util import run_sync
from nbgrader.preprocessors import Execute
from nbformat import NotebookNode
from traitlets import Integer

__all__ = ["CappedExecute", "output_bytes", "comm_bytes", "shrink_error"]

ERROR_BYTES = 8_000  # an error past the caps keeps about this much of its value and traceback
OUTPUT_OVERHEAD = 100  # bytes counted per output besides its content (a notebook node's keys)
OUTPUT_TYPES = ("stream", "display_data", "update_display_data", "execute_result", "error")
CUT = ("[output cut here: this {what} wrote more than {limit} bytes (c.CappedExecute.{trait}); the "
       "rest was not kept]\n")


def comm_bytes(msg):
    """The bytes a comm (widget) message would add to the grader's widget state."""
    content = msg.get("content", {})
    return len(json.dumps(content.get("data", {}), default=str)) + sum(
        len(memoryview(buffer)) for buffer in msg.get("buffers", []) or [])


def output_bytes(msg):
    """The bytes an iopub message would add to a notebook (0 for what is not output): its
    whole content (data, metadata, names, traceback) plus ``OUTPUT_OVERHEAD``, so that neither
    a big field nor many empty outputs escape the caps.

    Args:
        msg: a Jupyter message (``msg_type`` stream, display_data, update_display_data,
            execute_result or error).
    """
    if msg.get("msg_type") not in OUTPUT_TYPES:
        return 0
    return OUTPUT_OVERHEAD + len(json.dumps(msg.get("content", {}), default=str))


def shrink_error(msg, limit=ERROR_BYTES):
    """``msg`` (an error message) with its value and traceback cut to about ``limit`` bytes:
    the error stays (a failing test cell must still fail), its size is bounded."""
    content = dict(msg.get("content", {}))
    content["ename"] = str(content.get("ename", ""))[:200]
    value = str(content.get("evalue", ""))
    content["evalue"] = value[:limit // 4] + (" [cut]" if len(value) > limit // 4 else "")
    lines, kept, room = list(content.get("traceback", [])), [], limit // 2
    for line in reversed(lines):  # the last lines say where it failed
        line = str(line)[:room]
        if not line or room <= 0:
            break
        kept.insert(0, line)
        room -= len(line)
    content["traceback"] = (["[traceback cut]"] if len(kept) < len(lines) else []) + kept
    return {**msg, "content": content}


class CappedExecute(Execute):
    """nbgrader's ``Execute`` with the output of each cell run and of the notebook capped."""

    cell_output_bytes = Integer(
        1_000_000, help="Bytes of output one cell run may leave in the notebook (text, images, "
                        "results; errors always stay); the rest is dropped with a line saying "
                        "so.").tag(config=True)

    notebook_output_bytes = Integer(
        20_000_000, help="Bytes of output the whole notebook may leave; past it every cell's "
                         "further output is dropped with a line saying so.").tag(config=True)

    max_message_bytes = Integer(
        64_000_000, help="The largest message the grader reads from a kernel (ZMQ_MAXMSGSIZE); "
                         "a bigger one is refused unread.").tag(config=True)

    async def async_start_new_kernel_client(self):
        import zmq

        make, limit = self.km.client, self.max_message_bytes

        def client(**kwargs):  # the client's own context: the default of the sockets it makes
            kc = make(**kwargs)
            kc.context.setsockopt(zmq.MAXMSGSIZE, limit)
            start = kc.start_channels
            # nbclient never reads stdin or control: unopened, a kernel cannot queue messages
            # there for the grader to hold
            kc.start_channels = lambda *args, **kw: start(stdin=False, control=False)
            return kc

        self.km.client = client
        try:
            return await super().async_start_new_kernel_client()
        finally:
            del self.km.client

    start_new_kernel_client = run_sync(async_start_new_kernel_client)  # nbclient binds its own

    def handle_comm_msg(self, outs, msg, cell_index):
        run = msg.get("parent_header", {}).get("msg_id") or cell_index
        if not self._admit(run, comm_bytes(msg)):
            return self._cut_here(outs, run, cell_index, *self._which_cap(run))
        try:
            return super().handle_comm_msg(outs, msg, cell_index)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            # nbclient trusts the kernel's widget messages: a malformed one would end the run
            self.log.warning("coursekit: a malformed widget message was dropped (%s: %s)",
                             type(err).__name__, err)
            return None

    def _admit(self, run, size):
        """Count ``size`` bytes of this run's output if they fit both caps; whether they did."""
        if not hasattr(self, "_run_bytes"):
            CappedExecute.reset_execution_trackers(self)
        used = self._run_bytes.get(run, 0)
        if size <= min(self.cell_output_bytes - used,
                       self.notebook_output_bytes - self._notebook_bytes):
            self._run_bytes[run] = used + size
            self._notebook_bytes += size
            return True
        return False

    def _which_cap(self, run):
        left_cell = self.cell_output_bytes - self._run_bytes.get(run, 0)
        left_notebook = self.notebook_output_bytes - self._notebook_bytes
        return ("cell", self.cell_output_bytes, "cell_output_bytes") if left_cell <= \
            left_notebook else ("notebook", self.notebook_output_bytes, "notebook_output_bytes")

    def reset_execution_trackers(self):
        super().reset_execution_trackers()
        self._run_bytes, self._cut, self._notebook_bytes, self.cuts = {}, set(), 0, []
        self._errors_kept = set()

    def output(self, outs, msg, display_id, cell_index):
        size = output_bytes(msg)
        if not size:
            return super().output(outs, msg, display_id, cell_index)
        run = msg.get("parent_header", {}).get("msg_id") or cell_index
        if self._admit(run, size):
            return super().output(outs, msg, display_id, cell_index)
        if msg.get("msg_type") == "error" and run not in self._errors_kept:
            # a run's first error is never dropped (its cell must fail): kept, cut short
            self._errors_kept.add(run)
            super().output(outs, shrink_error(msg), display_id, cell_index)
            return self._cut_here(outs, run, cell_index, *self._which_cap(run))
        used = self._run_bytes.get(run, 0)
        cut = self._which_cap(run)
        left = min(self.cell_output_bytes - used,
                   self.notebook_output_bytes - self._notebook_bytes)
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
