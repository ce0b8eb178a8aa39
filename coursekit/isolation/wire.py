"""The wire between the grader and the verification child: frames of plain data.

Each frame is an 8-byte big-endian length and a ``torch.save`` payload, read back with
``torch.load(weights_only=True)``: tensors and plain containers, nothing executable. Tensors keep
their device across the wire (both ends run on the same machine). Markers (one-key dicts) stand
for what cannot be data:

- ``{FUNCTION: name}``: one of the student's functions (the child looks it up);
- ``{GRADER: index}``: one of the grader's functions; the child calls back through the wire;
- ``{OBJECT: index, "methods": [...]}``: one of the grader's objects (a stand-in net the grader
  built); the child gets a proxy whose listed methods call back;
- ``{REF: path, "value": ...}``: an argument the grader passed in, with what became of it (so
  the grader can mirror in-place updates on its own object);
- ``{OPAQUE: description}``: something the child could not send as data (a sparse tensor, a
  module, a generator...); the grader sees an :class:`Opaque`.

:func:`plain` is the one place that decides what counts as data, on both sides: the grader runs
it again on everything it receives, so a check never sees anything else.
"""
import io
import struct

__all__ = ["FUNCTION", "GRADER", "OBJECT", "REF", "OPAQUE", "MARKERS", "MAX_FRAME", "MAX_REPLY",
           "Opaque", "read_frame", "write_frame", "dumps", "loads", "plain"]

FUNCTION = "__coursekit_student_function__"
GRADER = "__coursekit_grader_function__"
OBJECT = "__coursekit_grader_object__"
REF = "__coursekit_argument__"
OPAQUE = "__coursekit_opaque__"
MAX_FRAME = 1 << 30  # bytes: a frame larger than this is refused, not read
# what a child may send back in one reply: a reply is the student's values, and the grader holds
# each in memory (outside the submission's cgroup) while it reads and decodes it
MAX_REPLY = 1 << 28
# A tensor crosses only with a dtype every check can compute with, and at most this many
# elements: a small frame can hold a huge expanded view (stride 0), which cloning would make real.
MAX_ELEMENTS = 1 << 25
DTYPES = frozenset({"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32",
                    "int64", "uint8", "bool"})


class Opaque:
    """Something a student's function produced that is not plain data, by its description."""

    def __init__(self, description):
        self.coursekit_description = str(description)[:120]

    def __repr__(self):
        return f"<{self.coursekit_description}>"


def read_frame(stream):
    """The next frame's payload, or None at the end of the stream.

    Raises:
        ValueError: the frame announces more than ``MAX_FRAME`` bytes.
    """
    head = stream.read(8)
    if len(head) < 8:
        return None
    (size,) = struct.unpack(">Q", head)
    if size > MAX_FRAME:
        raise ValueError(f"a frame of {size} bytes is over the limit of {MAX_FRAME}")
    return stream.read(size)


def write_frame(stream, payload):
    stream.write(struct.pack(">Q", len(payload)) + payload)
    stream.flush()


def dumps(message):
    import torch

    buffer = io.BytesIO()
    torch.save(message, buffer)
    return buffer.getvalue()


def loads(payload):
    import torch

    return torch.load(io.BytesIO(payload), weights_only=True)


def _describe(value, torch):
    if isinstance(value, torch.Tensor):
        layout = str(value.layout).replace("torch.", "")
        kind = type(value).__name__ if type(value) is not torch.Tensor else f"{layout} tensor"
        return f"a {kind}: return a dense torch.Tensor"
    return f"a {type(value).__name__}"


MARKERS = frozenset({FUNCTION, GRADER, OBJECT, REF, OPAQUE})


def plain(value, ids=None, special=None, _inside=None, _depth=0):
    """``value`` as plain data: dense strided tensors (detached), numbers, strings, None, and
    lists, tuples and str-keyed dicts of them; anything else becomes ``{OPAQUE: ...}``, and so
    does a dict that carries a marker's key (only this module's callers make markers).

    Args:
        ids: ``{id(object): path}`` of the dicts and tensors the grader passed in: such an
            object becomes ``{REF: path, "value": ...}`` (see the module docstring).
        special: ``f(value)`` -> a marker dict for values the caller sends its own way (the
            child's proxies of grader objects), or None.
    """
    import torch

    if _depth > 50:
        return {OPAQUE: "a structure nested more than 50 levels deep"}
    marker = special(value) if special is not None else None
    if marker is not None:
        return marker
    if ids and id(value) in ids and id(value) != _inside:
        return {REF: ids[id(value)],
                "value": plain(value, ids, special, id(value), _depth + 1)}
    if isinstance(value, torch.Tensor):
        if type(value) is not torch.Tensor or value.layout != torch.strided or value.is_nested \
                or value.is_quantized or value.device.type == "meta":
            return {OPAQUE: _describe(value, torch)}
        if str(value.dtype).removeprefix("torch.") not in DTYPES:
            return {OPAQUE: f"a tensor of dtype {value.dtype}"}
        if value.numel() > MAX_ELEMENTS:
            return {OPAQUE: f"a tensor of {value.numel()} elements (at most {MAX_ELEMENTS})"}
        return value.detach().clone()
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, dict) and all(type(k) is str for k in value):
        if MARKERS & set(value):
            return {OPAQUE: "a dict that imitates the grader's markers"}
        return {k: plain(v, ids, special, None, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):  # named tuples (torch.max's) become plain tuples
        items = [plain(v, ids, special, None, _depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    try:
        import numpy

        if isinstance(value, numpy.ndarray) and value.dtype.kind in "biuf":
            if value.size > MAX_ELEMENTS:
                return {OPAQUE: f"an array of {value.size} elements (at most {MAX_ELEMENTS})"}
            return torch.from_numpy(value.copy())
        if isinstance(value, numpy.generic) and value.dtype.kind in "biuf":
            return value.item()
    except ImportError:
        pass
    return {OPAQUE: _describe(value, torch)}
