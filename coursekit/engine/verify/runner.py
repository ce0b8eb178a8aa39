"""The verify stage: the grader scores every autograded cell itself, outside the kernel.

For each cell the manifest gives to the grader (``coursekit.course.manifest``), in the grader's
own process, which never runs student code:

- ``grader = "check"``: the check (``assignments/<a>/checks``) is called with
  :class:`~coursekit.engine.verify.standin.StudentFunction` stand-ins, which run the student's
  functions in the verification child and return only data;
- ``grader = "visible"``: the cell's own test code, taken from the instructor's source notebook,
  runs on the instructor's setup (run here) with the same stand-ins.

Each cell gets a :class:`Verdict`: ``passed`` (all points), ``partial`` (the points a check
returned),
``failed`` (a wrong answer, or anything the student's code did or failed to do outside the
kernel: one line says what) or ``withheld`` (the grader itself failed: the child did not start,
a setup or a check broke; no submission can cause these, and the cell waits for review).

A check that raises something else than an ``AssertionError`` may have met values it cannot
use (a tensor of an odd dtype, an input rebound to something else, a list that is a number):
the student's doing. So the cell is run again as a *control*, with the reference
implementation's functions (``manifest.reference``) in place of the student's. If the control
passes, the student's values broke the check and the cell fails; only if the control fails too
is the check itself at fault, and the cell is withheld.
"""
import contextlib
import inspect
import io
import os
from dataclasses import dataclass, replace

from coursekit.engine.verify.remote import GraderFault
from coursekit.engine.verify.standin import StudentFunction

__all__ = ["Verdict", "verify_cells"]


@dataclass(frozen=True)
class Verdict:
    """The grader's verdict on one cell (points in the cell's own unit, nbgrader's points)."""
    grade_id: str
    outcome: str            # "passed" | "partial" | "failed" | "withheld"
    points: float
    max_points: float
    message: str = None     # one line: what failed, or why the grader could not decide
    output: str = ""        # what the check printed (e.g. the model's accuracies)


def _one_line(text, limit=400):
    # cut first: a child's error text can be megabytes, and split() makes an object a word
    return " ".join(str(text)[:4 * limit].split())[:limit]


def _fill(value, submission):
    if isinstance(value, str):
        return value.replace("{submission}", str(submission))
    if isinstance(value, (list, tuple)):
        return [_fill(v, submission) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, submission) for k, v in value.items()}
    return value


def _setup_namespace(instructor, device):
    """The notebook's setup cells run here (trusted instructor code), on ``device``."""
    saved = os.environ.get("USEFUNS_DEVICE")
    os.environ["USEFUNS_DEVICE"] = str(device)
    namespace = {"__name__": "__main__"}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for index, source in enumerate(instructor.setup):
                clean = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                                  for line in source.splitlines())
                exec(compile(clean, f"<setup {index}>", "exec"), namespace)  # noqa: S102
    except Exception as err:  # noqa: BLE001 - the instructor's setup broke: not the student's
        raise GraderFault(f"the notebook's setup failed in the grader "
                          f"({type(err).__name__}: {_one_line(err, 200)})") from None
    finally:
        if saved is None:
            os.environ.pop("USEFUNS_DEVICE", None)
        else:
            os.environ["USEFUNS_DEVICE"] = saved
    namespace.update(instructor.constants)
    return namespace


class _Cells:
    """Runs the cells of one submission; the child and the setup are made when first needed."""

    def __init__(self, manifest, instructor, code, submission, child_factory, device):
        self.manifest, self.instructor, self.code = manifest, instructor, code
        self.submission, self.child_factory, self.device = submission, child_factory, device
        self.child, self.base, self.checks, self.reference = None, None, None, None

    def functions(self, names):
        if names and self.child is None:
            if isinstance(self.child_factory, GraderFault):  # it failed for an earlier cell
                raise self.child_factory
            try:
                self.child = self.child_factory()
            except GraderFault as fault:
                self.child_factory = fault
                raise
        return {name: StudentFunction(self.child, name, self.code) for name in names}

    def reference_functions(self, names):
        """The reference implementation's functions ``names`` (trusted code, run here)."""
        if self.reference is None:
            from coursekit.hidden import load_module

            try:
                self.reference = load_module(
                    self.manifest.folder / self.manifest.reference,
                    f"_coursekit_grader_reference_{self.manifest.assignment}")
            except Exception as err:  # noqa: BLE001
                raise GraderFault(f"the reference could not be loaded ({type(err).__name__}: "
                                  f"{_one_line(err, 200)})") from None
        missing = [n for n in names if not hasattr(self.reference, n)]
        if missing:
            raise GraderFault(f"the reference has no {', '.join(missing)}")
        return {name: getattr(self.reference, name) for name in names}

    def run(self, spec, control=False):
        """(value, printed) of the cell; ``control``: with the reference's functions."""
        functions = (self.reference_functions if control else self.functions)(spec.uses)
        if spec.grader == "visible":  # a control gets a fresh setup: the student may have
            return self.visible(spec, functions, fresh=control)  # changed the shared one
        return self.check(spec, functions)

    def visible(self, spec, functions, fresh=False):
        if fresh:
            base = _setup_namespace(self.instructor, self.device)
        else:
            if self.base is None:
                self.base = _setup_namespace(self.instructor, self.device)
            base = self.base
        namespace = {**base, **functions}
        source = self.instructor.tests[spec.grade_id]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(source, f"<{spec.grade_id}>", "exec"), namespace)  # noqa: S102
        return None, out.getvalue()

    def check(self, spec, functions):
        if self.checks is None:
            from coursekit.hidden import load_module

            try:
                self.checks = load_module(self.manifest.folder / spec.check[0],
                                          f"_coursekit_grader_{self.manifest.assignment}")
            except Exception as err:  # noqa: BLE001
                raise GraderFault(f"the checks could not be loaded ({type(err).__name__}: "
                                  f"{_one_line(err, 200)})") from None
        check = getattr(self.checks, spec.check[1], None)
        if check is None:
            raise GraderFault(f"the checks have no {spec.check[1]}")
        constants = []
        for name in spec.constants:
            if name not in self.instructor.constants:
                raise GraderFault(f"the source notebook sets no constant {name}")
            constants.append(self.instructor.constants[name])
        args = [*functions.values(), *_fill(spec.args, self.submission),
                *constants]
        kwargs = _fill(spec.kwargs, self.submission)
        if "device" in inspect.signature(check).parameters:
            kwargs["device"] = self.device
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            value = check(*args, **kwargs)
        return value, out.getvalue()

    def not_data(self):
        """What the student's functions gave back in this cell that is not data."""
        return self.child.not_data if self.child is not None else []

    def close(self):
        if self.child is not None:
            self.child.close()


def _judge(spec, max_points, run, not_data=list, control=None):
    """Run one cell (``run()`` -> (value, printed)) and turn what happens into a verdict.

    ``not_data()`` (asked after the cell ran) lists what the student's functions gave back
    that is not data (a sparse tensor, an object); ``control()`` runs the cell with the
    reference's functions. An exception that is neither a failed assertion nor the grader's
    own fault fails the cell when the student's values caused it (they were not data, the
    student's code raised it, or the control passes) and withholds it only when the control
    fails too."""
    try:
        value, printed = run()
    except GraderFault as err:
        return Verdict(spec.grade_id, "withheld", 0.0, max_points,
                       f"the grader could not check this cell: {_one_line(err)}")
    except AssertionError as err:
        return Verdict(spec.grade_id, "failed", 0.0, max_points,
                       _one_line(err) or "AssertionError")
    except Exception as err:  # noqa: BLE001 - whose fault decides the outcome
        text = f"{type(err).__name__}: {_one_line(err)}"
        if not_data():
            return Verdict(spec.grade_id, "failed", 0.0, max_points, _one_line(
                f"{not_data()[0]}, which the grader cannot compare (it compares dense tensors, "
                f"numbers, strings and lists, tuples or dicts of them)"))
        if getattr(err, "coursekit_from_student", False):
            return Verdict(spec.grade_id, "failed", 0.0, max_points, text)
        fault = _control_fault(control)
        if fault is None:
            return Verdict(spec.grade_id, "failed", 0.0, max_points, _one_line(
                f"{text} (the test runs with correct functions: what yours return or change "
                f"is not what it expects)"))
        return Verdict(spec.grade_id, "withheld", 0.0, max_points,
                       f"the grader could not check this cell: {text} ({fault})")
    if spec.returns_score:
        try:
            points = min(max(float(value), 0.0), max_points)
        except (TypeError, ValueError):
            return Verdict(spec.grade_id, "withheld", 0.0, max_points,
                           f"the check returned {value!r}, not points")
        full = points >= max_points
        return Verdict(spec.grade_id, "passed" if full else "partial", points, max_points,
                       None if full else f"{points:g} of {max_points:g} points", printed)
    return Verdict(spec.grade_id, "passed", max_points, max_points, None, printed)


def _control_fault(control):
    """None if the cell passes with the reference's functions, else why it does not."""
    if control is None:
        return "no control was run"
    try:
        control()
    except Exception as err:  # noqa: BLE001 - the check fails with correct code: the grader's
        return f"it fails with the reference too: {type(err).__name__}: {_one_line(err, 200)}"
    return None


def _hide_paths(verdict, submission):
    """The verdict without the grader's folders: ``<submission>/best_model.pt`` reads
    ``best_model.pt``, as the student knows it."""
    folder = f"{submission}/"
    if folder not in (verdict.message or "") + verdict.output:
        return verdict
    return replace(verdict, message=verdict.message and verdict.message.replace(folder, ""),
                   output=verdict.output.replace(folder, ""))


def verify_cells(manifest, instructor, code, submission, max_points, child_factory, device):
    """Verdicts on the cells of ``max_points`` that the manifest gives to the grader.

    Args:
        manifest: the assignment's :class:`~coursekit.course.manifest.Manifest`.
        instructor: :class:`~coursekit.engine.verify.answers.Instructor` of the source notebook.
        code: the student's :class:`~coursekit.engine.verify.code.StudentCode`.
        submission: the student's submitted folder (``"{submission}"`` in arguments).
        max_points: ``{grade_id: points}`` of the autograded cells in the graded notebook.
        child_factory: ``() -> Child`` (called once, when a cell first needs the student's code).
        device: where the student's functions and the checks run (``"cpu"``, ``"cuda:0"``).

    Returns:
        ``{grade_id: Verdict}``; a graded cell the manifest does not know is withheld.
    """
    cells = _Cells(manifest, instructor, code, submission, child_factory, device)
    verdicts = {}
    try:
        for grade_id, most in max_points.items():
            spec = manifest.cells.get(grade_id)
            if spec is None or not spec.graded_outside:
                if spec is None:
                    verdicts[grade_id] = Verdict(
                        grade_id, "withheld", 0.0, most, "the grader could not check this "
                        "cell: the assignment's manifest.toml has no entry for it")
                continue
            if cells.child is not None:
                cells.child.not_data.clear()
            verdicts[grade_id] = _hide_paths(_judge(
                spec, most, lambda s=spec: cells.run(s), cells.not_data,
                lambda s=spec: cells.run(s, control=True)), submission)
    finally:
        cells.close()
    return verdicts
