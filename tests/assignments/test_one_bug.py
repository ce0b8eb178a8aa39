"""Does one bug cost its points once? Every single-mistake sample (``based_on`` a correct sample,
changing one function) loses points only in the group of the function it changed.

Every graded cell of part 1 and the search runs here in pytest's process, as it would in the
notebook: the hidden cells through the checks the manifest names, the visible cells by running
their source from the source notebook after its setup cells and the answer cells (the
reference's, then the sample's functions). Fast: toy sizes, no kernel.

    .venv/bin/python -m pytest tests/assignments/test_one_bug.py -q
"""
import json
import linecache

import pytest
import torch

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit.course.manifest import load_manifest
from coursekit.hidden import load_module
from coursekit.term import samples
from usefuns.utils import get_device

MANIFEST = load_manifest(ROOT, ASSIGNMENT)
SOURCE = json.loads((ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
checks = load_module(ROOT / "assignments" / ASSIGNMENT / "checks", "tln_checks_one_bug")

GROUPS = {"nn_forward_pass": {"forward"}, "nn_forward_backward": {"loss", "grads"},
          "nn_train": {"train"}, "nn_predict": {"predict"},
          "nn_get_search_params": {"search"}, "find_best_net": {"search"}}
# A visible test that cannot avoid another function without showing its answer: the numeric
# gradient check differentiates the student's loss through the student's own forward pass.
COUPLED = {("grads_numeric", "nn_forward_pass")}
NOTEBOOK_KEYS = {"notebook_edits", "raw_notebook", "submitted_as", "expected_status"}
CORRECT = [n for n in samples.list_samples(SAMPLES) if n.startswith("correct")]


def _single_mistakes():
    found = {}
    for name in samples.list_samples(SAMPLES):
        spec = samples.load_expected(SAMPLES, name)
        own = samples.read_answers(SAMPLES / name / "answers.py")
        if (spec.get("based_on") in CORRECT and len(own) == 1 and not NOTEBOOK_KEYS & set(spec)
                and not name.startswith(("attack_", "crash_", "correct"))):
            found[name] = next(iter(own))
    return found


SINGLE = _single_mistakes()


def _run(text, filename, namespace):
    """exec ``text`` as a cell of its own, with its source readable as a notebook's is."""
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    exec(compile(text, filename, "exec"), namespace)


def _source(cell):
    text = "".join(cell["source"])
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in text.splitlines())


def _notebook(name):
    """The notebook's namespace after its setup, the reference answers and the sample's."""
    namespace = {"__name__": "__main__"}
    for cell in SOURCE["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and (meta.get("grade_id") in ("setup", "toy_data")
                                            or (meta.get("solution") and not meta.get("grade"))):
            _run(_source(cell), f"<cell {meta['grade_id']}>", namespace)
    answers, _ = samples.sample_contents(SAMPLES, name)
    for function, text in answers.items():
        _run(text, f"<{name}: {function}>", namespace)
    return namespace


def _failures(name):
    """{grade_id: message} of the graded cells (part 1 and the search) the sample fails."""
    namespace, failed = _notebook(name), {}
    tests = {c["metadata"]["nbgrader"]["grade_id"]: _source(c) for c in SOURCE["cells"]
             if c["metadata"].get("nbgrader", {}).get("grade")}
    for grade_id, spec in MANIFEST.cells.items():
        if spec.grader == "manual" or spec.args:  # written answers; the submitted model file
            continue
        try:
            if spec.grader == "visible":
                _run(tests[grade_id], f"<test {grade_id}>", dict(namespace))
            else:
                check = getattr(checks, spec.check[1])
                check(*[namespace[n] for n in (*spec.uses, *spec.constants)], **spec.kwargs)
        except Exception as err:  # noqa: BLE001 - any failure of the cell counts
            failed[grade_id] = f"{type(err).__name__}: {err}"
    return failed


@pytest.fixture(scope="module")
def failures():
    return {name: _failures(name) for name in SINGLE}


def test_are_there_single_mistake_samples_for_every_function():
    assert set(SINGLE.values()) >= {"nn_forward_pass", "nn_forward_backward", "nn_train",
                                    "nn_predict", "nn_get_search_params", "find_best_net"}


def test_does_the_reference_notebook_pass_every_cell():
    assert _failures("correct_compact") == {}


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_does_a_single_mistake_lose_points_only_in_its_own_group(name, failures):
    function = SINGLE[name]
    outside = {g: m for g, m in failures[name].items() if g.split("_")[0] not in
               GROUPS[function] and (g, function) not in COUPLED}
    assert outside == {}, f"{name} changes {function} only"


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_do_the_expected_scores_follow_the_same_rule(name):
    spec = samples.load_expected(SAMPLES, name)
    full = samples.load_expected(SAMPLES, spec["based_on"])["scores"]
    device = get_device().type
    lost = {g for g, points in spec.get(f"scores_{device}", spec["scores"]).items()
            if points < full[g]}
    allowed = GROUPS[SINGLE[name]] | {g.split("_")[0] for g, f in COUPLED if f == SINGLE[name]}
    assert lost <= allowed | {"model"}, lost  # model: the sample's own best_model.pt


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_is_each_mistake_caught_where_the_sample_says(name, failures):
    spec = samples.load_expected(SAMPLES, name)
    full = samples.load_expected(SAMPLES, spec["based_on"])["scores"]
    scores = spec.get(f"scores_{get_device().type}", spec["scores"])
    lost = {g for g, points in scores.items() if points < full[g]} - {"model"}
    assert {g.split("_")[0] for g in failures[name]} == lost, failures[name]


def test_does_a_crashing_forward_pass_keep_the_loss_and_gradient_checks():
    namespace = _notebook("forward_crash")
    for check in ("check_loss", "check_loss_stability", "check_grads", "check_backprop"):
        getattr(checks, check)(namespace["nn_forward_backward"])


def test_does_a_test_that_cannot_avoid_a_broken_function_say_so():
    message = _failures("forward_crash")["grads_numeric"]
    assert message.startswith("AssertionError: nn_forward_backward could not be tested: "
                              "nn_forward_pass, which it calls, raised RuntimeError"), message


def test_does_a_check_name_the_function_that_really_raised():
    namespace = _notebook("forward_crash")

    def nn_forward_backward(params, X, y=None, reg=0.0):  # calls the forward pass on its own
        return namespace["nn_forward_pass"](params, X)[0].sum(), {}

    with pytest.raises(AssertionError, match=r"^nn_forward_backward could not be tested: "
                                             r"nn_forward_pass raised RuntimeError: mat1"):
        checks.check_loss(nn_forward_backward)
    torch.manual_seed(0)
