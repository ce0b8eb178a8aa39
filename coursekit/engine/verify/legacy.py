"""Out-of-kernel verification: hidden checks the student's code cannot reach.

During autograde a student's code runs in the same kernel as the tests, so it can replace
``torch.allclose``, the test helpers, ``sys.modules`` entries, or the kernel's error reporting,
and a test cell then "passes". So after nbgrader, the grader re-runs the hidden checks listed in
``assignments/<a>/verification.py`` in its own process (which never runs student code), with
each student function replaced by a proxy: the call's inputs go, as plain data, to a separate
sandboxed process (``coursekit.isolation.child``) that holds only the student's answer cells
(reduced to imports, definitions and literal constants), and only the returned values come
back (``torch.load(weights_only=True)``: tensors and plain containers, nothing executable).
Checks that need no student code at all (the submitted checkpoint's accuracy) run directly.

A cell whose kernel score is higher than its verified score gets the verified score, an error
output that says so in the graded notebook, and a note in the submission's status; nothing is
ever raised. A check that cannot run because the answer uses a name that only an instructor
cell of the notebook defines is inconclusive: the kernel score stands, with a note.

``verification.py`` holds ``CELLS = {grade_id: {"module": "checks", "check": "check_forward",
"functions": ["nn_forward_pass"], "args": [...], "kwargs": {...}, "score": False}}``; with
``"score": True`` the check returns points (else it passes by returning and fails by raising
``AssertionError``); ``"{submission}"`` in an argument is the submission's folder.
"""
import ast
import builtins
import contextlib
import importlib.util
import inspect
import io
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["verify_submission", "VerifyChild"]

CALL_TIMEOUT = 120.0   # seconds for one call of a student function in the child
TOLERANCE = 0.1        # points: a score check may differ this much (device round-off)


class Inconclusive(BaseException):
    """The child could not run the answer for a reason that is not the student's (BaseException:
    the checks' ``except Exception`` must not turn it into a failed check)."""


class VerifyChild:
    """The sandboxed process holding the student's answers; one per submission."""

    def __init__(self, command, setup, answers, device, instructor_names):
        self.instructor_names = set(instructor_names)
        self.command, self.proc = command, None
        self.load = {"op": "load", "setup": setup, "answers": answers, "device": device}
        # its own empty working folder: without bwrap, what it writes lands there, not here
        self.cwd = tempfile.mkdtemp(prefix="coursekit-verify-")
        self._start()

    def _start(self):
        """A fresh process with the answers loaded (again, after one died or hung)."""
        if self.proc is not None:
            self.close(keep_folder=True)
        self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     cwd=self.cwd)
        reply = self.request(dict(self.load), timeout=CALL_TIMEOUT)
        if not reply["ok"]:
            raise Inconclusive(f"the answers could not be loaded: {reply['error']}")

    def request(self, message, timeout):
        import torch

        from coursekit.isolation.child import write_frame

        callbacks = message.pop("callbacks", [])
        originals = message.pop("originals", {})
        buffer = io.BytesIO()
        torch.save(message, buffer)
        try:
            write_frame(self.proc.stdin, buffer.getvalue())
            while True:
                payload = self._read(timeout)
                try:
                    reply = torch.load(io.BytesIO(payload), weights_only=True)
                except Exception as err:  # noqa: BLE001 - anything else than plain data
                    return {"ok": False, "error": f"the answer sent back something that is not "
                                                  f"plain data ({type(err).__name__})"}
                if not (isinstance(reply, dict) and isinstance(reply.get("callback"), int)):
                    break
                # the student's code calls one of the grader's functions (e.g. a reference)
                try:
                    fn = callbacks[reply["callback"]]
                    answer = {"ok": True, "value": fn(*_decode(reply.get("args", []), originals),
                                                      **_decode(reply.get("kwargs", {}),
                                                                originals))}
                except Exception as err:  # noqa: BLE001 - reported to the student's code
                    answer = {"ok": False, "error": f"{type(err).__name__}: {err}"}
                buffer = io.BytesIO()
                torch.save(answer, buffer)
                write_frame(self.proc.stdin, buffer.getvalue())
        except (OSError, ValueError) as err:
            return {"ok": False, "error": f"the process running the answer ended ({err})"}
        return reply if isinstance(reply, dict) and "ok" in reply else {
            "ok": False, "error": "the answer's process sent a malformed reply"}

    def _read(self, timeout):
        deadline = time.monotonic() + timeout
        data, need = b"", None
        fd = self.proc.stdout.fileno()
        while need is None or len(data) < 8 + need:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.close(keep_folder=True)
                raise OSError(f"no answer within {timeout:.0f} s")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise OSError(f"exit code {self.proc.wait()}")
            data += chunk
            if need is None and len(data) >= 8:
                need = int.from_bytes(data[:8], "big")
        return data[8:8 + need]

    def function(self, name):
        """A stand-in for the student's ``name`` that runs it in the child."""
        def remote(*args, **kwargs):
            if self.proc.poll() is not None:  # an earlier call ended it (os._exit, a crash)
                self._start()
            callbacks, originals = [], {}
            reply = self.request({"op": "call", "fn": name,
                                  "args": _marked(list(args), callbacks, originals, "args"),
                                  "kwargs": _marked(kwargs, callbacks, originals, "kwargs"),
                                  "callbacks": callbacks, "originals": originals},
                                 timeout=CALL_TIMEOUT)
            if reply["ok"]:
                _decode(reply.get("state"), originals)  # in-place updates reach our objects
                return reply["value"]
            missing = reply.get("name")
            if missing and missing in self.instructor_names:
                raise Inconclusive(f"{name} uses {missing!r}, which an instructor cell defines")
            kind, _, text = reply["error"].partition(": ")
            error = getattr(builtins, kind, None)  # the same built-in type: same advice
            if not (isinstance(error, type) and issubclass(error, Exception)):
                error, text = RuntimeError, reply["error"]
            raised = error(text)
            raised.coursekit_from_student = True
            raise raised
        remote.__name__ = remote.coursekit_student_function = name
        return remote

    def close(self, keep_folder=False):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if not keep_folder:
            shutil.rmtree(self.cwd, ignore_errors=True)


def _marked(value, callbacks, originals, path):
    """Arguments as plain data: the student's functions (stand-ins) become markers the child
    resolves, the grader's functions markers it calls back through (``callbacks`` grows), and
    every dict and tensor is recorded in ``originals`` by its path (see ``_decode``)."""
    import torch

    from coursekit.isolation.child import FUNCTION, GRADER

    if callable(value) and hasattr(value, "coursekit_student_function"):
        return {FUNCTION: value.coursekit_student_function}
    if callable(value):
        callbacks.append(value)
        return {GRADER: len(callbacks) - 1}
    if isinstance(value, (dict, torch.Tensor)):
        originals[path] = value
    if isinstance(value, dict):
        return {k: _marked(v, callbacks, originals, f"{path}/{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_marked(v, callbacks, originals, f"{path}/{i}")
                           for i, v in enumerate(value))
    return value


def _decode(value, originals):
    """Plain data from the child, where an argument we passed in (``{REF: path, "value"}``)
    becomes that very object of ours, updated to the child's value: a tensor in place, a dict
    entry by entry (rebound entries rebound here too). So checks that look at identity and
    in-place updates (``check_train``) see what they would see in one process."""
    import torch

    from coursekit.isolation.child import REF

    if isinstance(value, dict) and REF in value:
        mine, theirs = originals.get(value[REF]), _decode(value["value"], originals)
        if isinstance(mine, torch.Tensor) and isinstance(theirs, torch.Tensor):
            with torch.no_grad():
                if mine.shape == theirs.shape:
                    mine.copy_(theirs)
                else:
                    mine.data = theirs.to(mine.device, mine.dtype)
            return mine
        if isinstance(mine, dict) and isinstance(theirs, dict):
            mine.clear()
            mine.update(theirs)
            return mine
        return theirs
    if isinstance(value, dict):
        return {k: _decode(v, originals) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_decode(v, originals) for v in value)
    return value


def _load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cells(notebook):
    """(setup sources, answer sources, names defined by instructor cells) of a notebook."""
    setup, answers, names, seen_answer = [], [], set(), False
    for cell in notebook["cells"]:
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", ""))
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            answers.append(source)
            seen_answer = True
            continue
        if meta.get("grade"):
            continue
        clean = "\n".join(line for line in source.splitlines()
                          if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(clean)
        except SyntaxError:
            continue
        names.update(node.id for node in ast.walk(tree)
                     if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store))
        if not seen_answer:  # the notebook's setup: imports, device, toy data
            setup.append(clean)
    return setup, answers, names


def _added_cells(source, graded):
    """Code cells the student added (helpers they wrote outside the answer cells)."""
    known = {"".join(c.get("source", "")).strip() for c in source["cells"]}
    return ["".join(c.get("source", "")) for c in graded["cells"]
            if c.get("cell_type") == "code" and not c.get("metadata", {}).get("nbgrader")
            and "".join(c.get("source", "")).strip() not in known]


def _grade_cells(notebook):
    return {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell.get("source", ""))
            for cell in notebook["cells"]
            if cell.get("cell_type") == "code" and cell.get("metadata", {}).get(
                "nbgrader", {}).get("grade") and "grade_id" in cell["metadata"]["nbgrader"]}


def _constants(sources):
    """``{name: value}`` of the literal assignments in the instructor's answer cells."""
    found = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                    node.targets[0], ast.Name):
                try:
                    found[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    pass
    return found


def _instructor_namespace(setup, constants):
    """The notebook's setup cells run here, on the CPU (trusted instructor code)."""
    saved = os.environ.get("USEFUNS_DEVICE")
    os.environ["USEFUNS_DEVICE"] = "cpu"
    namespace = {"__name__": "__main__"}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for source in setup:
                exec(compile(source, "<setup>", "exec"), namespace)  # noqa: S102 - instructor's
    finally:
        if saved is None:
            os.environ.pop("USEFUNS_DEVICE", None)
        else:
            os.environ["USEFUNS_DEVICE"] = saved
    namespace.update(constants)
    return namespace


def _fill(value, submission):
    if isinstance(value, str):
        return value.replace("{submission}", str(submission))
    if isinstance(value, list):
        return [_fill(v, submission) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, submission) for k, v in value.items()}
    return value


def verify_submission(hidden_dir, source_notebook, graded_notebook, submission, kernel_scores,
                      child_command, device=None):
    """Re-run the verified cells out of the kernel; return the verdicts.

    Args:
        hidden_dir: ``assignments/<a>/`` (with ``verification.py`` and the check modules).
        source_notebook: the instructor's notebook (trusted): its setup cells (before the
            first answer) run in the child and here, its test cells' source is what a
            ``"cell": True`` entry runs here, its answers' literal constants are used.
        graded_notebook: the autograded notebook (its answer cells are the student's).
        submission: the student's submitted folder (``{submission}`` in check arguments).
        kernel_scores: ``{grade_id: (auto_score, max_score)}`` that the kernel produced.
        child_command: argv that starts ``coursekit.isolation.child`` (sandboxed).
        device: where the child runs the student's functions.

    Returns:
        ``{grade_id: {"verified": points or None (inconclusive), "kernel": points, "max":
        points, "message": str or None}}`` for the cells of ``verification.py`` present in
        the notebook.
    """
    hidden_dir = Path(hidden_dir)
    config = hidden_dir / "verification.py"
    if not config.is_file():
        return {}
    cells = _load_module(config, "_coursekit_verification").CELLS
    todo = {g: spec for g, spec in cells.items() if g in kernel_scores}
    if not todo:
        return {}
    source = json.loads(Path(source_notebook).read_text())
    graded = json.loads(Path(graded_notebook).read_text())
    setup, instructor_answers, names = _cells(source)
    _, answers, _ = _cells(graded)
    answers += _added_cells(source, graded)
    tests, constants = _grade_cells(source), _constants(instructor_answers)
    modules, verdicts, child, base = {}, {}, None, None
    try:
        for grade_id, spec in todo.items():
            kernel, most = kernel_scores[grade_id]
            verdict = {"verified": None, "kernel": kernel, "max": most, "message": None}
            verdicts[grade_id] = verdict
            try:
                functions = {}
                if spec.get("functions"):
                    if child is None:
                        child = VerifyChild(child_command, setup, answers, device, names)
                    functions = {name: child.function(name) for name in spec["functions"]}
                if spec.get("cell"):  # the instructor's visible test cell, run here
                    if base is None:
                        base = _instructor_namespace(setup, constants)
                    namespace = {**base, **functions}
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(compile(tests[grade_id], f"<{grade_id}>", "exec"),  # noqa: S102
                             namespace)
                    verdict["verified"] = most
                    continue
                if spec["module"] not in modules:
                    modules[spec["module"]] = _load_module(
                        hidden_dir / f"{spec['module']}.py", f"_coursekit_verify_{spec['module']}")
                check = getattr(modules[spec["module"]], spec["check"])
                args = [*functions.values(), *_fill(spec.get("args", []), submission),
                        *(constants[name] for name in spec.get("constants", []))]
                kwargs = _fill(spec.get("kwargs", {}), submission)
                if "device" in inspect.signature(check).parameters:
                    kwargs["device"] = "cpu"  # the grader compares on the CPU
                with contextlib.redirect_stdout(io.StringIO()):
                    value = check(*args, **kwargs)
                verdict["verified"] = float(value) if spec.get("score") else most
            except Inconclusive as err:
                verdict["message"] = f"not verified: {err}"
            except AssertionError as err:
                verdict["verified"], verdict["message"] = 0.0, " ".join(str(err).split())
            except Exception as err:  # noqa: BLE001
                student = getattr(err, "coursekit_from_student", False)
                # in a visible test cell, the student's function failed, or the test's own code
                # failed on what it returned; a NameError of the cell itself is the setup's
                if not spec.get("cell") or (isinstance(err, NameError) and not student):
                    verdict["message"] = (f"not verified: the check failed "
                                          f"({type(err).__name__}: {err})")
                    continue
                verdict["verified"] = 0.0
                verdict["message"] = f"{type(err).__name__}: {' '.join(str(err).split())}"[:300]
    except Inconclusive as err:
        for verdict in verdicts.values():
            verdict["message"] = verdict["message"] or f"not verified: {err}"
    finally:
        if child is not None:
            child.close()
    return verdicts


def lowered(verdicts):
    """``{grade_id: (new score, message)}`` of the cells whose kernel score was too high."""
    changes = {}
    for grade_id, v in verdicts.items():
        if v["verified"] is not None and v["kernel"] > v["verified"] + TOLERANCE:
            changes[grade_id] = (v["verified"], v["message"] or "the verified score is lower")
    return changes


def mark_notebook(path, changes):
    """Add an error output to each lowered cell of the graded notebook at ``path``."""
    nb = json.loads(Path(path).read_text())
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in changes:
            score, message = changes[grade_id]
            text = (f"Verification outside the kernel: {message}. This cell passed inside "
                    f"your kernel, which your own code can influence; it scores {score:g}.")
            cell.setdefault("outputs", []).append({
                "output_type": "error", "ename": "VerificationFailed", "evalue": text,
                "traceback": [f"VerificationFailed: {text}"]})
    Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")

