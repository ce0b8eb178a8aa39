"""One submission, stage by stage: ``grade(job) -> Result``, on a worker; it never raises.

    prepare    unpack the course, gradebook and submission into a private temporary course;
               decide whether bwrap is used; read the assignment's manifest
    execute    the grading job (``coursekit.engine.execute``): preflight, then nbgrader's
               autograde with the hidden tests as placeholders
    preflight  not gradable (no notebook, not JSON...) or nbgrader failed: the result is
               ``failed`` with the reason; otherwise the kernel's scores are read back
    verify     the grader scores every autograded cell outside the kernel
               (``coursekit.engine.verify``)
    decide     the only place a score is set (``coursekit.engine.decide``); the graded
               notebook gets the grader's outputs (``coursekit.engine.annotate``)
    collect    the autograded files, for the master to record (``coursekit.engine.record``)

Every submission has one deadline (``GradingSettings.timeout``, from the start of the job) for
every stage together. The kernel starts no cell after the deadline less a reserve for the
grader's checks (:func:`reserve`; ``RecoveringExecute.deadline``) and stops the cell it runs
then; nbgrader grades what ran, the checks run in the reserve, and the result is marked
``timed_out`` with what was graded so far (the cells not run score zero). Only a job that
overruns even that is killed, and the submission fails. Any exception in a stage makes the result ``failed`` with
``"<stage>: <error>"`` as its reason; ``GradingSettings.faults`` raises one on purpose.
"""
import json
import math
import shutil
import tempfile
import time
from pathlib import Path

from coursekit.engine import annotate, decide, execute, workspace
from coursekit.engine.job import Result
from coursekit.isolation import cgroup

__all__ = ["grade", "FaultInjected"]


class FaultInjected(RuntimeError):
    """Raised where ``GradingSettings.faults`` names the stage (fault-injection tests)."""


def _incidents(nb):
    """One note per kernel death, timeout or poisoned CUDA context (coursekit.engine.recovering)
    and per cell whose output was cut while it ran (coursekit.engine.outputcap)."""
    notes, found = [], nb.get("metadata", {}).get("coursekit", {})
    for incident in found.get("incidents", [])[:20]:
        where = incident.get("grade_id") or f"cell {incident.get('cell')}"
        kind = incident.get("kind")
        label = "timed out" if kind == "deadline" else f"kernel {kind}"
        notes.append(f"{label} in {where}: "
                     f"{' '.join(str(incident.get('message', '')).split())[:300]}")
    for cut in found.get("output_cut", [])[:20]:
        where = cut.get("grade_id") or f"cell {cut.get('cell')}"
        notes.append(f"{cut.get('message')} ({where}; the rest was not kept)")
    return notes


def reserve(timeout):
    """Seconds of a submission's ``timeout`` kept for the grader's checks and the stages after
    the kernel's run: a quarter, at most 120 s (checks take 5-30 s on a loaded 2-core
    grader)."""
    return min(120.0, timeout / 4)


def _kernel_claims(instructor_root, assignment_id, notebook, claimed):
    """``{grade_id: (kernel points, max points)}`` of every autograded cell of the instructor's
    source notebook (trusted: the job's own bytes), with the points the grading job read from
    the kernel's run (``claimed``, ``gradejob.kernel_points``): a cell it does not claim, or
    claims as no finite number, scores 0 in the kernel (fail closed: without bwrap a kernel
    could forge the job's result file); a claim is never more than the cell's points."""
    from coursekit.engine.verify.answers import read_instructor

    source = json.loads((Path(instructor_root) / "source" / assignment_id / notebook)
                        .read_text())
    claims = {}
    for grade_id, most in read_instructor(source).points.items():
        value = claimed.get(grade_id)
        value = float(value) if isinstance(value, (int, float)) else 0.0
        claims[grade_id] = (min(max(value, 0.0), most) if math.isfinite(value) else 0.0, most)
    return claims


class _Run:
    """The stages of one job (see the module docstring)."""

    def __init__(self, job, result, course):
        self.job, self.result, self.course, self.stage = job, result, course, None
        self.group = None  # the submission's cgroup (coursekit.isolation.cgroup), if any
        timeout = job.settings.timeout
        self.deadline = time.monotonic() + timeout if timeout else None

    def enter(self, stage):
        self.stage = stage
        if self.job.settings.faults.get(self.job.student) == stage:
            raise FaultInjected(f"fault injected in the {stage} stage")

    def left(self):
        return None if self.deadline is None else max(self.deadline - time.monotonic(), 1.0)

    def kernel_budget(self):
        """(seconds before nbgrader is killed, Unix time when the kernel stops running cells):
        the deadline less the checks' :func:`reserve`, and less half of it."""
        left = self.left()
        if left is None:
            return None, None
        keep = reserve(self.job.settings.timeout)
        return max(left - keep / 2, 1.0), time.time() + max(left - keep, 1.0)

    def overran(self):
        return self.deadline is not None and time.monotonic() > self.deadline

    def run(self):
        job, result, course = self.job, self.result, self.course
        self.enter("prepare")
        workspace.unpack(job.course_tar, course)
        (course / "gradebook.db").write_bytes(job.gradebook)
        workspace.unpack(job.submission_tar, course / "submitted" / job.student)
        sandboxed, result.sandbox = execute.sandbox_state(job.settings.sandbox)
        limits = job.settings.sandbox
        self.group, why = cgroup.create(
            job.student, memory=limits.submission_memory, pids=limits.submission_processes,
            cpus=int(result.env.get("OMP_NUM_THREADS") or 1))  # its share: cores // slots
        result.limits = self.group.describe() if self.group else f"WARNING: {why}"
        from coursekit.course.manifest import load_manifest

        manifest = load_manifest(course, job.assignment)
        self.enter("execute")
        timeout, cells_until = self.kernel_budget()
        kernel = execute.execute(course, job, result.env, sandboxed, timeout, group=self.group,
                                 cells_until=cells_until)
        result.kernels = kernel.kernels
        if kernel.runtime not in (None, "tmpfs"):
            result.notes.append(f"limits: the kernel's runtime folder stayed on the host's disk "
                                f"({kernel.runtime}): run the grader as root")
        self.enter("preflight")
        if not self.graded(kernel, manifest):
            return
        self.enter("verify")
        from coursekit.engine.verify import task_device, verify

        graded = course / "autograded" / job.student / job.assignment / manifest.notebook
        nb = json.loads(graded.read_text())
        result.notes += _incidents(nb)
        result.timed_out = any(i.get("kind") == "deadline" for i in
                               nb.get("metadata", {}).get("coursekit", {}).get("incidents", []))
        grades = result.notebooks[Path(manifest.notebook).stem]["grades"]
        # The checks, the reference and the source notebook's setup run in this process: take
        # them from the job's own bytes, never from the course folder the kernel has run in
        # (without bwrap a kernel could have rewritten them there).
        with tempfile.TemporaryDirectory(prefix="coursekit-instructor-") as pristine:
            workspace.unpack(job.course_tar, pristine)
            kernel_points = _kernel_claims(pristine, job.assignment, manifest.notebook,
                                           kernel.points.get(Path(manifest.notebook).stem, {}))
            found = verify(course, job, load_manifest(pristine, job.assignment),
                           {g: m for g, (_, m) in kernel_points.items()}, sandboxed,
                           task_device(result.env), self.deadline, instructor_root=pristine,
                           group=self.group)
        if self.overran():
            result.timed_out = True
            result.notes.append(f"timed out: the grader's checks ran past the submission's "
                                f"time limit ({job.settings.timeout:g} s); a check not finished "
                                f"scores zero")
        self.enter("decide")
        decision = decide.decide(manifest, kernel_points, found.verdicts)
        for grade_id, score in decision.cells.items():
            grades[grade_id]["auto_score"] = score.final
        graded.write_text(json.dumps(annotate.annotate(nb, manifest, decision, found.verdicts),
                                     indent=1, ensure_ascii=False) + "\n")
        result.notes += found.notes + decision.notes
        result.suspicious, result.tampering = found.suspicious, decision.tampering
        result.withheld, result.status = decision.withheld, decision.status
        self.enter("collect")
        result.files = workspace.read_files(graded.parent)

    def graded(self, kernel, manifest):
        """Whether nbgrader graded the submission; if not, the result says why."""
        job, result = self.job, self.result
        limit = f"timed out after {job.settings.timeout} s (nbgrader killed)"
        check = kernel.preflight or {"gradable": False, "notes": [], "reason": (
            f"{limit}, before the submission was checked" if kernel.timed_out else
            f"the grading job died before the submission was checked: "
            f"{execute.failure_reason(kernel.log)}")}
        result.notes = [*job.notes, *check["notes"], *result.notes]
        result.timed_out = kernel.timed_out
        if not check["gradable"]:  # nbgrader did not run; the log says why
            result.reason = check["reason"]
            result.log = "\n".join(["coursekit preflight: not gradable: " + check["reason"],
                                    *check["notes"]])
            return False
        log, tail = kernel.log, "\n".join(kernel.log.splitlines()[-30:])
        if kernel.timed_out:
            result.reason, result.timed_out = limit, True
        elif kernel.exit != 0:
            log = f"nbgrader autograde failed ({kernel.exit}):\n{tail}"
            result.reason = execute.failure_reason(log)
        result.log = "\n".join(line[:2000] for line in log.splitlines()[-40:])
        submission = kernel.submission
        result.in_gradebook, result.notebooks = submission["in_gradebook"], \
            submission["notebooks"]
        if submission["timestamp"]:
            from datetime import datetime

            result.timestamp = datetime.fromisoformat(submission["timestamp"])
        folder = self.course / "autograded" / job.student / job.assignment
        missing = [nb for nb in result.notebooks if not (folder / f"{nb}.ipynb").is_file()]
        if result.reason is None and (missing or Path(manifest.notebook).stem
                                      not in result.notebooks):
            result.reason = f"nbgrader wrote no autograded notebook {missing or ''}"
        if result.reason is None and kernel.points is None:
            result.reason = (f"the grading job could not read the kernel's points: "
                             f"{kernel.points_error or 'no reason given'}")
        return result.reason is None


def _close_group(group, result):
    """End the submission's cgroup; its peak memory and out-of-memory kills into ``result``."""
    usage = group.close()
    result.memory_peak = usage["peak"]
    if usage["oom_kills"]:
        result.notes.append(f"memory: the submission reached its limit of "
                            f"{group.memory / 2 ** 30:.3g} GiB (Sandbox.submission_memory, "
                            f"shared memory and files in /tmp included); the out-of-memory "
                            f"killer ended {usage['oom_kills']} of its processes")


def grade(job):
    """Grade one submission in a private temporary course; a :class:`Result`, never raises."""
    start = time.perf_counter()
    name, address, host = execute.whoami()
    result = Result(job.student, worker=address,
                    env=execute.task_env(job.placement, name, host))
    course = Path(tempfile.mkdtemp(prefix=f"coursekit-{job.assignment}-")).resolve()
    result.course = str(course)
    run = _Run(job, result, course)
    try:
        run.run()
    except Exception as err:  # noqa: BLE001 - recorded as this submission's failure
        result.status = "failed"
        result.reason = f"{run.stage}: {type(err).__name__}: {' '.join(str(err).split())[:300]}"
        result.files = {}
        import traceback

        result.log = "\n".join([result.log, traceback.format_exc()[-4000:]]).strip()
    finally:
        if run.group is not None:
            _close_group(run.group, result)
        shutil.rmtree(course, ignore_errors=True)
        result.seconds = round(time.perf_counter() - start, 3)
    return result
