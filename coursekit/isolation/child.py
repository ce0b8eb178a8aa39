"""The untrusted side of out-of-kernel verification (see ``coursekit.engine.verify``).

``python -m coursekit.isolation.child`` reads frames from stdin and answers on stdout; each frame
is an 8-byte big-endian length and a ``torch.save`` payload of plain data (tensors, dicts,
lists, tuples, numbers, strings, None). Requests:

- ``{"op": "load", "setup": [source, ...], "answers": [source, ...], "device": "cpu"}``: run
  the instructor's setup cells, then the student's answer cells reduced to their imports,
  function and class definitions and literal constants (no other top-level statement runs);
- ``{"op": "call", "fn": name, "args": [...], "kwargs": {...}}``: call the student's function
  on the inputs (moved to the device) and send back its result on the CPU.

Replies: ``{"ok": True, "value": ...}`` or ``{"ok": False, "error": "TypeName: message",
"name": missing name for a NameError}``. Nothing here is trusted: it runs the student's code,
sandboxed like the kernel, without the hidden tests or the reference. The grader compares.
"""
import ast
import io
import os
import struct
import sys


FUNCTION = "__coursekit_student_function__"  # an argument that is one of the student's functions
GRADER = "__coursekit_grader_function__"  # an argument that is one of the grader's: call back
REF = "__coursekit_argument__"  # a dict or tensor the grader passed in (path), with its value


def read_frame(stream):
    head = stream.read(8)
    if len(head) < 8:
        return None
    (size,) = struct.unpack(">Q", head)
    return stream.read(size)


def write_frame(stream, payload):
    stream.write(struct.pack(">Q", len(payload)) + payload)
    stream.flush()


def keep_definitions(source):
    """``source`` with only imports, defs, classes and assignments at top level (no calls,
    loops, prints...: an answer cell may train a network at top level)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return ""
    kept = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.ClassDef)):
            kept.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            # a constant the functions use; one that fails is skipped, not fatal
            kept.append(ast.Try(body=[node], handlers=[ast.ExceptHandler(
                type=ast.Name("Exception", ast.Load()), name=None, body=[ast.Pass()])],
                orelse=[], finalbody=[]))
    return ast.unparse(ast.fix_missing_locations(ast.Module(body=kept, type_ignores=[])))


def _plain(value, torch, ids=None, _inside=None):
    """The result as plain data on the CPU (what the grader may load with weights_only).

    With ``ids`` (``{id(object): path}`` of the dicts and tensors the grader passed in), such
    an object becomes ``{REF: path, "value": its plain value}``, so that the grader can update
    its own object in place and pass that very object on, as it would in one process.
    """
    if ids and id(value) in ids and id(value) != _inside:
        return {REF: ids[id(value)], "value": _plain(value, torch, ids, id(value))}
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").clone()
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v, torch, ids) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_plain(v, torch, ids) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    try:
        import numpy

        if isinstance(value, numpy.ndarray):
            return torch.from_numpy(value.copy())
        if isinstance(value, numpy.generic):
            return value.item()
    except ImportError:
        pass
    return f"<a {type(value).__name__}>"


def _callback(index, device, torch, channel):
    """A stand-in for the grader's function ``index``: the grader runs it and sends the value."""
    def call(*args, **kwargs):
        buffer = io.BytesIO()
        ids = channel.get("ids")
        torch.save({"callback": index, "args": _plain(list(args), torch, ids),
                    "kwargs": _plain(kwargs, torch, ids)}, buffer)
        write_frame(channel["out"], buffer.getvalue())
        reply = torch.load(io.BytesIO(read_frame(channel["in"])), weights_only=True)
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error", "the grader's function failed"))
        return _to(reply["value"], device, torch, {}, channel)
    return call


def _to(value, device, torch, namespace, channel=None, path=None):
    """Plain data from the grader as the student's function gets it (on ``device``); with a
    ``path``, the dicts and tensors built are recorded in ``channel["ids"]`` (see _plain)."""
    built = _build(value, device, torch, namespace, channel, path)
    if path is not None and channel is not None and isinstance(built, (dict, torch.Tensor)):
        channel.setdefault("ids", {})[id(built)] = path
    return built


def _build(value, device, torch, namespace, channel, path):
    def sub(key):
        return None if path is None else f"{path}/{key}"

    if isinstance(value, dict) and set(value) == {GRADER}:
        return _callback(value[GRADER], device, torch, channel)
    if isinstance(value, dict) and set(value) == {FUNCTION}:  # one of the student's functions
        if not callable(namespace.get(value[FUNCTION])):
            raise NameError(f"name {value[FUNCTION]!r} is not defined", name=value[FUNCTION])
        return namespace[value[FUNCTION]]
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: _to(v, device, torch, namespace, channel, sub(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to(v, device, torch, namespace, channel, sub(i))
                           for i, v in enumerate(value))
    return value


def main():
    # the frames go out on a private copy of fd 1; fd 1 itself (print, os.write(1, ...) of the
    # student's code) goes to stderr, so nothing the student writes can corrupt them
    stdin = sys.stdin.buffer
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if len(sys.argv) > 1:  # the sandbox's limits and uid, as for a kernel
        import json

        from coursekit.isolation.kernel import _drop_to, _set_limits

        spec = json.loads(sys.argv[1])
        _set_limits(spec["limits"])
        if spec.get("uid") is not None:
            _drop_to(spec["uid"])
    import torch

    namespace = {"__name__": "__main__"}
    device = "cpu"
    while True:
        frame = read_frame(stdin)
        if frame is None:
            return
        request = torch.load(io.BytesIO(frame), weights_only=True)
        try:
            if request["op"] == "load":
                if request.get("device"):
                    os.environ["USEFUNS_DEVICE"] = request["device"]
                from usefuns.utils import get_device

                device = get_device()
                for source in request["setup"]:
                    exec(compile(source, "<setup>", "exec"), namespace)  # noqa: S102
                for index, source in enumerate(request["answers"]):
                    code = keep_definitions(source)
                    exec(compile(code, f"<answer {index}>", "exec"), namespace)  # noqa: S102
                reply = {"ok": True, "value": None}
            else:
                fn = namespace.get(request["fn"])
                if not callable(fn):
                    raise NameError(f"name {request['fn']!r} is not defined", )
                channel = {"in": stdin, "out": stdout, "ids": {}}
                args = _to(request.get("args", []), device, torch, namespace, channel, "args")
                kwargs = _to(request.get("kwargs", {}), device, torch, namespace, channel,
                             "kwargs")
                value = fn(*args, **kwargs)
                # and what became of the arguments (updated in place, entries rebound...)
                reply = {"ok": True, "value": _plain(value, torch),
                         "state": _plain({"args": list(args), "kwargs": kwargs}, torch,
                                         channel["ids"])}
        except BaseException as err:  # noqa: BLE001 - reported to the grader, which decides
            reply = {"ok": False, "error": f"{type(err).__name__}: {err}"[:500],
                     "name": getattr(err, "name", None) if isinstance(err, NameError) else None}
        buffer = io.BytesIO()
        try:
            torch.save(reply, buffer)
        except Exception as err:  # noqa: BLE001
            buffer = io.BytesIO()
            torch.save({"ok": False, "error": f"unsendable result: {err}"[:500]}, buffer)
        write_frame(stdout, buffer.getvalue())


if __name__ == "__main__":
    main()
