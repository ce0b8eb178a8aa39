"""The grader's side of the verification child: start it, and stand-ins for the student's functions.

:class:`Child` starts ``coursekit.isolation.child`` (sandboxed, with the task's limits), runs the
instructor's setup cells and loads the student's cells there, then answers calls from
:class:`~coursekit.engine.verify.standin.StudentFunction` stand-ins, which the checks receive instead of the student's functions.
A stand-in sends its arguments as plain data (``coursekit.isolation.wire``) and returns the
values that come back, with in-place updates of the grader's own tensors and dicts mirrored; a
grader function passed as an argument is called back; a grader object a callback returns (a
stand-in net) stays in the grader and the child gets a proxy of its ``remote_methods``.

Who is to blame decides what a failure means (the trust rule, docs/security.md):

- :class:`GraderFault` (a ``BaseException``, so no check's ``except Exception`` swallows it): the
  child did not start, the sandbox failed, the instructor's setup failed there. No student code
  can cause these; the cells concerned are withheld for an instructor to review.
- Everything the student's code does or fails to do outside the kernel (an exception, a missing
  name, a crash, a hang past the deadline, a reply that is not data) is raised into the check as
  the student's error (``coursekit_from_student``), and scores like a wrong answer.
"""
import builtins
import math
import os
import select
import shutil
import subprocess
import tempfile
import time

from coursekit.engine.verify.standin import StudentFunction
from coursekit.isolation import wire

__all__ = ["GraderFault", "Child", "student_error", "CALL_SECONDS"]

CALL_SECONDS = 120.0  # at most this long for one call, whatever the deadline leaves
MAX_ARGUMENTS = 64  # of one callback from the child to a grader function or object
MAX_SKIPPED = 50  # statements the child says it skipped, as the grader keeps them
MAX_TEXT = 1000  # characters of a child's error text the grader reads
MAX_RECEIVED = 4 * wire.MAX_REPLY  # bytes of all the child's frames in one verification


class GraderFault(BaseException):
    """Verification failed for a reason no submission can cause (see the module docstring)."""


def student_error(text, kind="RuntimeError", name=None):
    """An exception that stands for what the student's code did outside the kernel."""
    error = getattr(builtins, kind, None)
    if not (isinstance(error, type) and issubclass(error, Exception)):
        error, text = RuntimeError, f"{kind}: {text}" if kind != "RuntimeError" else text
    raised = error(text, name=name) if error is NameError else error(text)
    raised.coursekit_from_student = True
    return raised


class Child:
    """One submission's verification child (see the module docstring).

    Args:
        command: argv that starts ``python -m coursekit.isolation.child`` (maybe in bwrap).
        start: ``{"limits": ..., "uid": ...}`` for the child's first request.
        deadline: ``time.monotonic()`` after which no call may run (the submission's deadline).
    """

    def __init__(self, command, start, setup, cells, device, deadline=None):
        self.command, self.start_request = command, {"op": "start", **start}
        self.setup_request = {"op": "setup", "sources": list(setup), "device": device}
        self.load_request = {"op": "load", "cells": [list(c) for c in cells]}
        self.deadline = deadline
        self.proc, self.skipped, self.broken = None, [], None
        self.received = 0  # bytes of the child's frames, over every launch
        self.cwd = tempfile.mkdtemp(prefix="coursekit-verify-")  # what it writes lands here
        self.handles = []
        self.not_data = []  # what the student's functions gave back that is not data
        self._launch()

    # ---------------------------------------------------------------- process

    def _launch(self):
        """A fresh child with the setup run and the student's cells loaded."""
        if self.proc is not None:
            self._kill()
        try:
            self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         cwd=self.cwd)
        except OSError as err:
            raise GraderFault(f"the verification process could not start ({err})") from None
        for request, what in ((self.start_request, "start"), (self.setup_request, "setup")):
            try:
                reply = self._exchange(request, CALL_SECONDS)
            except OSError as err:
                raise GraderFault(f"the verification process failed at {what} ({err})") from None
            if not reply.get("ok"):
                raise GraderFault(f"the verification process failed at {what}: "
                                  f"{reply.get('error')}")
        try:
            reply = self._exchange(self.load_request, CALL_SECONDS)
        except OSError as err:  # the student's top-level code ended or hung the process
            self.broken = f"loading your answer cells outside the notebook failed ({err})"
            return
        self.skipped = _skipped(reply.get("skipped"))

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self):
        if self.proc is not None:
            self._kill()
        shutil.rmtree(self.cwd, ignore_errors=True)

    def _left(self):
        if self.deadline is None:
            return CALL_SECONDS
        return min(CALL_SECONDS, self.deadline - time.monotonic())

    def _read(self, seconds, end=None):
        """The next frame from the child, within ``seconds`` (and before ``end``, a
        ``time.monotonic()``, when given)."""
        end = min(time.monotonic() + max(seconds, 0), end if end is not None else math.inf)
        data, need = bytearray(), None  # appended in place: linear in the frame's size
        fd = self.proc.stdout.fileno()
        while need is None or len(data) < 8 + need:
            left = end - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self._kill()
                raise OSError(f"no answer within {seconds:.0f} s")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise OSError(f"the process ended, exit code {self.proc.wait()}")
            data += chunk
            if need is None and len(data) >= 8:
                need = int.from_bytes(data[:8], "big")
                if need > wire.MAX_REPLY:
                    self._kill()
                    raise OSError(f"it sent a frame of {need} bytes, over the limit of "
                                  f"{wire.MAX_REPLY}")
        del data[:8]  # in place: no copy of a large reply
        del data[need:]
        return data

    def _exchange(self, request, seconds, callbacks=()):
        """Send ``request``; answer the child's callbacks until its reply comes; return it.

        One window of ``seconds`` (a call's is never past the deadline: :meth:`_left`) covers
        the whole exchange, the callbacks the child asks for included: a child that keeps
        calling back is stopped when it ends."""
        end = time.monotonic() + max(seconds, 0)
        wire.write_frame(self.proc.stdin, wire.dumps(request))
        received = 0
        while True:
            frame = self._read(seconds, end)
            received += len(frame)
            self.received += len(frame)
            # what the grader's objects are given in callbacks they may keep: bounded per call
            # and over the whole verification
            if received > wire.MAX_REPLY or self.received > MAX_RECEIVED:
                self._kill()
                raise OSError(f"it sent more than {wire.MAX_REPLY} bytes in one call or "
                              f"{MAX_RECEIVED} in all, callbacks included")
            try:
                reply = wire.loads(frame)
            except OSError:
                raise
            except Exception as err:  # noqa: BLE001 - anything but plain data
                self._kill()
                raise OSError(f"it sent something that is not plain data "
                              f"({type(err).__name__})") from None
            if not isinstance(reply, dict):
                raise OSError("it sent a malformed reply")
            if "callback" not in reply and "object" not in reply:
                return reply
            if time.monotonic() >= end:
                self._kill()
                raise OSError(f"no answer within {seconds:.0f} s (it kept calling back)")
            answer = self._serve_callback(reply, callbacks)
            wire.write_frame(self.proc.stdin, wire.dumps(answer))

    # ---------------------------------------------------------------- callbacks and data

    def _serve_callback(self, request, callbacks):
        try:
            args, kwargs = request.get("args", []), request.get("kwargs", {})
            # a list of arguments, not one tensor that *args would make millions of
            if type(args) not in (list, tuple) or type(kwargs) is not dict \
                    or len(args) + len(kwargs) > MAX_ARGUMENTS:
                raise TypeError(f"a callback takes a list and a dict of at most "
                                f"{MAX_ARGUMENTS} arguments")
            args, kwargs = self.decode(args), self.decode(kwargs)
            if "object" in request:
                target = self.handles[request["object"]]
                if request.get("method") not in getattr(target, "remote_methods", ()):
                    raise AttributeError(f"no method {request.get('method')!r}")
                fn = getattr(target, request["method"])
            else:
                fn = callbacks[request["callback"]]
            return {"ok": True, "value": self.encode(fn(*args, **kwargs), callbacks)}
        except Exception as err:  # noqa: BLE001 - reported to the student's code
            return {"ok": False, "error": f"{type(err).__name__}: {err}"[:300]}

    def encode(self, value, callbacks, originals=None, path=None):
        """The grader's value as the child gets it: student functions, grader functions and
        grader objects as markers; with ``originals``, every dict and tensor recorded by path."""
        import torch

        if isinstance(value, StudentFunction):
            return {wire.FUNCTION: value.__name__}
        if getattr(value, "remote_methods", None) and not isinstance(value, type):
            self.handles.append(value)
            return {wire.OBJECT: len(self.handles) - 1, "methods": list(value.remote_methods)}
        if callable(value) and not isinstance(value, torch.Tensor):
            callbacks.append(value)
            return {wire.GRADER: len(callbacks) - 1}
        if originals is not None and isinstance(value, (dict, torch.Tensor)):
            originals[path] = value
        if isinstance(value, dict):
            return {k: self.encode(v, callbacks, originals, f"{path}/{k}")
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.encode(v, callbacks, originals, f"{path}/{i}")
                               for i, v in enumerate(value))
        return value

    def decode(self, value, originals=None, _depth=0):
        """Plain data from the child, for the grader: markers resolved (an argument we passed
        is updated in place and returned as our own object), everything else through
        ``wire.plain`` again, so a check sees only data, ``Opaque`` and our own objects."""
        import torch

        if _depth > 60:
            return wire.Opaque("a structure nested too deep")
        if isinstance(value, dict) and wire.OPAQUE in value:
            return wire.Opaque(value[wire.OPAQUE])
        if isinstance(value, dict) and wire.OBJECT in value:
            index = value[wire.OBJECT]
            if isinstance(index, int) and 0 <= index < len(self.handles):
                return self.handles[index]
            return wire.Opaque("an object that is not one of the grader's")
        if isinstance(value, dict) and wire.REF in value and originals is not None:
            mine = originals.get(value[wire.REF])
            theirs = self.decode(value.get("value"), originals, _depth + 1)
            return _mirror(mine, theirs, torch)
        if isinstance(value, dict):
            return {str(k): self.decode(v, originals, _depth + 1) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.decode(v, originals, _depth + 1) for v in value)
        cleaned = wire.plain(value)
        return wire.Opaque(cleaned[wire.OPAQUE]) if isinstance(cleaned, dict) else cleaned

    def call(self, name, args, kwargs, *, watch=False, swaps=None):
        """Run the student's ``name`` in the child; its value (or raise the student's error)."""
        if self.broken:
            raise student_error(self.broken)
        if self.proc.poll() is not None:  # an earlier call ended it (os._exit, a crash)
            self._launch()
            if self.broken:
                raise student_error(self.broken)
        left = self._left()
        if left <= 0:
            raise student_error(f"{name} was not run: the submission's time limit was reached",
                                "TimeoutError")
        callbacks, originals = [], {}
        request = {"op": "call", "fn": name, "watch": watch,
                   "args": self.encode(list(args), callbacks, originals, "args"),
                   "kwargs": self.encode(dict(kwargs), callbacks, originals, "kwargs"),
                   "globals": {k: self.encode(v, callbacks) for k, v in (swaps or {}).items()}}
        try:
            reply = self._exchange(request, left, callbacks)
        except OSError as err:
            raise student_error(f"the process running {name} outside the notebook failed: "
                                f"{err}") from None
        if not reply.get("ok"):
            raise self._error(name, reply)
        self.decode(reply.get("state"), originals)  # in-place updates reach our objects
        value = self.decode(reply.get("value"))
        updated = [d for d in originals.values() if isinstance(d, dict)]  # entries rebound
        for what, where in ((value, "returned"), (updated, "left in its arguments")):
            found = _first_opaque(what)
            if found:
                self.not_data.append(f"{name} {where} {found}")
        return value, reply.get("watch")

    def _error(self, name, reply):
        missing, why = reply.get("name"), reply.get("missing")
        if reply.get("kind") == "NameError" and missing:
            missing, why = str(missing)[:100], str(why or "")[:MAX_TEXT]
            where = f": {why}" if why else ""
            return student_error(f"{name} uses {missing!r}, which is not defined outside the "
                                 f"notebook{where}; define what it needs in your answer cells "
                                 f"or pass it as an argument", "NameError", missing)
        kind, _, text = str(reply.get("error", ""))[:MAX_TEXT].partition(": ")
        kind = str(reply.get("kind") or kind or "RuntimeError")[:100]
        return student_error(text, kind)


def _skipped(found):
    """The child's list of skipped statements, ``(label, line, text, why)`` each, as the grader
    shows them (a few, each cut short): a child's reply, however it is shaped."""
    rows = []
    for row in (found if isinstance(found, list) else [])[:MAX_SKIPPED]:
        if isinstance(row, (list, tuple)) and len(row) == 4:
            label, line, text, why = row
            rows.append((str(label)[:200], line if type(line) is int else 0, str(text)[:200],
                         str(why)[:300]))
    return rows


def _first_opaque(value, path=""):
    """``"a sparse tensor (at ['W1'])"``: the first value in ``value``'s containers that did
    not come back as data, described, or None."""
    if isinstance(value, wire.Opaque):
        return value.coursekit_description + (f" (at {path})" if path else "")
    if isinstance(value, dict):
        items = ((f"{path}[{k!r}]", v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, item in items:
        found = _first_opaque(item, where)
        if found:
            return found
    return None


def _mirror(mine, theirs, torch):
    """Our object ``mine`` updated to the child's ``theirs``: a tensor in place, a dict entry by
    entry (rebound entries rebound here too); anything else is theirs."""
    if isinstance(mine, torch.Tensor) and isinstance(theirs, torch.Tensor):
        with torch.no_grad():
            if mine.shape == theirs.shape and mine.dtype == theirs.dtype:
                mine.copy_(theirs)
            else:
                mine.data = theirs.to(mine.device)
        return mine
    if isinstance(mine, dict) and isinstance(theirs, dict):
        mine.clear()
        mine.update(theirs)
        return mine
    return theirs
