"""Autograde execution that survives a kernel that dies, hangs or poisons its CUDA context.

Plain nbgrader runs a submission in one kernel: when student code kills it (``os._exit``, a
segfault, the out-of-memory killer) the whole submission fails, the cells already graded
included; a cell that hangs past ``Execute.timeout`` is interrupted, but a kernel that ignores
the interrupt makes every later cell time out too; and on a GPU one device-side assert (an
out-of-range class index, say) leaves the CUDA context unusable, so every later cell fails.

:class:`RecoveringExecute` is nbgrader's ``Execute`` with output capped while cells run
(``coursekit.engine.outputcap.CappedExecute``) and one change. When cell k kills the
kernel, times out, or fails with a poisoned CUDA context, cell k gets an error output that says
so (it scores zero), a fresh kernel starts, the code cells above k run again in it (their
outputs from the first run are kept; cells that killed a kernel are skipped) and execution goes
on with cell k + 1. After ``max_restarts`` fresh kernels, the cells left get a "not run" error
output. With a ``deadline`` (the submission's, set by ``coursekit autograde``) no cell starts
after it and a cell still running then is stopped (incident ``"deadline"``): the cells run so
far keep their outputs, the rest get a "not run" error output, and the notebook is graded
with what it has. Every incident is recorded in the graded notebook's metadata::

    nb.metadata["coursekit"] = {"incidents": [{"cell": 45, "grade_id": "search_select",
                                               "kind": "died", "message": "...",
                                               "replay": False}, ...],
                                "restarts": 1, "not_run": []}

``kind`` is ``"died"``, ``"timeout"``, ``"cuda"`` or ``"deadline"``; ``replay`` is true for an
incident in a cell that was being run again to rebuild the state. A notebook without incidents runs exactly
as with ``Execute`` and gets no ``coursekit`` metadata. The kernel is whatever nbclient starts
for the notebook's kernelspec; nothing here depends on how it is launched.

``nbgrader_config.py`` puts it in place of ``Execute`` for every ``nbgrader autograde``::

    c.Autograde.autograde_preprocessors = autograde_preprocessors()
"""
import math
import re
import signal
import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbconvert.preprocessors.execute import NotebookClient
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Float, Integer, List, Unicode

from coursekit.engine.outputcap import CappedExecute

__all__ = ["RecoveringExecute", "autograde_preprocessors", "METADATA_KEY"]

METADATA_KEY = "coursekit"

# Errors after which the process's CUDA context is unusable (every later CUDA call fails).
POISONED_CUDA = [r"device-side assert triggered", r"illegal memory access",
                 r"CUDA error: (misaligned address|unspecified launch failure|"
                 r"an illegal instruction|launch failure)",
                 r"CUBLAS_STATUS_EXECUTION_FAILED", r"cudaErrorLaunchFailure"]


def autograde_preprocessors(execute=None):
    """nbgrader's default ``Autograde.autograde_preprocessors`` with ``Execute`` replaced, and
    ``coursekit.engine.outside.HiddenTestsOutside`` first (off unless enabled: it makes hidden
    tests placeholders when ``coursekit autograde`` grades them outside the kernel).

    Args:
        execute: the class to run the notebook with (default :class:`RecoveringExecute`).
    """
    from nbgrader.converters import Autograde

    from coursekit.engine.outside import HiddenTestsOutside

    default = Autograde.class_traits()["autograde_preprocessors"].default()
    return [HiddenTestsOutside] + [(execute or RecoveringExecute) if pp is Execute else pp
                                   for pp in default]


def _exit_description(code):
    """``"exit code 1"``, ``"killed by signal 11, SIGSEGV"`` or ``"exit status unknown"``.

    A kernel started through a wrapper (a shell, a sandbox) may report signal N as 128 + N.
    """
    if code is None:
        return "exit status unknown"
    number = -code if code < 0 else code - 128 if 128 < code < 128 + signal.NSIG else None
    if number is None:
        return f"exit code {code}"
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = "unknown signal"
    hint = "; out of memory?" if number == signal.SIGKILL else ""
    if code > 0:
        return f"exit code {code}: signal {number}, {name}{hint}"
    return f"killed by signal {number}, {name}{hint}"


def _error_output(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


class RecoveringExecute(CappedExecute):
    """nbgrader's ``Execute`` that restarts a dead, hung or CUDA-poisoned kernel (see module)."""

    max_restarts = Integer(
        3, help="Fresh kernels one notebook may get after incidents; then the cells left are "
                "not run (each restart runs the cells above again).").tag(config=True)

    poisoned_cuda_patterns = List(
        Unicode(), POISONED_CUDA,
        help="Regular expressions: a cell whose error (name or message) matches one left the "
             "CUDA context unusable, so the kernel is restarted.").tag(config=True)

    deadline = Float(
        0.0, help="Unix time (seconds) after which no cell starts and a running cell is "
                  "stopped; the rest of the notebook is not run. 0: none. coursekit autograde "
                  "sets it from the submission's deadline.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        """Execute ``nb`` (in place) like ``ExecutePreprocessor.preprocess``, with recovery."""
        NotebookClient.__init__(self, nb, km)
        self.nb.metadata.pop(METADATA_KEY, None)  # only this run's incidents, never the file's
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._incidents, self._killers, self._restarts, not_run = [], set(), 0, []
        self._cell_limit = self.timeout  # Execute.timeout; a cell near the deadline gets less
        with self.setup_kernel():
            info_msg = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
            index = 0
            while index < len(self.nb.cells):
                if self._left() == 0:
                    not_run = self._mark_not_run(index, self._deadline_message())
                    if not_run:
                        self._record(not_run[0], {"kind": "deadline", "message":
                                                  self._deadline_message()})
                    break
                incident = self._run_cell(index, resources)
                if incident is not None:
                    self._record(index, incident)
                    recovered = incident["kind"] != "deadline" and self._recover(index,
                                                                                 resources)
                    self._explain(index, incident, recovered)
                    if not recovered:
                        not_run = self._mark_not_run(index + 1, self._deadline_message() if
                                                     incident["kind"] == "deadline" else None)
                        break
                index += 1
        self.set_widgets_metadata()
        if self._incidents:
            self.nb.metadata[METADATA_KEY] = {"incidents": self._incidents,
                                              "restarts": self._restarts, "not_run": not_run}
        if self.cuts:
            self.nb.metadata.setdefault(METADATA_KEY, {})["output_cut"] = self.cuts
        return self.nb, self.resources

    # ---------------------------------------------------------------- one cell

    def _run_cell(self, index, resources, cell=None):
        """Run cell ``index`` (or ``cell`` in its place); the incident it caused, or None.

        Returns:
            None, or dict with ``kind`` and ``message``.
        """
        cell = self.nb.cells[index] if cell is None else cell
        self._timed_out = False
        left = self._left()
        cut_by_deadline = left is not None and (self._cell_limit is None
                                                or left < self._cell_limit)
        self.timeout = max(1, math.ceil(left)) if cut_by_deadline else self._cell_limit
        try:
            self.preprocess_cell(cell, resources, index)
        except DeadKernelError:
            code = run_sync(self._async_exit_code)()
            return {"kind": "died", "message": f"the kernel died while running this cell "
                                               f"({_exit_description(code)})"}
        except CellTimeoutError as err:
            if cut_by_deadline:
                return {"kind": "deadline", "message": self._deadline_message(running=True)}
            detail = "" if self._timed_out else str(err)
            return {"kind": "timeout", "message": self._timeout_message(detail)}
        if self._timed_out:
            if cut_by_deadline:
                return {"kind": "deadline", "message": self._deadline_message(running=True)}
            return {"kind": "timeout", "message": self._timeout_message()}
        poisoned = self._poisoned_cuda(cell)
        if poisoned:
            return {"kind": "cuda", "message": f"this cell left the kernel's CUDA context "
                                               f"unusable ({poisoned})"}
        return None

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def _left(self):
        """Seconds until the deadline (0 once past it), or None without one."""
        return None if not self.deadline else max(0.0, self.deadline - time.time())

    @staticmethod
    def _deadline_message(running=False):
        when = "while this cell ran" if running else "before this cell"
        return (f"the submission's time limit ran out {when} (coursekit autograde --timeout): "
                f"what ran before it is graded, the rest scores zero")

    def _timeout_message(self, detail=""):
        if "IOPub" in detail:
            return "the kernel stopped answering after this cell (no output before the timeout)"
        return (f"this cell ran longer than the limit of {self._cell_limit} s per cell "
                f"(Execute.timeout) and was stopped")

    def _poisoned_cuda(self, cell):
        """The first line of an error output of ``cell`` that means a poisoned CUDA context."""
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
            if any(re.search(p, text) for p in self.poisoned_cuda_patterns):
                return text.strip().splitlines()[0][:300]
        return None

    async def _async_exit_code(self):
        """The dead kernel's exit code (negative: the signal), or None if unknown."""
        try:
            return await ensure_async(self.km.provisioner.poll())
        except Exception:  # noqa: BLE001 - a provisioner without a process: unknown
            return None

    # ---------------------------------------------------------------- after an incident

    def _record(self, index, incident, replay=False):
        grade_id = self.nb.cells[index].metadata.get("nbgrader", {}).get("grade_id")
        self._incidents.append({"cell": index, "grade_id": grade_id, "kind": incident["kind"],
                                "message": incident["message"], "replay": replay})
        self._killers.add(index)

    def _explain(self, index, incident, recovered):
        """Give the cell that caused ``incident`` an error output that says what happened."""
        cell = self.nb.cells[index]
        what = ("the rest of the notebook was run in a fresh kernel (the cells above were run "
                "again first)" if recovered else "the rest of the notebook was not run: the "
                "submission's time limit ran out" if incident["kind"] == "deadline"
                or self._left() == 0 else "the rest of the "
                f"notebook was not run: the kernel was already restarted {self._restarts} "
                f"times, the limit")
        ename = {"died": "DeadKernelError", "timeout": "CellTimeoutError",
                 "cuda": "CUDAContextError", "deadline": "DeadlineError"}[incident["kind"]]
        outputs = list(cell.get("outputs", []))
        if incident["kind"] in ("timeout", "deadline"):
            # nbgrader's bare timeout line, the interrupt's error
            outputs = [o for o in outputs if not (o.get("output_type") == "error" and (
                o.get("ename") == "KeyboardInterrupt"
                or o.get("ename") == "CellTimeoutError" and not o.get("evalue")))]
        outputs.append(_error_output(ename, f"coursekit: {incident['message']}; this cell "
                                            f"scores zero and {what}."))
        cell.outputs = outputs

    def _recover(self, index, resources):
        """Fresh kernel with the state of the cells above ``index``; False past the cap."""
        while self._restarts < self.max_restarts and self._left() != 0:
            self._restarts += 1
            self.log.warning("coursekit: kernel restart %d after cell %d (%s)", self._restarts,
                             index, self._incidents[-1]["message"])
            run_sync(self._async_fresh_kernel)()
            if self._replay(index, resources):
                return True
        return False

    def _replay(self, stop, resources):
        """Run the code cells above ``stop`` again (copies: outputs are discarded)."""
        display_ids = self._display_id_map
        self._display_id_map = {}
        try:
            for index in range(stop):
                original = self.nb.cells[index]
                if original.cell_type != "code" or index in self._killers:
                    continue
                copy = NotebookNode(cell_type="code", source=original.source, outputs=[],
                                    metadata=NotebookNode(original.metadata.copy()),
                                    execution_count=None)
                incident = self._run_cell(index, resources, cell=copy)
                if incident is not None:  # its graded outputs stay those of its first run
                    self._record(index, incident, replay=True)
                    return False
            return True
        finally:
            self._display_id_map = display_ids

    async def _async_fresh_kernel(self):
        """Kill the current kernel (if it is still there) and start a new one like it."""
        if self.km is not None:
            try:
                if await ensure_async(self.km.is_alive()):
                    await ensure_async(self.km.shutdown_kernel(now=True))
            except RuntimeError:
                pass
            finally:
                await ensure_async(self.km.cleanup_resources())
        if self.kc is not None:
            await ensure_async(self.kc.stop_channels())
            self.kc = None
        self.km = self.create_kernel_manager()
        await self.async_start_new_kernel()
        await self.async_start_new_kernel_client()

    def _mark_not_run(self, start, why=None):
        """Give every code cell from ``start`` on a "not run" error; their indices."""
        if why is None and self._left() == 0:
            why = self._deadline_message()
        indices = []
        for index in range(start, len(self.nb.cells)):
            cell = self.nb.cells[index]
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            why = why or (f"the kernel died or hung {len(self._incidents)} times above, more "
                          f"than the {self.max_restarts} restarts allowed; it scores zero")
            cell.outputs = [_error_output("CellNotRunError",
                                          f"coursekit: this cell was not run: {why}.")]
            indices.append(index)
        return indices
