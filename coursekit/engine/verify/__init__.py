"""The verify stage: the grader decides every autograded cell, outside the kernel.

- ``answers``: what verification takes from the source and the graded notebook;
- ``code``: the student's code read by the grader (static checks);
- ``remote``: the verification child and the stand-ins for the student's functions;
- ``runner``: each manifest cell run by the grader, a :class:`~runner.Verdict` each;
- ``scan``: the static scan that lists code reaching for the grader's machinery (for review).

:func:`verify` runs it for one submission's private course.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.engine.verify.answers import read_instructor, student_cells
from coursekit.engine.verify.code import StudentCode
from coursekit.engine.verify.remote import Child, GraderFault
from coursekit.engine.verify.runner import Verdict, verify_cells
from coursekit.engine.verify.scan import scan

__all__ = ["Verification", "Verdict", "verify", "task_device"]


@dataclass
class Verification:
    """The verify stage's output for one notebook."""
    verdicts: dict = field(default_factory=dict)   # grade_id -> Verdict
    notes: list = field(default_factory=list)
    suspicious: list = field(default_factory=list)


def task_device(env):
    """Where the student's functions and the checks run: the task's ``USEFUNS_DEVICE`` (its
    share of the GPUs), else CUDA where there is a GPU, else the CPU."""
    if env.get("USEFUNS_DEVICE"):
        return env["USEFUNS_DEVICE"]
    from usefuns.utils import get_device

    return str(get_device())


def verify(course, job, manifest, max_points, sandboxed, device, deadline=None,
           instructor_root=None, group=None):
    """Verdicts on one submission's autograded cells (``max_points``: {grade_id: points}).

    Args:
        course: the private course (``source/``, ``autograded/<s>/<a>/``, ``submitted/``).
        job: the :class:`~coursekit.engine.job.Job` (assignment, student, sandbox limits).
        manifest: the assignment's manifest.
        sandboxed: run the verification child in bwrap.
        device: where the student's functions run (see :func:`task_device`).
        deadline: ``time.monotonic()`` past which no student function is run.
        instructor_root: where the source notebook is read (default: ``course``); the
            pipeline gives a fresh copy that no student code has run in.
        group: the submission's cgroup (``coursekit.isolation.cgroup``): the verification
            child runs in it, as the kernel did.
    """
    from coursekit.isolation.sandbox import child_command

    name = manifest.notebook
    source = json.loads((Path(instructor_root or course) / "source" / job.assignment / name)
                        .read_text())
    graded = json.loads((course / "autograded" / job.student / job.assignment / name).read_text())
    instructor, cells = read_instructor(source), student_cells(source, graded)
    code = StudentCode(cells)
    submission = course / "submitted" / job.student / job.assignment
    children = []

    def child():
        if job.settings.faults.get(job.student) == "child":
            raise GraderFault("fault injected: the verification child did not start")
        command, start = child_command(course, job.assignment, job.student,
                                       job.settings.sandbox, sandboxed, group)
        children.append(Child(command, start, instructor.setup, cells, device, deadline))
        return children[-1]

    out = Verification()
    out.verdicts = verify_cells(manifest, instructor, code, submission, max_points, child,
                                device)
    for made in children:
        out.notes += [f"outside the notebook, skipped line {line} of {label}: {text} ({why})"
                      for label, line, text, why in made.skipped[:10]]
    out.suspicious = scan(cells)
    if out.suspicious:
        shown = "; ".join(out.suspicious[:5]) + ("; ..." if len(out.suspicious) > 5 else "")
        out.notes.append(f"review: the code reaches for the grader's machinery ({shown})")
    return out
