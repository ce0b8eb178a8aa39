"""Tests of the hidden-test support, the package assignments/two_layer_net/checks/.

Each sample in assignments/two_layer_net/samples/<name>/ is a student's answers (answers.py) and
the checks it must fail, with a distinctive part of each message (expected.json). Run with

    .venv/bin/python -m pytest tests/assignments/test_checks.py -q
"""
import importlib.util
import json
import re
from pathlib import Path

import pytest
import torch

from conftest import ROOT
from coursekit.course.manifest import load_manifest
from coursekit.hidden import load_module
from usefuns.utils import get_device

ASSIGNMENT = Path(__file__).resolve().parents[2] / "assignments" / "two_layer_net"
SAMPLES = ASSIGNMENT / "samples"
# The samples whose answers these checks run here, in pytest's process: not the attack_*
# ones (they tamper with the process that runs them: only the grader's sandbox runs them), nor
# those about a broken or edited notebook rather than its answers.
NOTEBOOK_KEYS = {"notebook_edits", "raw_notebook", "submitted_as", "expected_status"}
SAMPLE_NAMES = sorted(p.name for p in SAMPLES.iterdir()
                      if (p / "answers.py").is_file() and not p.name.startswith("attack_")
                      and not NOTEBOOK_KEYS & set(json.loads((p / "expected.json").read_text())))
CORRECT = [name for name in SAMPLE_NAMES if name.startswith("correct")]
ANSWERS = ("nn_forward_pass", "nn_forward_backward", "nn_train", "nn_predict")
# every check the manifest names (the part-2 checks, on the search and the checkpoint, are run
# end to end only: tests/system/test_autograde.py); CHECKS are run here, in this process
KNOWN_CHECKS = {spec.check[1] for spec in load_manifest(ROOT, "two_layer_net").cells.values()
                if spec.grader == "check"}
CHECKS = {"check_forward": "nn_forward_pass", "check_loss": "nn_forward_backward",
          "check_loss_stability": "nn_forward_backward", "check_grads": "nn_forward_backward",
          "check_backprop": "nn_forward_backward", "check_train": "nn_train",
          "check_predict": "nn_predict"}


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checks = load_module(ASSIGNMENT / "checks", "tln_checks_under_test")
reference = _load(ASSIGNMENT / "reference.py", "tln_reference_under_test")


def _stub(*args, **kwargs):
    raise NotImplementedError()


def _exec_sample(name, namespace):
    """Run the sample's answers.py into ``namespace``, after those of its ``based_on`` sample."""
    base = json.loads((SAMPLES / name / "expected.json").read_text()).get("based_on")
    if base:
        _exec_sample(base, namespace)
    path = SAMPLES / name / "answers.py"
    exec(compile(path.read_text(), str(path), "exec"), namespace)


def answers(name):
    """The sample's functions, exec'd as the notebook would: torch imported, stubs elsewhere."""
    namespace = {"torch": torch, "__name__": f"sample_{name}"}
    _exec_sample(name, namespace)
    for answer in ANSWERS:
        namespace.setdefault(answer, _stub)
    return namespace


def expected_failures(name):
    spec = json.loads((SAMPLES / name / "expected.json").read_text())
    failures = dict(spec["hidden_failures"])
    if get_device().type == "cuda":  # the checks run on get_device()
        failures.update(spec.get("hidden_failures_cuda", {}))
    return failures


def run_checks(functions, device=None):
    """{check name: None if it passes, else its message}."""
    results = {}
    for check, answer in CHECKS.items():
        try:
            getattr(checks, check)(functions[answer], device=device)
            results[check] = None
        except AssertionError as err:
            results[check] = str(err)
    return results


@pytest.fixture(scope="module")
def sample_results():
    return {name: run_checks(answers(name)) for name in SAMPLE_NAMES}


def test_does_every_check_pass_the_reference():
    functions = {answer: getattr(reference, answer) for answer in ANSWERS}
    assert run_checks(functions, device=get_device()) == {check: None for check in CHECKS}


@pytest.mark.parametrize("name", CORRECT)
def test_does_every_check_pass_each_correct_sample(name, sample_results):
    assert sample_results[name] == {check: None for check in CHECKS}


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_does_each_sample_fail_exactly_its_listed_checks(name, sample_results):
    failures = expected_failures(name)
    results = sample_results[name]
    assert set(failures) <= KNOWN_CHECKS, "expected.json names an unknown check"
    failures = {check: part for check, part in failures.items() if check in CHECKS}
    failed = {check for check, message in results.items() if message is not None}
    assert failed == set(failures), results
    for check, part in failures.items():
        assert part in results[check], (check, results[check])


def test_does_every_sample_say_what_it_is():
    for name in SAMPLE_NAMES:
        spec = json.loads((SAMPLES / name / "expected.json").read_text())
        assert spec["description"] and "\n" not in spec["description"], name
        for key in ("hidden_failures", "hidden_failures_cuda"):
            assert set(spec.get(key, {})) <= KNOWN_CHECKS, (name, key)


def test_is_every_message_one_line(sample_results):
    messages = [m for results in sample_results.values() for m in results.values() if m]
    assert len(messages) >= len([name for name in SAMPLE_NAMES if expected_failures(name)])
    for message in messages:
        assert message == message.strip() and "\n" not in message, message
        assert "Traceback" not in message and len(message) < 400, message


def test_does_a_blank_notebook_fail_every_check(sample_results):
    assert all(message is not None for message in sample_results["blank"].values())


def test_can_a_monkeypatched_allclose_fool_the_checks(monkeypatch):
    wrong = answers("reg_factor_one")
    monkeypatch.setattr(torch, "allclose", lambda *args, **kwargs: True)
    monkeypatch.setattr(torch, "isclose", lambda a, b, *args, **kwargs: torch.ones_like(a) > 0)
    monkeypatch.setattr(torch, "equal", lambda *args, **kwargs: True)
    with pytest.raises(AssertionError, match="off by a factor of 2"):
        checks.check_grads(wrong["nn_forward_backward"])
    with pytest.raises(AssertionError, match="lowest score"):
        checks.check_predict(answers("argmin")["nn_predict"])


def test_is_autograd_named_in_the_source_caught_before_it_runs():
    with pytest.raises(AssertionError, match=r"uses autograd \(v.detach\(\).clone\(\).requires_grad_ at line 6 "):
        checks.check_backprop(answers("autograd")["nn_forward_backward"])


def test_does_check_train_leave_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    checks.check_train(reference.nn_train)
    assert torch.equal(torch.rand(3), expected)


def test_do_the_hidden_inputs_tell_the_mistakes_apart():
    for case, *_ in checks.cases._FORWARD_CASES + ((checks.cases._GRAD_CASE,),):
        negative = (case["z"] < 0).double().mean().item()
        assert 0.2 < negative < 0.8  # both sides of the ReLU
        assert case["params"]["b1"].abs().min() > 0 and case["params"]["b2"].abs().min() > 0
    loss = checks.cases._LOSS_CASE
    pieces = loss["pieces"]
    assert abs(pieces["data"] - pieces["lnC"]) > 0.5
    assert loss["reg"] * pieces["regW"] > 1 and loss["reg"] * pieces["regb"] > 0.1
    assert 2 < loss["scores"].abs().max() < 20
    uniform, spread = checks.cases._STABILITY_CASES
    for case in (uniform, spread):
        scores = case["scores"]
        assert scores.min() > 1e3 and scores.max() < 2e4
        assert (scores.amax(1) - scores.amin(1)).max() < 10  # -log(softmax) stays finite
    assert (uniform["scores"].amax(1) - uniform["scores"].amax(1).min()).max() < 10
    assert spread["scores"].amax(1).max() - spread["scores"].amax(1).min() > 500
    grad = checks.cases._GRAD_CASE
    pieces, expected = grad["pieces"], grad["grads"]
    for key in ("W1", "b1"):
        for other in ("nomask", "gradmask"):
            assert not torch.allclose(pieces[other][key], pieces["G"][key], rtol=1e-3)
    for key in ("W1", "W2"):  # the diagnoses' decomposition is the reference's
        assert torch.allclose(pieces["G"][key] + pieces["R"][key], expected[key])
        assert (pieces["R"][key].abs().max() > 0.1 * pieces["G"][key].abs().max())
    scores = checks.cases._PREDICT_CASE["scores"]
    top = scores.topk(2, dim=1).values
    assert (top[:, 0] - top[:, 1]).min() > 1e-2  # no near-ties for float32 argmax
    assert set(scores.argmax(dim=1).tolist()) == set(range(scores.shape[1]))


def test_does_the_reference_agree_with_autograd_on_the_grad_case():
    case = checks.cases._GRAD_CASE
    params = {k: v.clone().requires_grad_(True) for k, v in case["params"].items()}
    loss, _ = reference.nn_forward_backward(
        {k: v.detach() for k, v in params.items()}, case["X"], y=case["y"], reg=case["reg"])
    scores, _ = reference.nn_forward_pass(params, case["X"])
    auto = (torch.nn.functional.cross_entropy(scores, case["y"])
            + case["reg"] * ((params["W1"] ** 2).sum() + (params["W2"] ** 2).sum()))
    auto.backward()
    assert torch.allclose(loss, auto.detach())
    for key, param in params.items():
        assert torch.allclose(case["grads"][key], param.grad, rtol=1e-10, atol=1e-12), key


def _fb_then(change):
    """The reference nn_forward_backward with ``change(loss, grads, params, reg)`` applied."""
    def answer(params, X, y=None, reg=0.0):
        if y is None:
            return reference.nn_forward_backward(params, X)
        loss, grads = reference.nn_forward_backward(params, X, y=y, reg=reg)
        return change(loss, grads, params, reg)
    return answer


def _train_with(update):
    """The correct sample's nn_train with another SGD update line."""
    path = SAMPLES / "correct_compact" / "answers.py"
    source = path.read_text().replace("            params[k] -= learning_rate * grads[k]", update)
    namespace = {"torch": torch}
    exec(compile(source, str(path), "exec"), namespace)
    return namespace["nn_train"]


def _sum_w2(params):
    return (params["W1"] ** 2).sum() + (params["W2"] ** 2).sum()


def _pre_relu(params, X):
    z = X @ params["W1"] + params["b1"]
    return z @ params["W2"] + params["b2"], z


ODD_ANSWERS = {  # check, answer, part of the message
    "forward returns None": ("check_forward", lambda p, X: None, "must return a tuple"),
    "hidden before the ReLU": ("check_forward", _pre_relu, "negative entries"),
    "forward casts to float32": (
        "check_forward", lambda p, X: tuple(t.float() for t in reference.nn_forward_pass(p, X)),
        "keep the inputs' dtype"),
    "forward changes X": (
        "check_forward", lambda p, X: reference.nn_forward_pass(p, X.mul_(2)), "in place"),
    "per-sample losses": (
        "check_loss", _fb_then(lambda loss, g, p, reg: (loss * torch.ones(8, dtype=loss.dtype,
                                                                           device=loss.device), g)),
        "average over the samples"),
    "reg with a 1/2": (
        "check_loss", _fb_then(lambda loss, g, p, reg: (loss - 0.5 * reg * _sum_w2(p), g)),
        "factor 0.5"),
    "returns grads only": ("check_grads", _fb_then(lambda loss, g, p, reg: g), "(loss, grads)"),
    "lower-case keys": (
        "check_grads",
        _fb_then(lambda loss, g, p, reg: (loss, {k.lower(): v for k, v in g.items()})),
        "grads is missing W1, W2"),
    "db1 with keepdim": (
        "check_grads", _fb_then(lambda loss, g, p, reg: (loss, {**g, "b1": g["b1"][None]})),
        "db1 has shape (1, 8)"),
    "dW1 without reg": (
        "check_grads",
        _fb_then(lambda loss, g, p, reg: (loss, {**g, "W1": g["W1"] - 2 * reg * p["W1"]})),
        "dW1: the regularisation gradient is missing"),
    "dW1 off by 10%": (
        "check_grads", _fb_then(lambda loss, g, p, reg: (loss, {**g, "W1": g["W1"] * 1.1})),
        "although dW2 and db2 are right"),
    "grads keep a grad_fn": (
        "check_backprop", _fb_then(lambda loss, g, p, reg: (
            loss, {**g, "W1": g["W1"].clone().requires_grad_() * 1})), "carries a grad_fn"),
    "float labels": ("check_predict", lambda p, f, X: f(p, X).argmax(1).float(), "int64"),
    "labels with keepdim": (
        "check_predict", lambda p, f, X: f(p, X).argmax(1, keepdim=True), "without keepdim"),
    "max's (values, indices)": ("check_predict", lambda p, f, X: f(p, X).max(1), "tuple"),
    "never the last class": (
        "check_predict", lambda p, f, X: f(p, X)[:, :-1].argmax(1),
        "not the class with the highest"),
}


@pytest.mark.parametrize("case", sorted(ODD_ANSWERS))
def test_does_an_odd_answer_get_a_message_that_names_its_mistake(case):
    check, answer, part = ODD_ANSWERS[case]
    with pytest.raises(AssertionError) as info:
        getattr(checks, check)(answer)
    assert part in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("update, part", [
    ("            params[k] -= 0.5 * grads[k]", "ignores the learning-rate decay"),
    ("            pass", "did not change params"),
    ("            if k[0] == 'W': params[k] -= learning_rate * grads[k]", "params['b1']"),
])
def test_does_check_train_name_a_wrong_update(update, part):
    with pytest.raises(AssertionError, match=re.escape(part)):
        checks.check_train(_train_with(update))


@pytest.mark.parametrize("update", ["            params[k].sub_(grads[k], alpha=learning_rate)",
                                    "            params[k].data -= learning_rate * grads[k]"])
def test_does_check_train_accept_other_correct_updates(update):
    checks.check_train(_train_with(update))


@pytest.mark.parametrize("body, named", [
    # numeric differentiation is not backpropagation
    ("    from usefuns.grad import compute_numeric_gradient\n"
     "    loss = _loss(params, X, y, reg)\n"
     "    grads = {k: compute_numeric_gradient(lambda _: _loss(params, X, y, reg), params[k])\n"
     "             for k in params}\n"
     "    return loss, grads\n", "usefuns.grad"),
    # the autograd graph walked by hand, through parameters that require gradients
    ("    p = {k: torch.nn.Parameter(v.clone()) for k, v in params.items()}\n"
     "    loss = _loss(p, X, y, reg)\n"
     "    loss.grad_fn(torch.ones((), dtype=loss.dtype))\n"
     "    return loss.detach(), {k: torch.zeros_like(v) for k, v in params.items()}\n",
     "Parameter"),
])
def test_is_backprop_by_other_means_caught(tmp_path, body, named):
    source = ("import torch\n\n\ndef _loss(params, X, y, reg):\n"
              "    s = (X @ params['W1'] + params['b1']).clamp(min=0) @ params['W2'] + params['b2']\n"
              "    return torch.nn.functional.cross_entropy(s, y)\n\n\n"
              "def nn_forward_backward(params, X, y=None, reg=0.0):\n" + body)
    path = tmp_path / "other_means.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("other_means", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(AssertionError, match=f"uses autograd .*{named}"):
        checks.check_backprop(module.nn_forward_backward)
