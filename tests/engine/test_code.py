"""coursekit.engine.verify.code: what the grader reads in the student's source."""
from coursekit.engine.verify.code import StudentCode

FORWARD = ("answer cell 1", "def nn_forward_pass(params, X):\n    h = (X @ params['W1']).clamp(min=0)\n"
                            "    return h @ params['W2'], h\n")


def code(*bodies):
    return StudentCode([FORWARD] + [(f"answer cell {i + 2}", b) for i, b in enumerate(bodies)])


def test_does_reach_follow_helpers_and_top_level_names_but_not_others():
    c = code("import torch\nEPS = 1e-9\ndef helper(s):\n    return s + EPS\n"
             "def unused():\n    return 0\n"
             "def nn_forward_backward(params, X, y=None, reg=0.0):\n"
             "    scores, _ = nn_forward_pass(params, X)\n    return helper(scores)\n")
    names = [d.name for d in c.reach("nn_forward_backward")]
    assert names[0] == "nn_forward_backward"
    assert {"nn_forward_pass", "helper", "EPS"} <= set(names) and "unused" not in names
    assert c.reach("missing") == []


def test_is_autograd_found_through_a_helper_and_a_constant_string():
    c = code("def grads_of(loss, p):\n    getattr(loss, 'backward')()\n    return p\n"
             "def nn_forward_backward(params, X, y=None, reg=0.0):\n"
             "    return grads_of(X.sum(), params)\n")
    found = c.mentions("nn_forward_backward", attributes={"backward"}, strings={"backward"})
    assert found == ["'backward' at line 2 of answer cell 2"]


def test_does_a_decoy_defined_last_hide_the_function_that_runs():
    # the decorator binds the first definition again: both are read, the autograd is found
    c = code("import torch\n_grad = torch.autograd.grad\n"
             "def nn_forward_backward(params, X, y=None, reg=0.0):\n"
             "    return _grad(X.sum(), list(params.values()))\n"
             "@(lambda decoy: nn_forward_backward)\n"
             "def nn_forward_backward(params, X, y=None, reg=0.0):\n    return X.sum(), {}\n")
    found = c.mentions("nn_forward_backward", attributes={"grad"}, modules=("torch.autograd",))
    assert found == ["torch.autograd.grad at line 2 of answer cell 2"]
    lines = sorted(d.node.lineno for d in c.reach("nn_forward_backward")
                   if d.name == "nn_forward_backward")
    assert lines == [3, 6]  # both definitions, the live one and the decoy


def test_is_an_aliased_autograd_import_found():
    c = code("from torch.autograd import grad as g\n"
             "def nn_forward_backward(params, X, y=None, reg=0.0):\n    return g(X, params)\n")
    assert c.mentions("nn_forward_backward", modules=("torch.autograd",)) == [
        "import torch.autograd at line 1 of answer cell 2"]


def test_is_code_the_grader_cannot_follow_reported():
    c = code("def nn_forward_backward(params, X, y=None, reg=0.0):\n"
             "    name = 'back' + 'ward'\n    getattr(X, name)()\n"
             "    import inspect\n    return eval('1')\n")
    found = c.reflective("nn_forward_backward")
    assert "getattr() with a computed attribute name at line 3 of answer cell 2" in found
    assert any(f.startswith("import inspect") for f in found)
    assert any(f.startswith("eval") for f in found)


def test_are_loops_over_the_data_told_from_loops_over_the_parameters():
    c = code("def nn_forward_backward(params, X, y=None, reg=0.0):\n"
             "    for k in ('W1', 'W2'):\n        X = X + 0 * params[k].sum()\n"
             "    reg_loss = sum(torch.sum(params[k] ** 2) for k in params)\n"
             "    grads = {k: v * 0 for k, v in params.items()}\n"
             "    N = X.shape[0]\n    total = 0\n"
             "    for i in range(N):\n        total = total + X[i].sum()\n"
             "    rows = [x.sum() for x in X]\n    s = sum(X)\n"
             "    while False:\n        pass\n    return total, grads\n")
    found = c.loops_over_data("nn_forward_backward")
    assert found == ["for ... in range(N) at line 8 of answer cell 2",
                     "for ... in X at line 10 of answer cell 2",
                     "Python's sum() over X at line 11 of answer cell 2",
                     "a while loop at line 12 of answer cell 2"]  # by line


def test_does_the_reference_style_answer_have_no_findings():
    from conftest import SAMPLES

    c = StudentCode([("answer cell 1", (SAMPLES / "correct_compact" / "answers.py").read_text())])
    name = "nn_forward_backward"
    assert c.loops_over_data(name) == c.reflective(name) == []
    assert c.mentions(name, attributes={"backward", "grad", "requires_grad"}) == []


def test_is_a_cell_that_does_not_parse_left_out_and_named():
    c = StudentCode([("answer cell 1", "def f(:\n"), FORWARD])
    assert c.unparsed == ["answer cell 1"] and c.reach("nn_forward_pass")
