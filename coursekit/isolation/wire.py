"""The wire between the grader and the verification child: frames of plain data.

Each frame is an 8-byte big-endian length and a MessagePack payload (the ``msgpack`` package):
numbers, strings, bytes, None, bools, lists and str-keyed dicts, and one-key maps that the
decoder turns back into values: ``{TUPLE: [...]}``, ``{BIG_INT: digits}`` (an int beyond 64
bits), ``{TENSOR: [dtype, shape, device, bytes]}`` (a dense tensor of a dtype of ``DTYPES``, at
most ``MAX_ELEMENTS`` elements, sent contiguous; it keeps its device across the wire: both
ends run on the same machine), and ``{DTYPE: name}`` and ``{DEVICE: name}`` (the grader's
arguments; a student's value of these kinds leaves the child opaque, :func:`plain`, and the
grader makes whatever it receives plain again). Nothing in a frame is
executable and the decoder builds nothing else: anything else, or a tensor whose bytes do not
match its dtype and shape, is refused with ValueError, as is a frame of more than
``MAX_VALUES`` values in its lists and dicts. The child's frames must key their dicts with
strings; the grader's may use any plain key (:func:`loads`, ``trusted``).

Why not ``torch.save``/``torch.load(weights_only=True)`` (what it was until issue 15): that
unpickler is Python; in a profile of one submission's checks the grader spent 0.37 s reading
245 frames (1.5 ms each) and 0.12 s writing them, ~0.5 CPU s per submission, most of it for the
numeric-gradient check's ~170 round trips. MessagePack's C decoder builds only the plain values
above, about ten times faster for such a frame; the worker's CPU per submission went from
0.7 s to 0.22 s (docs/performance.md, fifth run).

Markers (one-key dicts) stand for what cannot be data:

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
import math
import struct
import sys

import msgpack

__all__ = ["FUNCTION", "GRADER", "OBJECT", "REF", "OPAQUE", "TUPLE", "TENSOR", "BIG_INT",
           "DTYPE", "DEVICE", "MARKERS", "DTYPES", "MAX_ELEMENTS", "MAX_VALUES", "MAX_FRAME",
           "MAX_REPLY",
           "Opaque", "read_frame", "write_frame", "dumps", "loads", "plain"]

FUNCTION = "__coursekit_student_function__"
GRADER = "__coursekit_grader_function__"
OBJECT = "__coursekit_grader_object__"
REF = "__coursekit_argument__"
OPAQUE = "__coursekit_opaque__"
TUPLE = "__coursekit_tuple__"    # the encoding of a tuple (MessagePack has only lists)
TENSOR = "__coursekit_tensor__"  # the encoding of a tensor: [dtype, shape, device, bytes]
BIG_INT = "__coursekit_int__"    # an int beyond 64 bits, as its decimal digits
DTYPE = "__coursekit_dtype__"    # a torch.dtype, by name (the grader's arguments)
DEVICE = "__coursekit_device__"  # a torch.device, by name (the grader's arguments)
MAX_DIGITS = 4000  # an int's digits (Python's own limit for str() and int() is 4300)
# values in a frame's lists and dicts together: an empty dict is one byte of MessagePack but
# ~100 of the grader's memory, so a frame within MAX_REPLY could otherwise cost it tens of GB
MAX_VALUES = 1 << 20
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
    """``message`` (plain data, see :func:`plain`) as a frame's payload.

    Raises:
        TypeError: something in it that is not plain data (an object, an int of more than
            ``MAX_DIGITS`` digits, a tensor of another dtype or layout).
    """
    try:
        return _PACKER(message)
    except OverflowError:  # an int beyond 64 bits: rare, so checked only when packing fails
        return _PACKER(_big_ints(message))


def loads(payload, trusted=False):
    """The plain data of a frame's payload (bytes or bytearray).

    Args:
        trusted: the grader's frames, which the child reads: dict keys of any plain kind, and
            strings exactly as sent (lone surrogates too). The child's frames, which the
            grader reads, must key dicts with strings, and a string that is not valid
            Unicode gets U+FFFD in its place (nothing downstream chokes on it).

    Raises:
        ValueError: the payload is not a frame of plain data (malformed MessagePack, an
            extension type, a tensor whose bytes, dtype, shape or device do not hold, more
            than ``MAX_VALUES`` values in its lists and dicts together).
    """
    left = [MAX_VALUES]

    def count(container):
        left[0] -= len(container) + 1
        if left[0] < 0:
            raise ValueError(f"a frame of more than {MAX_VALUES} values in lists and dicts")
        return container

    try:
        return msgpack.unpackb(payload, object_hook=lambda m: _decode_map(count(m)),
                               list_hook=count, ext_hook=_refuse_ext, timestamp=1, raw=False,
                               strict_map_key=not trusted, max_array_len=MAX_VALUES,
                               max_map_len=MAX_VALUES,
                               unicode_errors="surrogatepass" if trusted else "replace")
    except ValueError:
        raise
    except Exception as err:  # noqa: BLE001 - whatever a forged frame makes msgpack or torch raise
        raise ValueError(f"not a frame of plain data ({type(err).__name__}: "
                         f"{str(err)[:200]})") from None


def _encode(value):
    """What MessagePack cannot pack itself (``strict_types``: subclasses come here too, as the
    base type's own value: no override of theirs runs)."""
    torch = sys.modules.get("torch")
    if isinstance(value, tuple):
        return {TUPLE: list(value)}
    if torch is not None:
        if isinstance(value, torch.Tensor):
            return _tensor_spec(value, torch)
        if isinstance(value, torch.dtype):
            return {DTYPE: str(value).removeprefix("torch.")}
        if isinstance(value, torch.device):
            return {DEVICE: str(value)}
    for base, plain_value in ((dict, dict.copy), (list, list.copy), (str, str.__str__),
                              (float, float.__float__), (int, int.__index__)):
        if isinstance(value, base):
            return plain_value(value)
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.generic) and value.dtype.kind in "biuf":
        return value.item()
    raise TypeError(f"a {type(value).__name__} is not plain data")


_PACKER = msgpack.Packer(default=_encode, strict_types=True, use_bin_type=True,
                         unicode_errors="surrogatepass", autoreset=True).pack


def _big_ints(value):
    if isinstance(value, int) and not isinstance(value, bool) \
            and not -(1 << 63) <= value < (1 << 64):
        digits = str(int.__index__(value)) if abs(value) < 10 ** MAX_DIGITS else ""
        if not digits:
            raise TypeError(f"an int of more than {MAX_DIGITS} digits is not plain data")
        return {BIG_INT: digits}
    if isinstance(value, dict):
        return {k: _big_ints(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_big_ints(v) for v in value)
    if isinstance(value, list):
        return [_big_ints(v) for v in value]
    return value


def _tensor_spec(value, torch):
    value = value.detach()
    name = str(value.dtype).removeprefix("torch.")
    if value.layout != torch.strided or value.is_nested or name not in DTYPES:
        raise TypeError(f"a tensor of layout {value.layout} and dtype {value.dtype} is not "
                        f"plain data")
    flat = value.resolve_conj().resolve_neg().reshape(-1).contiguous().cpu()
    return {TENSOR: [name, list(value.shape), str(value.device),
                     memoryview(flat.view(torch.uint8).numpy())]}


def _refuse_ext(code, data):
    raise ValueError(f"a MessagePack extension (type {code}) is not plain data")


_ENCODED = (TUPLE, TENSOR, BIG_INT, DTYPE, DEVICE)


def _decode_map(value):
    """A decoded map, or the value it encodes."""
    key = next((k for k in _ENCODED if k in value), None)
    if key is None:
        return value
    if len(value) != 1:
        raise ValueError("a map mixes a value's encoding with other keys")
    spec = value[key]
    if key == TUPLE:
        if type(spec) is not list:
            raise ValueError("a tuple's encoding that is not a list")
        return tuple(spec)
    if key == BIG_INT:
        if type(spec) is not str or len(spec) > MAX_DIGITS + 1 \
                or not spec.lstrip("-").isdigit():
            raise ValueError("an int's encoding that is not its digits")
        return int(spec)
    if key == TENSOR:
        return _tensor(spec)
    import torch

    if key == DTYPE:
        found = getattr(torch, spec, None) if type(spec) is str else None
        if not isinstance(found, torch.dtype):
            raise ValueError(f"not a dtype: {str(spec)[:40]!r}")
        return found
    return _device(spec, torch)


def _device(name, torch):
    try:
        where = torch.device(name) if type(name) is str else None
    except (TypeError, RuntimeError):
        where = None
    if where is None or where.type not in ("cpu", "cuda"):
        raise ValueError(f"a tensor on {str(name)[:40]!r}")
    return where


def _tensor(spec):
    import torch

    try:
        name, shape, device, data = spec
    except (TypeError, ValueError):
        raise ValueError("a tensor's encoding that is not [dtype, shape, device, bytes]") \
            from None
    if type(name) is not str or name not in DTYPES or type(data) is not bytes \
            or type(shape) is not list or len(shape) > 32 \
            or not all(type(n) is int and 0 <= n <= MAX_ELEMENTS for n in shape):
        raise ValueError("a tensor's dtype, shape or bytes that are not plain data")
    count = math.prod(shape)
    dtype = getattr(torch, name)
    if count > MAX_ELEMENTS or len(data) != count * dtype.itemsize:
        raise ValueError(f"a tensor of {count} elements of {name} in {len(data)} bytes")
    where = _device(device, torch)
    tensor = torch.frombuffer(bytearray(data), dtype=dtype) if count else \
        torch.empty(0, dtype=dtype)
    tensor = tensor.reshape(shape)
    if where.type == "cpu":
        return tensor
    try:
        return tensor.to(where)
    except (RuntimeError, AssertionError) as err:  # no such GPU here
        raise ValueError(f"a tensor on {device!r}: {str(err)[:100]}") from None


def _describe(value, torch):
    if isinstance(value, torch.Tensor):
        layout = str(value.layout).replace("torch.", "")
        kind = type(value).__name__ if type(value) is not torch.Tensor else f"{layout} tensor"
        return f"a {kind}: return a dense torch.Tensor"
    return f"a {type(value).__name__}"


MARKERS = frozenset({FUNCTION, GRADER, OBJECT, REF, OPAQUE, TUPLE, TENSOR, BIG_INT, DTYPE,
                     DEVICE})


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
