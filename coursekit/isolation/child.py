"""The verification child: runs the student's functions for the grader, and nothing else trusts it.

``python -m coursekit.isolation.child`` (sandboxed like a kernel: ``coursekit.isolation.sandbox``)
talks to the grader in frames of plain data on stdin/stdout (``coursekit.isolation.wire``).
Whatever the student's code prints goes to stderr, which the grader discards. Requests:

1. ``{"op": "start", "limits": {...}, "uid": n}``: set the resource limits, drop to the uid;
   answered with ``{"ok": True, "hello": pid}`` (no student code has run yet);
2. ``{"op": "setup", "sources": [...], "device": "cpu"}``: the instructor's setup cells;
3. ``{"op": "load", "cells": [[label, source], ...]}``: the student's cells, one top-level
   statement at a time, definitions only (:func:`statements`); a statement that fails is
   skipped and reported (``"skipped"``), so one bad import costs only what needs it;
4. ``{"op": "call", "fn": name, "args": [...], "kwargs": {...}, "globals": {...}, "watch": b}``:
   call a student function; ``globals`` replaces names of the student's namespace for the
   call; ``watch`` counts operations and blocks autograd (``coursekit.isolation.watch``).
   While it runs, the child may send ``{"callback": i, ...}`` or ``{"object": i, "method": m,
   ...}`` to call the grader's functions and objects, and waits for their values.

Replies: ``{"ok": True, "value": ..., "state": ..., "watch": {...}}`` or ``{"ok": False,
"error": "Type: message", "kind": "Type", "name": missing name or None}``.
"""
import ast
import os
import sys

from coursekit.isolation import wire

__all__ = ["statements", "main"]

CONSTRUCTORS = {"dict", "list", "tuple", "set", "frozenset", "range", "float", "int", "str",
                "bool", "tensor", "device", "dtype", "zeros", "ones", "full", "arange"}


def _static(value):
    """Whether an assigned value computes nothing heavy: literals, names, attributes, lambdas,
    arithmetic, and calls of a few constructors (``torch.tensor([...])``, ``dict(...)``)."""
    todo = [value]
    while todo:  # ast.walk, but not into lambdas: their bodies run only when called
        node = todo.pop()
        todo += [c for c in ast.iter_child_nodes(node) if not isinstance(node, ast.Lambda)]
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name not in CONSTRUCTORS:
                return False
    return True


def _definition(node):
    """Whether a top-level statement only defines: imports, defs, classes, static assignments,
    and ``try`` blocks made of those (``try: import google.colab`` ...)."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                         ast.ClassDef, ast.Pass)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return node.value is not None and _static(node.value)
    if isinstance(node, ast.Expr):
        return isinstance(node.value, ast.Constant)  # a docstring
    if isinstance(node, ast.Try):
        blocks = [node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)]
        return all(_definition(n) for block in blocks for n in block)
    return False


def statements(source):
    """``[(line, code, runs)]``: the top-level statements of ``source`` (magics and shell lines
    removed) and whether the child runs them (definitions: see :func:`_definition`).

    Raises:
        SyntaxError: the source does not parse.
    """
    lines = ["" if line.lstrip().startswith(("%", "!")) else line
             for line in source.splitlines()]
    tree = ast.parse("\n".join(lines))
    return [(node.lineno, ast.unparse(node), _definition(node)) for node in tree.body]


def _bound(code):
    node = ast.parse(code).body[0]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]


class _Child:
    def __init__(self, stdin, stdout):
        self.stdin, self.stdout = stdin, stdout
        self.namespace = {"__name__": "__main__"}
        self.missing = {}  # name -> why its definition did not run here

    # ---------------------------------------------------------------- frames

    def send(self, message):
        wire.write_frame(self.stdout, wire.dumps(message))

    def receive(self):
        frame = wire.read_frame(self.stdin)
        return None if frame is None else wire.loads(frame, trusted=True)  # the grader's

    # ---------------------------------------------------------------- requests

    def start(self, request):
        from coursekit.isolation.limits import drop_to, set_limits
        from coursekit.isolation.seccomp import seal

        set_limits(request["limits"])
        if request.get("uid") is not None:
            drop_to(request["uid"])
        seal()  # no keyring of the grader's or of an earlier child, no user namespaces
        return {"ok": True, "hello": os.getpid()}

    def setup(self, request):
        if request.get("device"):
            os.environ["USEFUNS_DEVICE"] = request["device"]
        for index, source in enumerate(request["sources"]):
            for _, code, _ in statements(source):
                exec(compile(code, f"<setup {index}>", "exec"), self.namespace)  # noqa: S102
        return {"ok": True}

    def load(self, request):
        skipped = []
        for label, source in request["cells"]:
            try:
                found = statements(source)
            except SyntaxError as err:
                skipped.append([label, err.lineno or 0, "", f"SyntaxError: {err.msg}"])
                continue
            for line, code, runs in found:
                if not runs:
                    for name in _bound(code):
                        self.missing[name] = (f"line {line} of {label} computes it at top level "
                                              f"(the grader loads definitions only)")
                    continue
                try:
                    exec(compile(code, label, "exec"), self.namespace)  # noqa: S102
                except BaseException as err:  # noqa: BLE001 - one statement, not the cell
                    why = f"{type(err).__name__}: {err}"[:200]
                    skipped.append([label, line, code.splitlines()[0][:80], why])
                    for name in _bound(code):
                        self.missing[name] = f"line {line} of {label} failed here ({why})"
        return {"ok": True, "skipped": skipped}

    def call(self, request):
        from coursekit.isolation.watch import watch

        name = request["fn"]
        fn = self.namespace.get(name)
        if not callable(fn):
            raise NameError(f"name {name!r} is not defined", name=name)
        ids = {}
        args = self.build(request.get("args", []), "args", ids)
        kwargs = self.build(request.get("kwargs", {}), "kwargs", ids)
        swaps = {k: self.build(v) for k, v in (request.get("globals") or {}).items()}
        absent = object()
        saved = {k: self.namespace.get(k, absent) for k in swaps}
        self.namespace.update(swaps)
        try:
            if request.get("watch"):
                run = watch(fn, *args, **kwargs)
                value, report = run.value, {"operations": run.operations,
                                            "autograd": list(run.autograd),
                                            "grad_outputs": list(run.grad_outputs)}
            else:
                value, report = fn(*args, **kwargs), None
        finally:
            for k, old in saved.items():
                if old is absent:
                    self.namespace.pop(k, None)
                else:
                    self.namespace[k] = old
        return {"ok": True, "value": self.plain(value), "watch": report,
                "state": self.plain({"args": list(args), "kwargs": kwargs}, ids)}

    # ---------------------------------------------------------------- data

    def plain(self, value, ids=None):
        return wire.plain(value, ids, lambda v: {wire.OBJECT: v._coursekit_index}
                          if isinstance(v, _GraderObject) else None)

    def build(self, value, path=None, ids=None):
        """Plain data from the grader as the student's function gets it; with ``path``, the
        dicts and tensors built are recorded in ``ids`` (so their fate can be sent back)."""
        import torch

        def sub(key):
            return None if path is None else f"{path}/{key}"

        if isinstance(value, dict) and set(value) == {wire.GRADER}:
            built = self.callback({"callback": value[wire.GRADER]})
        elif isinstance(value, dict) and wire.OBJECT in value:
            built = _GraderObject(self, value[wire.OBJECT], value.get("methods", []))
        elif isinstance(value, dict) and set(value) == {wire.FUNCTION}:
            built = self.namespace.get(value[wire.FUNCTION])
            if not callable(built):
                raise NameError(f"name {value[wire.FUNCTION]!r} is not defined",
                                name=value[wire.FUNCTION])
        elif isinstance(value, dict):
            built = {k: self.build(v, sub(k), ids) for k, v in value.items()}
        elif isinstance(value, (list, tuple)):
            built = type(value)(self.build(v, sub(i), ids) for i, v in enumerate(value))
        else:
            built = value
        if path is not None and ids is not None and isinstance(built, (dict, torch.Tensor)):
            ids[id(built)] = path
        return built

    def callback(self, head):
        """A stand-in for one of the grader's functions (or an object's method)."""
        def call(*args, **kwargs):
            self.send({**head, "args": self.plain(list(args)), "kwargs": self.plain(kwargs)})
            reply = self.receive()
            if not isinstance(reply, dict) or not reply.get("ok"):
                raise RuntimeError((reply or {}).get("error", "the grader's function failed"))
            return self.build(reply["value"])
        return call

    # ---------------------------------------------------------------- the loop

    def serve(self):
        handlers = {"start": self.start, "setup": self.setup, "load": self.load,
                    "call": self.call}
        while True:
            request = self.receive()
            if request is None:
                return
            try:
                reply = handlers[request["op"]](request)
            except BaseException as err:  # noqa: BLE001 - reported to the grader, which decides
                reply = {"ok": False, "error": f"{type(err).__name__}: {err}"[:500],
                         "kind": type(err).__name__,
                         "name": getattr(err, "name", None) if isinstance(err, NameError)
                         else None}
                if reply["name"] in self.missing:
                    reply["missing"] = self.missing[reply["name"]]
            try:
                payload = wire.dumps(reply)
            except Exception as err:  # noqa: BLE001
                payload = wire.dumps({"ok": False, "error": f"unsendable reply: {err}"[:500],
                                      "kind": "TypeError"})
            wire.write_frame(self.stdout, payload)


class _GraderObject:
    """The child's view of one of the grader's objects: only its listed methods, calling back."""

    def __init__(self, child, index, methods):
        self._coursekit_child, self._coursekit_index = child, index
        self._coursekit_methods = tuple(methods)

    def __getattr__(self, name):
        if name.startswith("_coursekit") or name not in self._coursekit_methods:
            raise AttributeError(f"{name!r}: this stand-in offers only "
                                 f"{', '.join(self._coursekit_methods)}")
        return self._coursekit_child.callback({"object": self._coursekit_index, "method": name})


def main():
    # frames go out on a private copy of fd 1; fd 1 itself (print, os.write(1, ...) of the
    # student's code) goes to stderr, so nothing the student writes can corrupt them
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _Child(sys.stdin.buffer, stdout).serve()


if __name__ == "__main__":
    main()
