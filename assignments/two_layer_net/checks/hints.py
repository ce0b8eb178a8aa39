"""Hints for the Python and PyTorch errors students' code raises, added after the error itself.

A check that catches an exception from the student's code reports ``<function> raised <Kind>:
<message>`` and, when the message is one of the common ones below, ``; hint: <what to do>``:
the original error always stays in the line, the hint only says what usually causes it. Each
hint is tested with the error PyTorch or Python really raises (tests/assignments/test_hints.py).
"""
import re

__all__ = ["hint_for", "HINTS"]

# (regular expression on "<Kind>: <message>", hint; groups of the match fill the hint's {})
HINTS = (
    (r"return_types\.(max|min)",
     "torch.{0}(x, dim) returns a pair (values, indices): take .values (or use torch.a{0}(x, "
     "dim=..., keepdim=True)) before computing with it"),
    (r"'type' object is not (subscriptable|iterable)|argument of type 'type'|GenericAlias|"
     r"unbound method dict",
     "a class was passed where a value is expected: did you pass dict (the type) instead of "
     "the dict of tensors, e.g. params?"),
    (r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)",
     "in A @ B the columns of A must equal the rows of B, but A is {0}x{1} and B is {2}x{3}: "
     "check the order of the factors and whether one of them needs .t()"),
    (r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at non-singleton "
     r"dimension (\d+)",
     "the shapes of an element-wise operation do not broadcast ({0} against {1} in dimension "
     "{2}): a row sum or maximum needs keepdim=True to stay (N, 1)"),
    (r"can't convert (cuda|mps)\S* device type tensor to numpy",
     "call .cpu() before .numpy() (or stay in torch: the inputs may be on a GPU)"),
    (r"Can't call numpy\(\) on Tensor that requires grad",
     "call .detach() before .numpy() (and write the backward pass without autograd)"),
    (r"ZeroDivisionError",
     "a divisor is 0, often an integer division that rounded down: // gives 0 when the "
     "divisor is larger (num_train // batch_size with batch_size > num_train); use / for "
     "fractions, or max(..., 1)"),
    (r"result type Float can't be cast to the desired output type (Long|Int)",
     "an in-place operation (/=, *=, -=) on an integer tensor: make it a float tensor first "
     "(.float() or dtype=X.dtype); labels y stay int64"),
    (r"tensors used as indices must be long|expected .*Long.* but (found|got) Float",
     "labels used as indices or targets must be int64 (torch.long): do not convert y to float"),
    (r"expected (scalar type|m1 and m2 to have the same dtype).*|"
     r"found dtype (Double|Float) but expected (Float|Double)",
     "two tensors of different dtypes (float32 and float64) meet: create new tensors with "
     "dtype=X.dtype or torch.*_like(...)"),
    (r"only one element tensors can be converted to Python scalars|"
     r"with \d+ elements cannot be converted to Scalar",
     ".item() and float() need a single number: average or sum the tensor first"),
    (r"Boolean value of Tensor with more than one (value|element) is ambiguous",
     "if, and, or on a tensor need one True/False: use torch.where(...) for element-wise "
     "choices, or .any()/.all()"),
    (r"'tuple' object has no attribute '(\w+)'",
     "a tuple has no .{0}: nn_forward_pass returns (scores, hidden) and torch.max(x, dim) "
     "returns (values, indices); unpack them first"),
    (r"NameError: name '(\w+)' is not defined",
     "{0} is not defined where the function runs: import it or define it in your answer cell "
     "(not in a cell further down or one you did not run)"),
)
_COMPILED = tuple((re.compile(pattern), hint) for pattern, hint in HINTS)


def hint_for(kind, message):
    """The hint for an exception ``kind`` (its class name) with ``message``, or None."""
    text = f"{kind}: {message}"
    for pattern, hint in _COMPILED:
        found = pattern.search(text)
        if found:
            return hint.format(*(g or "" for g in found.groups()))
    return None
