"""The grader's side of the verification child (coursekit.engine.verify.remote), with a real
child process: what crosses, who is blamed, and what is skipped."""
import sys

import pytest
import torch

from coursekit.engine.verify.code import StudentCode
from coursekit.engine.verify.remote import Child, GraderFault
from coursekit.engine.verify.standin import StudentFunction
from coursekit.isolation import wire
from coursekit.isolation.settings import SandboxLimits

COMMAND = [sys.executable, "-m", "coursekit.isolation.child"]
START = {"limits": SandboxLimits(memory=2 * 1024 ** 3).as_dict(), "uid": None}
SETUP = ["import torch\nSCALE = 2\n"]


def child(*cells, setup=SETUP, command=COMMAND):
    cells = [(f"answer cell {i + 1}", source) for i, source in enumerate(cells)]
    return Child(command, START, setup, cells, "cpu")


def fn(made, name):
    return StudentFunction(made, name, StudentCode([]))


@pytest.fixture
def double():
    made = child("def double(x):\n    return x * SCALE\n",
                 "try:\n    import google.colab\nexcept ImportError:\n    pass\n",
                 "import not_a_module_anywhere\nSTEP = 1\n",
                 "def stepped(x):\n    return x + not_a_module_anywhere.STEP\n")
    yield made
    made.close()


def test_does_a_function_run_on_the_setup_and_return_data(double):
    assert torch.equal(fn(double, "double")(torch.ones(2)), torch.full((2,), 2.0))


def test_does_a_failing_import_cost_only_the_functions_that_need_it(double):
    assert [s[3].split(":")[0] for s in double.skipped] == ["ModuleNotFoundError"]
    assert double.skipped[0][0] == "answer cell 3"
    with pytest.raises(NameError, match="not_a_module_anywhere.*line 1 of answer cell 3"):
        fn(double, "stepped")(1)
    assert fn(double, "double")(3) == 6  # the rest still works


def test_is_an_undefined_function_the_students_error(double):
    with pytest.raises(NameError) as info:
        fn(double, "nn_predict")(1)
    assert info.value.coursekit_from_student


def test_do_in_place_updates_and_rebound_entries_reach_the_graders_objects():
    made = child("def step(params):\n    params['W'] -= 1\n    params['b'] = params['b'] * 0\n"
                 "    return None\n")
    try:
        params = {"W": torch.ones(2), "b": torch.ones(1)}
        W = params["W"]
        fn(made, "step")(params)
        assert torch.equal(W, torch.zeros(2)) and params["W"] is W
        assert torch.equal(params["b"], torch.zeros(1))
    finally:
        made.close()


def test_are_grader_functions_and_objects_called_back():
    class Net:
        remote_methods = ("score",)

        def __init__(self, k):
            self.k = k

        def score(self):
            return self.k * 10

        def secret(self):
            return "never"

    made = child("def best(make, ks):\n    nets = [make(k) for k in ks]\n"
                 "    return max(nets, key=lambda n: n.score())\n",
                 "def peek(make):\n    return make(1).secret()\n")
    try:
        best = fn(made, "best")(Net, [1, 3, 2])
        assert isinstance(best, Net) and best.k == 3  # the grader's own object comes back
        with pytest.raises(AttributeError, match="offers only score"):
            fn(made, "peek")(Net)
    finally:
        made.close()


def test_does_a_value_that_is_not_data_arrive_as_opaque_and_get_noted():
    made = child("def sparse():\n    return torch.eye(2).to_sparse()\n",
                 "def nested():\n    return {'W1': [torch.eye(2), torch.eye(2).to_sparse()]}\n",
                 "def swap(params):\n    params['W1'] = params['W1'].to_sparse()\n")
    try:
        value = fn(made, "sparse")()
        assert isinstance(value, wire.Opaque) and "sparse" in repr(value)
        assert "sparse returned" in made.not_data[-1] and "sparse" in made.not_data[-1]
        fn(made, "nested")()
        assert made.not_data[-1].startswith("nested returned") and "at ['W1'][1]" in made.not_data[-1]
        fn(made, "swap")({"W1": torch.eye(2)})
        assert made.not_data[-1].startswith("swap left in its arguments")
    finally:
        made.close()


def test_does_a_process_that_dies_cost_one_call_and_come_back():
    made = child("def die():\n    import os\n    os._exit(3)\n", "def one():\n    return 1\n")
    try:
        with pytest.raises(RuntimeError, match="exit code 3") as info:
            fn(made, "die")()
        assert info.value.coursekit_from_student
        assert fn(made, "one")() == 1
    finally:
        made.close()


def test_does_a_call_past_the_deadline_fail_as_the_students():
    made = Child(COMMAND, START, SETUP, [("answer cell 1", "def one():\n    return 1\n")],
                 "cpu", deadline=0.0)
    try:
        with pytest.raises(TimeoutError, match="time limit"):
            fn(made, "one")()
    finally:
        made.close()


def test_does_a_child_that_keeps_calling_back_stop_at_the_deadline():
    import time

    made = Child(COMMAND, START, SETUP, [("answer cell 1",
                 "import time\ndef spin(f):\n    while True:\n        time.sleep(0.5)\n"
                 "        f(1)\n")], "cpu", deadline=time.monotonic() + 6)
    start = time.monotonic()
    try:
        with pytest.raises((TimeoutError, RuntimeError)) as info:
            fn(made, "spin")(lambda x: x)
        assert info.value.coursekit_from_student
        assert time.monotonic() - start < 10  # one window for the call, callbacks included
    finally:
        made.close()


def test_are_globals_swapped_for_one_call_only():
    made = child("def scaled(x):\n    return x * SCALE\n")
    try:
        assert fn(made, "scaled").with_globals({"SCALE": 5}, 2) == 10
        assert fn(made, "scaled")(2) == 4
    finally:
        made.close()


def test_is_a_watched_call_counted_and_autograd_reported():
    made = child("def autograd(x):\n    x = x.clone().requires_grad_()\n"
                 "    (x * x).sum().backward()\n    return x.grad\n",
                 "def plain(x):\n    return (x * x).sum()\n")
    try:
        assert fn(made, "autograd").watched(torch.ones(2)).autograd == ("loss.backward()",)
        run = fn(made, "plain").watched(torch.ones(2))
        assert run.operations >= 2 and run.autograd == () and float(run.value) == 2.0
    finally:
        made.close()


@pytest.mark.parametrize("command, setup, phrase", [
    (["/nonexistent/python"], SETUP, "could not start"),
    ([sys.executable, "-c", "pass"], SETUP, "failed at start"),
    (COMMAND, ["raise RuntimeError('setup broke')"], "failed at setup: RuntimeError"),
])
def test_is_a_child_that_cannot_start_the_graders_fault(command, setup, phrase):
    with pytest.raises(GraderFault, match=phrase):
        child("def f():\n    return 1\n", setup=setup, command=command)


def test_do_top_level_statements_that_kill_the_child_fail_every_function():
    made = child("import os\nX = os._exit(1) if False else 0\n", "def f():\n    return 1\n",
                 "import sys\nsys.exit(4)\n")
    try:  # sys.exit at top level is a statement that is not a definition: not run
        assert fn(made, "f")() == 1
    finally:
        made.close()


def test_is_a_callback_with_one_tensor_for_its_arguments_refused_before_it_is_unpacked(double):
    """*args of a tensor would make one grader object per element, outside any cgroup."""
    calls = [lambda *args: len(args)]
    refused = double._serve_callback({"callback": 0, "args": torch.zeros(10 ** 6)}, calls)
    assert not refused["ok"] and "a list and a dict" in refused["error"]
    assert double._serve_callback({"callback": 0, "args": [1, 2]}, calls) == \
        {"ok": True, "value": 2}


def test_are_a_childs_skipped_list_and_error_texts_cut_to_what_the_grader_shows():
    """A child's reply is the student's: a forged list of skipped statements or a megabyte
    error is kept short, not split into millions of objects or copied into the status."""
    from coursekit.engine.verify import remote

    rows = remote._skipped([["cell", 3, "x" * 10 ** 6, "why"], "Ā" * 10 ** 6, ["a", "b"]] * 40)
    assert len(rows) <= remote.MAX_SKIPPED and all(len(r[2]) <= 200 for r in rows)
    assert rows[0] == ("cell", 3, "x" * 200, "why")
    made = child("def boom():\n    raise ValueError('Ā ' * 10 ** 6)\n")
    try:
        with pytest.raises(ValueError) as info:
            fn(made, "boom")()
        assert len(str(info.value)) <= remote.MAX_TEXT
    finally:
        made.close()


def test_does_a_module_the_students_code_writes_stay_off_the_relaunched_childs_path(tmp_path):
    """The child's working folder holds what the student's code writes; a relaunched child
    (after a crash) must not import a planted ``torch.py`` from there (sandbox off: the same
    folder across launches)."""
    from coursekit.isolation.sandbox import child_command

    command, start = child_command(tmp_path, "a1", "s1", SandboxLimits(), False)
    made = Child(command, START, SETUP, [("answer cell 1",
                 "import os\ndef plant():\n    open('torch.py', 'w').write('raise SystemExit(9)')\n"
                 "    os._exit(1)\ndef one():\n    return 1\n")], "cpu")
    try:
        with pytest.raises(Exception):
            fn(made, "plant")()
        assert fn(made, "one")() == 1  # relaunched: setup imported the real torch
    finally:
        made.close()
