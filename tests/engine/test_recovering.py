"""coursekit.engine.recovering.RecoveringExecute on small notebooks, with real kernels (no mocks).

A kernel that dies, hangs or poisons its CUDA context must cost only the cell it was running:
that cell gets an error output, the cells after it run in a fresh kernel with the state of the
cells above, and the incident is recorded in the notebook's metadata.

    .venv/bin/python -m pytest tests/engine/test_recovering.py -q
"""
import json

import nbformat
from nbclient import NotebookClient
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.preprocessors import Execute, IgnorePattern

from coursekit.engine.outside import HiddenTestsOutside

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit.course import commands
from coursekit import course
from coursekit.engine import recovering as execute
from coursekit.results import grades as grading
from coursekit.term import samples

EXIT = "import os\nos._exit(3)"
SEGFAULT = "import ctypes\nctypes.string_at(0)"


def _notebook(*sources):
    """A notebook of code cells (a markdown cell first, so cell indices start at 1)."""
    return new_notebook(cells=[new_markdown_cell("# test")] + [new_code_cell(s) for s in sources],
                        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                 "language": "python"}})


def _run(nb, tmp_path, executor=execute.RecoveringExecute, **options):
    executor(**options).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    return nb


def _stdout(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _errors(cell):
    return [o for o in cell.outputs if o.output_type == "error"]


def _incidents(nb):
    return nb.metadata["coursekit"]["incidents"]


@pytest.mark.parametrize("source, how", [(EXIT, "exit code 3"),
                                         (SEGFAULT, "killed by signal 11, SIGSEGV")])
def test_does_a_dead_kernel_cost_only_the_cell_that_killed_it(tmp_path, source, how):
    nb = _run(_notebook("x = 1\nprint('one')", source, "print(x + 1)", "print('four')"),
              tmp_path)
    one, killer, three, four = nb.cells[1:]
    assert _stdout(one) == "one\n" and not _errors(one)
    assert _stdout(three) == "2\n" and not _errors(three)  # x came back: the cells above re-ran
    assert _stdout(four) == "four\n"
    [error] = _errors(killer)
    assert error.ename == "DeadKernelError"
    assert f"the kernel died while running this cell ({how})" in error.evalue
    assert "fresh kernel" in error.evalue
    assert _incidents(nb) == [{"cell": 2, "grade_id": None, "kind": "died", "replay": False,
                               "message": f"the kernel died while running this cell ({how})"}]
    assert nb.metadata["coursekit"]["restarts"] == 1


@pytest.mark.parametrize("source", [
    "while True:\n    pass",
    # a loop that ignores the interrupt nbclient sends at the timeout
    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"])
def test_does_a_cell_that_times_out_cost_only_itself(tmp_path, source):
    nb = _run(_notebook("x = 1", source, "print(x + 1)"), tmp_path, timeout=2)
    [error] = _errors(nb.cells[2])
    assert error.ename == "CellTimeoutError"
    assert "ran longer than the limit of 2 s per cell" in error.evalue
    assert _stdout(nb.cells[3]) == "2\n" and not _errors(nb.cells[3])
    assert [(i["cell"], i["kind"]) for i in _incidents(nb)] == [(2, "timeout")]


def test_does_a_poisoned_cuda_context_cost_only_its_cell(tmp_path):
    # the error PyTorch raises after a device-side assert (a GPU is not needed to raise it)
    poison = ("y = 2\nraise RuntimeError('CUDA error: device-side assert triggered\\n"
              "Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.')")
    nb = _run(_notebook("x = 1", poison, "print(x, 'y' in dir())"), tmp_path)
    first, note = _errors(nb.cells[2])
    assert (first.ename, note.ename) == ("RuntimeError", "CUDAContextError")
    assert "device-side assert triggered" in note.evalue
    # a fresh kernel: x came back from the cell above, y (set by the poisoning cell) did not
    assert _stdout(nb.cells[3]) == "1 False\n"
    assert [(i["cell"], i["kind"]) for i in _incidents(nb)] == [(2, "cuda")]


def test_is_an_ordinary_error_left_to_the_kernel(tmp_path):
    nb = _run(_notebook("x = 1", "raise ValueError('wrong')", "print(x)"), tmp_path)
    assert [e.ename for e in _errors(nb.cells[2])] == ["ValueError"]
    assert _stdout(nb.cells[3]) == "1\n"
    assert "coursekit" not in nb.metadata


def test_does_the_deadline_stop_the_running_cell_and_keep_what_ran_before(tmp_path):
    import time

    start = time.time()  # a cell limit of 60 s, a deadline 4 s away: the deadline wins
    nb = _run(_notebook("x = 1\nprint('one')", "import time\ntime.sleep(30)", "print(x + 1)",
                        "print('four')"), tmp_path, timeout=60, deadline=time.time() + 4)
    assert time.time() - start < 20
    assert _stdout(nb.cells[1]) == "one\n" and not _errors(nb.cells[1])
    [stopped] = _errors(nb.cells[2])
    assert stopped.ename == "DeadlineError" and "time limit ran out while this cell ran" in \
        stopped.evalue
    for cell in nb.cells[3:]:  # not run, no fresh kernel
        [error] = _errors(cell)
        assert error.ename == "CellNotRunError" and "time limit ran out" in error.evalue
    assert [(i["cell"], i["kind"]) for i in _incidents(nb)] == [(2, "deadline")]
    assert nb.metadata["coursekit"]["restarts"] == 0
    assert nb.metadata["coursekit"]["not_run"] == [3, 4]


def test_does_a_cell_after_the_deadline_not_start(tmp_path):
    import time

    nb = _run(_notebook("print('one')", "print('two')"), tmp_path, deadline=time.time() - 1)
    assert [e.ename for c in nb.cells[1:] for e in _errors(c)] == ["CellNotRunError"] * 2
    assert not _stdout(nb.cells[1])
    assert [(i["cell"], i["kind"]) for i in _incidents(nb)] == [(1, "deadline")]


def test_does_no_deadline_change_nothing(tmp_path):
    nb = _run(_notebook("import time\ntime.sleep(3)\nprint('slept')"), tmp_path, deadline=0,
              timeout=10)
    assert _stdout(nb.cells[1]) == "slept\n" and "coursekit" not in nb.metadata


def test_does_the_restart_cap_leave_the_rest_not_run(tmp_path):
    nb = _run(_notebook("x = 1", EXIT, "print(x)", EXIT, "print('never')", "print('nor')"),
              tmp_path, max_restarts=1)
    assert _stdout(nb.cells[3]) == "1\n"
    [error] = _errors(nb.cells[4])
    assert "the rest of the notebook was not run" in error.evalue
    for cell in nb.cells[5:]:
        assert [e.ename for e in _errors(cell)] == ["CellNotRunError"] and not _stdout(cell)
    meta = nb.metadata["coursekit"]
    assert [i["cell"] for i in meta["incidents"]] == [2, 4]
    assert meta["restarts"] == 1 and meta["not_run"] == [5, 6]


def test_does_a_cell_that_kills_the_kernel_again_on_replay_get_skipped(tmp_path):
    # cell 2 is harmless the first time and kills the kernel when run again to rebuild state
    second_time_kills = ("import os, pathlib\nruns = pathlib.Path('runs.txt')\n"
                         "seen = runs.exists()\nruns.write_text('x')\nif seen:\n    os._exit(5)")
    nb = _run(_notebook("x = 1", second_time_kills, EXIT, "print(x)"), tmp_path)
    assert not _errors(nb.cells[2])  # graded on its first run
    assert _errors(nb.cells[3])[0].ename == "DeadKernelError"
    assert _stdout(nb.cells[4]) == "1\n"
    meta = nb.metadata["coursekit"]
    assert [(i["cell"], i["replay"]) for i in meta["incidents"]] == [(3, False), (2, True)]
    assert meta["restarts"] == 2


def test_is_a_notebook_without_incidents_run_exactly_as_by_nbgrader(tmp_path):
    sources = ("import sys\nx = 6 * 7\nx", "print(x)\nprint('warn', file=sys.stderr)",
               "raise KeyError('k')", "from IPython.display import display, HTML\n"
               "display(HTML('<b>x</b>'), display_id='d')")
    ours = _run(_notebook(*sources), tmp_path)
    theirs = _run(_notebook(*sources), tmp_path, executor=Execute)
    strip = lambda nb: [(c.get("outputs"), c.get("execution_count")) for c in nb.cells]
    assert json.dumps(strip(ours)) == json.dumps(strip(theirs))
    assert ours.metadata == theirs.metadata and "coursekit" not in ours.metadata


def _course_config():
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()


def test_does_nbgrader_config_put_it_in_place_of_execute():
    config = _course_config()
    preprocessors = config.Autograde.autograde_preprocessors
    assert execute.RecoveringExecute in preprocessors and Execute not in preprocessors
    # the hidden regions become comments before anything runs (off unless coursekit asks)
    assert preprocessors.index(HiddenTestsOutside) == 0
    assert preprocessors.index(execute.RecoveringExecute) == 1
    assert preprocessors.index(IgnorePattern) == 2  # nbgrader's order otherwise
    assert config.RecoveringExecute.max_restarts == 3


def test_does_coursekit_cell_timeout_shorten_the_limit_per_cell(monkeypatch):
    monkeypatch.delenv("COURSEKIT_CELL_TIMEOUT", raising=False)
    assert _course_config().Execute.timeout == 180
    monkeypatch.setenv("COURSEKIT_CELL_TIMEOUT", "20")
    assert _course_config().Execute.timeout == 20


@pytest.mark.slow
def test_does_plain_nbgrader_autograde_grade_the_rest_of_a_crashing_submission(tmp_path):
    """Serial ``nbgrader autograde`` (no coursekit) of crash_segfault: only its cell loses."""
    scratch = course.copy_course(ROOT, tmp_path / "course")
    commands.run_nbgrader(scratch, "generate_assignment", ASSIGNMENT, "--force")
    samples.write_submission(scratch, ASSIGNMENT, scratch / "assignments" / ASSIGNMENT
                             / "samples", "crash_segfault")
    commands.run_nbgrader(scratch, "autograde", ASSIGNMENT)
    got = grading.read_grades(scratch, ASSIGNMENT)["crash_segfault"]["groups"]
    assert got == samples.load_expected(SAMPLES, "crash_segfault")["scores"]
    graded = nbformat.read(scratch / "autograded" / "crash_segfault" / ASSIGNMENT
                           / f"{ASSIGNMENT}.ipynb", as_version=4)
    [incident] = graded.metadata["coursekit"]["incidents"]
    assert (incident["grade_id"], incident["kind"]) == ("search_select", "died")
    assert "SIGSEGV" in incident["message"]


def test_is_a_flood_of_output_cut_while_the_cell_runs_and_its_error_kept(tmp_path):
    flood = "for _ in range(200):\n    print('x' * 100_000)"  # 20 MB
    nb = _run(_notebook(flood, "print('after')", flood + "\nraise ValueError('still fails')",
                        flood, flood), tmp_path, cell_output_bytes=1_000_000,
              notebook_output_bytes=2_500_000)
    first, after, failing, fourth, fifth = nb.cells[1:]
    text = _stdout(first)
    assert 900_000 < len(text) < 1_100_000  # about the cap, not 20 MB
    assert text.rstrip().endswith("(c.CappedExecute.cell_output_bytes); the rest was not kept]")
    assert _stdout(after) == "after\n"
    assert [e.evalue for e in _errors(failing)] == ["still fails"]  # errors always stay
    assert "this notebook wrote more than 2500000 bytes" in _stdout(fifth)
    total = sum(len(_stdout(c)) for c in nb.cells[1:])
    assert total < 2_500_000 + 1_000  # the notebook's cap holds too
    cuts = nb.metadata["coursekit"]["output_cut"]  # for the status notes
    assert [c["cell"] for c in cuts] == [1, 3, 4, 5]
    assert cuts[0]["message"] == "output cut: the cell wrote more than 1000000 bytes"
    assert "incidents" not in nb.metadata["coursekit"]


def test_does_nbgrader_config_cap_output_per_cell_and_notebook():
    config = _course_config()
    assert config.CappedExecute.cell_output_bytes == 1_000_000
    assert config.CappedExecute.notebook_output_bytes == 20_000_000
    assert issubclass(execute.RecoveringExecute, __import__(
        "coursekit.engine.outputcap", fromlist=["CappedExecute"]).CappedExecute)


WIDGET_FLOOD = """from comm import create_comm
c = create_comm(target_name='jupyter.widget', data={'state': {'_model_name': 'x',
                                                               '_model_module': 'y'},
                                                     'buffer_paths': []})
blob = 'A' * {size}
for i in range({count}):
    c.send(data={{'state': {{f'k{{i}}': blob}}, 'buffer_paths': []}})
print('sent')"""


def test_does_widget_state_count_against_the_output_caps(tmp_path):
    flood = WIDGET_FLOOD.replace("{size}", "100_000").replace("{count}", "200")  # 20 MB
    flood = flood.replace("{{", "{").replace("}}", "}")
    executor = execute.RecoveringExecute(cell_output_bytes=1_000_000,
                                         notebook_output_bytes=2_500_000)
    nb = _notebook(flood, "print('after')")
    executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    kept = sum(len(json.dumps(state)) for state in executor.widget_state.values())
    assert kept < 1_100_000  # about the cell's cap, not 20 MB
    assert "(c.CappedExecute.cell_output_bytes); the rest was not kept]" in _stdout(nb.cells[1])
    assert _stdout(nb.cells[2]) == "after\n"
    assert len(json.dumps(nb.metadata.get("widgets", {}))) < 1_200_000


def test_does_a_malformed_widget_message_cost_nothing(tmp_path):
    bad = ("from comm import create_comm\n"
           "create_comm(target_name='jupyter.widget', data={'state': {}, 'buffer_paths': []})\n"
           "print('sent')")
    nb = _run(_notebook(bad, "print('after')"), tmp_path)
    assert _stdout(nb.cells[1]) == "sent\n" and _stdout(nb.cells[2]) == "after\n"


def test_is_a_message_over_the_size_limit_refused_unread(tmp_path):
    huge = WIDGET_FLOOD.replace("{size}", "30_000_000").replace("{count}", "1")
    huge = huge.replace("{{", "{").replace("}}", "}")
    executor = execute.RecoveringExecute(max_message_bytes=10_000_000, timeout=60,
                                         cell_output_bytes=100_000_000,  # only the size limit
                                         notebook_output_bytes=200_000_000)
    nb = _notebook(huge, "print('after')")
    executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert not executor.widget_state.get(next(iter(executor.widget_state), None), {}).get("k0")
    assert _stdout(nb.cells[2]) == "after\n"


def test_are_huge_errors_kept_but_cut_short(tmp_path):
    huge = "raise ValueError('e' * 5_000_000)"  # 5 MB each, past every cap
    nb = _run(_notebook(*[huge] * 6, "print('after')"), tmp_path, cell_output_bytes=1_000_000,
              notebook_output_bytes=2_500_000)
    errors = [e for cell in nb.cells[1:7] for e in _errors(cell)]
    assert [e.ename for e in errors] == ["ValueError"] * 6  # each cell still fails
    assert all(len(e.evalue) < 10_000 and e.evalue.endswith("[cut]") for e in errors)
    assert len(json.dumps(nb)) < 200_000  # not 30 MB
    assert _stdout(nb.cells[7]) == "after\n"


def test_do_metadata_names_and_empty_outputs_count_against_the_caps(tmp_path):
    many = ("from IPython.display import publish_display_data\n"
            "for _ in range(50_000):\n    publish_display_data({})")
    fat = ("from IPython.display import publish_display_data\n"
           "for _ in range(5):\n"
           "    publish_display_data({'text/plain': '.'}, metadata={'x': 'm' * 3_000_000})")
    nb = _run(_notebook(many, fat, "print('after')"), tmp_path, cell_output_bytes=1_000_000,
              notebook_output_bytes=2_500_000, max_message_bytes=64_000_000)
    assert len(nb.cells[1].outputs) < 10_001  # 100 bytes each at least
    assert len(json.dumps(nb.cells[2].outputs)) < 1_100_000  # the metadata counted
    assert len(json.dumps(nb)) < 3_000_000
    assert _stdout(nb.cells[3]) == "after\n"


def test_does_a_kernel_find_no_stdin_channel_to_flood(tmp_path):
    flood = ("k = get_ipython().kernel\n"
             "ident = k._get_shell_context_var(k._shell_parent_ident)\n"
             "parent = k.get_parent('shell')\n"
             "for _ in range(20):\n"
             "    k.session.send(k.stdin_socket, 'input_request', {'prompt': 'p' * 1_000_000,\n"
             "                   'password': False}, parent=parent, ident=ident)\n"
             "print('sent')")
    executor = execute.RecoveringExecute()
    nb = _notebook(flood, "print('after')")
    executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert _stdout(nb.cells[1]) == "sent\n" and _stdout(nb.cells[2]) == "after\n"
    probe = execute.RecoveringExecute()  # the client as the run starts it
    NotebookClient.__init__(probe, _notebook("x = 1"), None)
    with probe.setup_kernel():
        assert probe.kc.iopub_channel.is_alive() and probe.kc.shell_channel.is_alive()
        # never made (reading the public property would make and connect them)
        assert probe.kc._stdin_channel is None and probe.kc._control_channel is None
