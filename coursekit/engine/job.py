"""One submission's grading job and its result: what travels between the master and a worker.

The master (``coursekit.parallel``) sends a :class:`Job` to a worker; the worker's pipeline
(``coursekit.engine.pipeline``) returns a :class:`Result`, which the master records
(``coursekit.engine.record``). Everything a job needs besides its files is in its
:class:`GradingSettings` (what the instructor chose, the same for the whole batch) and its
:class:`Placement` (where the batch runs: task slots per host, GPUs, fork servers).
"""
from dataclasses import dataclass, field

from coursekit.isolation.settings import SandboxLimits

__all__ = ["GradingSettings", "Placement", "Job", "Result", "STAGES", "SUBMISSION_SECONDS"]

# One submission's wall-clock budget by default: a complete notebook takes 20-60 s on a loaded
# 2-core grader, a cell may run Execute.timeout (180 s), and a hanging or looping submission
# must not hold a worker for ever.
SUBMISSION_SECONDS = 1200.0

STAGES = ("prepare", "preflight", "execute", "verify", "decide", "collect")


@dataclass(frozen=True)
class GradingSettings:
    """The instructor's choices for a batch.

    Attributes:
        sandbox: the sandbox and its limits.
        timeout: seconds for one submission, from the start of its job: its nbgrader run and
            the grader's checks share this deadline (None: no limit; default
            :data:`SUBMISSION_SECONDS`).
        lean: run the grading job in a fork of a process that imported nbgrader.
        warm: start kernels outside bwrap as forks of a process that imported torch.
        faults: ``{student: stage}`` (a stage of ``STAGES`` or ``"record"``): raise there
            for that submission (fault injection, for tests); ``"child"``: its verification
            child does not start (a fault of the grader: the cells that need the student's
            code are withheld for review).
    """
    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    timeout: float = SUBMISSION_SECONDS
    lean: bool = True
    warm: bool = True
    faults: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Placement:
    """Where a batch's tasks run.

    Attributes:
        slots: ``{host: task slots}`` (threads per task = cores // slots).
        gpu: ``{worker name: env}`` (``USEFUNS_DEVICE``, ``USEFUNS_CUDA_MEMORY_FRACTION``).
        servers: ``{profile: socket path}`` of a local cluster's fork servers.
    """
    slots: dict = field(default_factory=dict)
    gpu: dict = field(default_factory=dict)
    servers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """One submission to grade, with everything the worker needs as bytes.

    Attributes:
        course_tar: tar of ``nbgrader_config.py``, ``source/<a>/``, ``release/<a>/`` and
            ``assignments/<a>/`` without its samples.
        gradebook: the master's ``gradebook.db`` (a consistent snapshot).
        submission_tar: tar of ``submitted/<student>/<a>/`` (within the limits of
            ``coursekit.engine.workspace.pack_submission``).
        notes: what the master set aside while packing, for the submission's status.
    """
    assignment: str
    student: str
    course_tar: bytes
    gradebook: bytes
    submission_tar: bytes
    settings: GradingSettings
    placement: Placement = field(default_factory=Placement)
    notes: tuple = ()


@dataclass
class Result:
    """What grading one submission gave.

    Attributes:
        status: ``"graded"``, ``"needs_review"`` (points withheld until an instructor reviews)
            or ``"failed"`` (not graded; ``reason`` says why).
        notebooks: per notebook name: ``late_submission_penalty``, ``grades`` ({grade_id:
            ``auto_score``, ``max_score``, ``needs_manual_grade``}, the decided scores) and
            ``comments`` ({id: ``auto_comment``}).
        files: ``{relative path: (mode, bytes)}`` of ``autograded/<student>/<a>/``.
        withheld: ``{grade_id: {"kernel": points, "reason": text}}`` for the review.
        course: the worker's private course folder (tracebacks name it).
        limits: what bounded the submission as a whole (its cgroup), or a WARNING that says
            why nothing did (``coursekit.isolation.cgroup``).
        memory_peak: the most memory its processes used together, bytes (None: unknown).
        timed_out: its deadline ran out (``GradingSettings.timeout``): what was graded before
            counts, the cells not run score zero (or it failed, if nothing could be graded).
    """
    student: str
    status: str = "failed"
    reason: str = None
    notes: list = field(default_factory=list)
    notebooks: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    in_gradebook: bool = False
    timestamp: object = None
    log: str = ""
    seconds: float = 0.0
    worker: str = ""
    sandbox: str = None
    kernels: str = None
    tampering: bool = False
    suspicious: list = field(default_factory=list)
    withheld: dict = field(default_factory=dict)
    course: str = ""
    env: dict = field(default_factory=dict)
    limits: str = None
    memory_peak: int = None
    timed_out: bool = False

    @property
    def ok(self):
        """Whether the submission was graded (its scores are to be recorded)."""
        return self.status in ("graded", "needs_review")

    def status_entry(self):
        """The submission's entry in the status file (``coursekit.course.status``)."""
        return {"status": self.status, "reason": self.reason, "seconds": self.seconds,
                "worker": self.worker, "notes": list(self.notes), "sandbox": self.sandbox,
                "kernels": self.kernels, "tampering": self.tampering,
                "suspicious": list(self.suspicious), "withheld": dict(self.withheld),
                "limits": self.limits, "memory_peak": self.memory_peak,
                "timed_out": self.timed_out}
