"""coursekit.isolation.wire: only plain data crosses between the child and the grader."""
import io
import struct
from collections import namedtuple

import numpy
import pytest
import torch

from coursekit.isolation import wire


def test_does_plain_data_cross_unchanged():
    value = {"a": [1, 2.5, "x", None, True], "t": torch.arange(3.0), "tup": (1, (2,))}
    back = wire.loads(wire.dumps(wire.plain(value)))
    assert back["a"] == value["a"] and back["tup"] == (1, (2,))
    assert torch.equal(back["t"], value["t"])


@pytest.mark.parametrize("value, phrase", [
    (torch.eye(3).to_sparse(), "sparse_coo tensor"),
    (torch.nn.Parameter(torch.ones(2)), "Parameter"),
    (object(), "a object"),
    (print, "builtin_function_or_method"),
    ({wire.OBJECT: 0, "methods": ["train"]}, "imitates the grader's markers"),
    ({wire.REF: "args/0", "value": 1}, "imitates the grader's markers"),
])
def test_is_anything_else_sent_as_an_opaque_description(value, phrase):
    sent = wire.plain(value)
    assert set(sent) == {wire.OPAQUE} and phrase in sent[wire.OPAQUE]


def test_do_named_tuples_numpy_and_dict_subclasses_become_plain():
    pair = namedtuple("pair", "values indices")(torch.ones(1), torch.zeros(1))
    assert type(wire.plain(pair)) is tuple
    assert torch.equal(wire.plain(numpy.arange(3)), torch.arange(3))
    assert wire.plain(numpy.float64(2.5)) == 2.5
    assert isinstance(wire.plain(__import__("collections").OrderedDict(a=1)), dict)


def test_is_a_deep_structure_cut_instead_of_recursing_forever():
    deep = []
    for _ in range(200):
        deep = [deep]
    sent = wire.plain(deep)
    while isinstance(sent, list):
        sent = sent[0]
    assert wire.OPAQUE in sent


def test_does_a_grader_argument_come_back_as_a_reference_with_its_value():
    t = torch.zeros(2)
    sent = wire.plain({"args": [t]}, ids={id(t): "args/0"})
    assert sent["args"][0][wire.REF] == "args/0"
    assert torch.equal(sent["args"][0]["value"], t)


def test_are_frames_read_back_and_oversized_ones_refused():
    stream = io.BytesIO()
    wire.write_frame(stream, b"hello")
    stream.seek(0)
    assert wire.read_frame(stream) == b"hello" and wire.read_frame(stream) is None
    huge = io.BytesIO(struct.pack(">Q", wire.MAX_FRAME + 1))
    with pytest.raises(ValueError, match="over the limit"):
        wire.read_frame(huge)


def test_are_odd_dtypes_and_huge_views_refused_before_they_cost_memory():
    # a 1-element storage viewed as 2**40 elements (stride 0) must not be made real
    huge = torch.zeros(1).expand(2 ** 40)
    assert wire.OPAQUE in wire.plain(huge) and "elements" in wire.plain(huge)[wire.OPAQUE]
    odd = torch.empty(3, dtype=torch.bits8)
    assert wire.plain(odd) == {wire.OPAQUE: "a tensor of dtype torch.bits8"}
    small = torch.zeros(1).expand(4)  # a small expanded view is harmless: cloned, real
    assert torch.equal(wire.plain(small), torch.zeros(4))


@pytest.mark.parametrize("dtype", sorted(wire.DTYPES))
def test_does_a_tensor_of_every_allowed_dtype_cross_with_its_values_and_shape(dtype):
    dtype = getattr(torch, dtype)
    source = (torch.arange(-6, 6).reshape(3, 4) % (2 if dtype == torch.bool else 100)).to(dtype)
    for value in (source, source.t(), source[0, 0], source[:0]):  # a view, 0-dim, empty
        back = wire.loads(wire.dumps(value))
        assert back.dtype == value.dtype and back.shape == value.shape
        assert torch.equal(back, value)


def test_do_tuples_big_ints_and_odd_strings_keep_their_type_and_value():
    value = {"t": (1, (2.5, [3, (4,)])), "size": torch.Size([2, 3]), "big": [2 ** 70, -2 ** 80],
             "text": "caf\u00e9 \ud800", "nan": float("nan"), "neg0": -0.0, "raw": b"\x00\xff"}
    back = wire.loads(wire.dumps(value), trusted=True)  # the grader's frame: strings exact
    assert back["t"] == (1, (2.5, [3, (4,)])) and type(back["t"][1][1][1]) is tuple
    assert back["size"] == (2, 3) and back["big"] == [2 ** 70, -2 ** 80]
    assert back["text"] == value["text"] and back["raw"] == b"\x00\xff"
    assert back["nan"] != back["nan"] and str(back["neg0"]) == "-0.0"


def test_is_something_not_plain_refused_when_sent():
    for value in (object(), numpy.arange(3), torch.eye(2).to_sparse(), {"f": print}):
        with pytest.raises((TypeError, ValueError)):
            wire.dumps(value)


def _forged(obj):
    import msgpack

    return msgpack.packb(obj, use_bin_type=True)


@pytest.mark.parametrize("payload, phrase", [
    (_forged({wire.TENSOR: ["float32", [2], "cpu", b"abc"]}), "2 elements of float32 in 3"),
    (_forged({wire.TENSOR: ["float32", [2 ** 40], "cpu", b""]}), "not plain data"),
    (_forged({wire.TENSOR: ["float32", [2 ** 20, 2 ** 20], "cpu", b""]}), "elements"),
    (_forged({wire.TENSOR: ["complex64", [1], "cpu", b"12345678"]}), "not plain data"),
    (_forged({wire.TENSOR: ["float32", [-1], "cpu", b""]}), "not plain data"),
    (_forged({wire.TENSOR: ["float32", [1], "meta", b"1234"]}), "meta"),
    (_forged({wire.TENSOR: ["float32", [1], "cpu"]}), "dtype, shape, device, bytes"),
    (_forged({wire.TENSOR: ["float32", [1], "cpu", b"1234"], "x": 1}), "mixes"),
    (_forged({wire.TUPLE: "ab"}), "not a list"),
    (_forged({wire.BIG_INT: "1" * 5000}), "digits"),
    (b"\xc7\x01\x05a", "extension"),
    (_forged({1: 2}), "map key"),
    (b"\x93\x01", "."),  # cut short
    (_forged({wire.TENSOR: ["float32", [2 ** 63 - 1, 0], "cpu", b""]}), "not plain data"),
    (_forged({wire.TENSOR: ["float32", [2 ** 64 - 1, 0], "cpu", b""]}), "not plain data"),
    (_forged({wire.TENSOR: [["float32"], [1], "cpu", b"1234"]}), "not plain data"),
    (_forged({wire.TENSOR: ["float32", [1], "cuda:7", b"1234"]}), "cuda:7"),
    (_forged({wire.TENSOR: ["float32", [1], ["cpu"], b"1234"]}), "tensor on"),
    (_forged({wire.DTYPE: "Tensor"}), "not a dtype"),
    (_forged({wire.DEVICE: "meta"}), "meta"),
])
def test_is_a_forged_frame_refused_and_nothing_built_from_it(payload, phrase):
    with pytest.raises(ValueError, match=phrase):
        wire.loads(payload)


def test_is_an_old_pickled_frame_refused_not_unpickled():
    import io
    import pickle

    class Boom:
        def __reduce__(self):
            return (print, ("unpickled!",))

    buffer = io.BytesIO()
    pickle.dump({"ok": Boom()}, buffer)
    with pytest.raises(ValueError):
        wire.loads(buffer.getvalue())


def test_do_the_graders_dtypes_devices_numpy_scalars_and_int_keys_reach_the_child():
    value = {"dtype": torch.float64, "device": torch.device("cpu"), "n": numpy.int64(3),
             "x": numpy.float32(0.5), "by_class": {0: "zero", 1: "one"}}
    back = wire.loads(wire.dumps(value), trusted=True)
    assert back["dtype"] is torch.float64 and back["device"] == torch.device("cpu")
    assert back["n"] == 3 and type(back["n"]) is int and back["x"] == 0.5
    assert back["by_class"] == {0: "zero", 1: "one"}
    with pytest.raises(ValueError, match="map key"):  # the child's frames: string keys only
        wire.loads(wire.dumps({"by_class": {0: "zero"}}))


def test_does_a_subclass_cross_as_its_base_value_without_running_its_overrides():
    class Lying(str):
        def __str__(self):
            return "changed"

    class Big(int):
        pass

    back = wire.loads(wire.dumps([Lying("kept"), Big(2 ** 70), torch.ones(2).neg().conj()]))
    assert back[0] == "kept" and back[1] == 2 ** 70 and torch.equal(back[2], -torch.ones(2))
    with pytest.raises(TypeError, match="digits"):
        wire.dumps(10 ** 5000)


def test_is_a_frame_of_millions_of_tiny_values_refused_before_it_costs_gigabytes():
    import msgpack

    half = [{}] * (wire.MAX_VALUES // 2 + 1)
    flood = msgpack.packb([half, half])  # ~1 MB of MessagePack, no list over the limit
    with pytest.raises(ValueError, match="values in lists and dicts"):
        wire.loads(flood)
    with pytest.raises(ValueError):
        wire.loads(msgpack.packb([[]] * wire.MAX_VALUES))
    assert len(wire.loads(msgpack.packb(list(range(1000))))) == 1000


def test_are_a_childs_odd_strings_and_timestamps_made_plain():
    import msgpack

    odd = wire.loads(wire.dumps({"text": "a\ud800b"}))  # the child sent a lone surrogate
    assert "\ud800" not in odd["text"] and "\ufffd" in odd["text"]
    assert odd["text"].encode("utf-8")  # a notebook can hold it
    assert wire.loads(wire.dumps({"text": "a\ud800b"}), trusted=True)["text"] == "a\ud800b"
    stamp = wire.loads(msgpack.packb({"ok": msgpack.Timestamp(5, 0)}, datetime=False))
    assert stamp == {"ok": 5.0}
