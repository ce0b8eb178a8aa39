"""Parallel autograding on Dask (``coursekit.parallel``) against plain serial nbgrader.

The slow tests grade four samples with real nbgrader: serially once (``serial_course``), in
parallel on an embedded LocalCluster (``parallel_course``), and on a real ``dask scheduler`` with
``dask worker`` processes on 127.0.0.1, one of which is SIGKILLed mid-batch.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from conftest import ASSIGNMENT, ROOT, nested_folders, remove_nested_folders
from dask_cluster import dask_cluster
from coursekit.course import commands
from coursekit import cli, course
from coursekit.isolation import confine, forkserver
from coursekit.results import grades as grading
from coursekit.term import samples
from coursekit.course.course import Course
from coursekit.engine import workspace
from coursekit.engine.execute import task_env
from coursekit.engine.job import GradingSettings, Job, Placement
from coursekit.engine.pipeline import grade
from coursekit.isolation.settings import SandboxLimits
from coursekit.parallel import BatchOptions, autograde_batch, gpu_env


def status_path(course_root, assignment_id):
    return Course(course_root).status(assignment_id).path


def batch(course_root, workers=None, **options):
    return autograde_batch(course_root, ASSIGNMENT, BatchOptions(workers=workers,
                                                                 progress=False, **options))

SUBSET = ["correct_compact", "blank", "reg_factor_one", "sgd_rebinds"]


# ---------------------------------------------------------------- helpers

def gradebook_dump(course_root):
    """Everything autograde writes: {student: {notebook: grades, comments, penalty}, timestamp}."""
    from nbgrader.api import Gradebook

    dump = {}
    with Gradebook(f"sqlite:///{Path(course_root) / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions(ASSIGNMENT):
            dump[sub.student.id] = {"timestamp": sub.timestamp, "notebooks": {nb.name: {
                "penalty": nb.late_submission_penalty,
                "grades": {g.name: (g.auto_score, g.max_score, g.needs_manual_grade)
                           for g in nb.grades},
                "comments": {c.name: c.auto_comment for c in nb.comments},
            } for nb in sub.notebooks}}
    return dump


def normalised(path, course_root):
    """A graded notebook without run times, with each cell's stream outputs joined (their
    chunking depends on timing), with the course folder (in tracebacks) named COURSE, and
    errors cut to their name and message. A hidden test cell is compared by what it says:
    serial nbgrader runs the check in the kernel, coursekit in the grader, which writes the
    same message (and what the check printed) into the cell whose hidden region the kernel
    ran as a placeholder; the kernel's partial-credit value and the grader's decision
    metadata are bookkeeping of each."""
    from coursekit.engine.outside import BEGIN, HiddenTestsOutside, placeholder_regions

    text = Path(path).read_text().replace(json.dumps(str(Path(course_root).resolve()))[1:-1],
                                          "COURSE")
    nb = json.loads(text)
    nb["metadata"].get("coursekit", {}).pop("decision", None)
    if not nb["metadata"].get("coursekit", True):
        nb["metadata"].pop("coursekit")
    placeholder = HiddenTestsOutside.class_traits()["placeholder"].default_value
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
        source = "".join(cell.get("source", ""))
        hidden = BEGIN in source
        if hidden:
            cell["source"] = placeholder_regions(source, placeholder)
        outputs = []
        for out in cell.get("outputs", []):
            out = dict(out)
            if out["output_type"] == "error":
                out = {"output_type": "error", "ename": out["ename"], "evalue": out["evalue"]}
            if hidden and out["output_type"] == "execute_result":
                continue
            if out["output_type"] == "stream":
                out["text"] = "".join(out["text"]) if isinstance(out["text"], list) else out["text"]
                if outputs and outputs[-1].get("name") == out["name"]:
                    outputs[-1]["text"] += out["text"]
                    continue
            outputs.append(out)
        if "outputs" in cell:
            cell["outputs"] = outputs
    return nb


def assert_same_grading(serial, parallel, students):
    """Same gradebook entries cell by cell and the same autograded files (notebooks normalised)."""
    want, got = gradebook_dump(serial), gradebook_dump(parallel)
    for student in students:
        assert got[student] == want[student], student
        folder_s = serial / "autograded" / student / ASSIGNMENT
        folder_p = parallel / "autograded" / student / ASSIGNMENT
        names = sorted(p.name for p in folder_s.iterdir())
        assert sorted(p.name for p in folder_p.iterdir()) == names, student
        for name in names:
            if name.endswith(".ipynb"):
                assert (normalised(folder_p / name, parallel)
                        == normalised(folder_s / name, serial)), (student, name)
            else:
                assert (folder_p / name).read_bytes() == (folder_s / name).read_bytes(), name


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def base_course(tmp_path_factory):
    """A released scratch course with the SUBSET samples submitted, nothing graded."""
    base = course.copy_course(ROOT, tmp_path_factory.mktemp("parallel") / "base")
    cli.release(base, ASSIGNMENT)
    samples_dir = base / "assignments" / ASSIGNMENT / "samples"
    for name in SUBSET:
        samples.write_submission(base, ASSIGNMENT, samples_dir, name)
    return base


@pytest.fixture(scope="module")
def serial_course(base_course):
    """The base course graded by one plain ``nbgrader autograde --force``."""
    serial = base_course.parent / "serial"
    shutil.copytree(base_course, serial)
    commands.run_nbgrader(serial, "autograde", ASSIGNMENT, "--force")
    return serial


@pytest.fixture(scope="module")
def parallel_course(base_course):
    """The base course graded by ``autograde_batch`` on an embedded 2-worker LocalCluster."""
    parallel = base_course.parent / "parallel"
    shutil.copytree(base_course, parallel)
    return parallel, batch(parallel, workers=2)


def copy_of(course_root, dest):
    shutil.copytree(course_root, dest)
    return dest


# ---------------------------------------------------------------- fast tests

def test_does_each_local_worker_get_its_own_gpu_or_a_share_of_one():
    env = gpu_env(["0", "1", "2"], 2)
    assert env["0"] == {"USEFUNS_DEVICE": "cuda:0", "USEFUNS_CUDA_MEMORY_FRACTION": "0.450"}
    assert env["1"] == {"USEFUNS_DEVICE": "cuda:1"}
    assert env["2"]["USEFUNS_DEVICE"] == "cuda:0"
    assert gpu_env(["0", "1"], 0) == {}
    assert gpu_env(["tcp://10.0.0.1:4000"], 2) == {}  # unnamed workers keep their own env


def test_do_tasks_split_the_cores_between_the_workers_of_a_host():
    cores = len(os.sched_getaffinity(0))
    env = task_env(Placement(slots={"tcp://127.0.0.1": 2}), "0", "tcp://127.0.0.1")
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == str(max(1, cores // 2))
    crowded = task_env(Placement(slots={"h": 10 * cores}), "0", "h")
    assert crowded["OMP_NUM_THREADS"] == "1"


def test_does_a_task_report_garbage_input_instead_of_raising():
    result = grade(Job(ASSIGNMENT, "nobody", b"not a tar", b"", b"", GradingSettings()))
    assert result.status == "failed" and result.reason.startswith("prepare: ReadError")
    assert result.seconds >= 0 and result.files == {}


def test_does_an_unreleased_course_raise_and_say_how_to_fix_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="coursekit release"):
        autograde_batch(course.copy_course(ROOT, tmp_path / "bare"), ASSIGNMENT)


# ---------------------------------------------------------------- slow: real nbgrader

@pytest.mark.slow
def test_does_a_failure_in_any_stage_fail_only_its_submission(base_course, tmp_path):
    """Fault injection: one submission per stage fails there; the others are graded, and
    every submission has its status and is in the report."""
    from coursekit.engine.job import STAGES
    from coursekit.results.report import build_report

    faulty = copy_of(base_course, tmp_path / "faulty")
    stages = [*STAGES, "record"]
    for stage in stages:
        shutil.copytree(faulty / "submitted" / "blank", faulty / "submitted" / f"fault_{stage}")
    shutil.copytree(faulty / "submitted" / "correct_compact", faulty / "submitted" / "no_child")
    settings = GradingSettings(sandbox=Course(faulty).sandbox_limits(),
                               faults={"no_child": "child",
                                       **{f"fault_{stage}": stage for stage in stages}})
    run = autograde_batch(faulty, ASSIGNMENT, BatchOptions(workers=2, progress=False), settings)
    for stage in stages:
        entry = run[f"fault_{stage}"]
        assert entry["status"] == "failed", (stage, entry)
        assert entry["reason"].startswith(f"{stage}: FaultInjected"), entry["reason"]
    assert {run[s]["status"] for s in SUBSET} == {"graded"}
    rows = {row["student"]: row["status"] for row in build_report(faulty, ASSIGNMENT)[
        "submissions"]}
    assert {s: rows[s] for s in run} == {s: e["status"] for s, e in run.items()}
    _review_a_grader_fault(faulty, run["no_child"])


def _review_a_grader_fault(faulty, entry):
    """A correct submission whose verification child did not start: every cell that needs
    its code waits for review at 0; an instructor accepts a visible cell (the kernel ran its
    test) but cannot accept a hidden one (its test never ran in the kernel)."""
    from nbgrader.api import Gradebook

    from coursekit.results import review

    assert entry["status"] == "needs_review", entry
    withheld = entry["withheld"]
    assert withheld["forward_toy"]["kernel"] == 2 and withheld["forward_hidden"]["kernel"] is None
    assert "did not start" in withheld["forward_toy"]["reason"]
    course_ = Course(faulty)
    listed = "\n".join(review.review(course_, ASSIGNMENT))
    assert "no_child: " in listed and "no score to accept" in listed
    with pytest.raises(ValueError, match="forward_hidden, .* of no_child: a hidden test runs only"):
        review.review(course_, ASSIGNMENT, "no_child", "accept")
    review.review(course_, ASSIGNMENT, "no_child", "accept", ["forward_toy"])
    hidden = [g for g, e in withheld.items() if e["kernel"] is None]
    review.review(course_, ASSIGNMENT, "no_child", "reject",
                  [g for g in withheld if g != "forward_toy"])
    with Gradebook(course_.gradebook_url) as gb:
        notebook = gb.find_submission(ASSIGNMENT, "no_child").notebooks[0]
        grades = {g.name: g.score for g in notebook.grades}
    assert grades["forward_toy"] == 2 and all(grades[g] == 0 for g in hidden)
    settled = course_.status(ASSIGNMENT).read()["no_child"]
    assert settled["status"] == "graded" and not settled["withheld"]
    assert any("forward_toy accepted by the instructor (2 points)" in n
               for n in settled["notes"])


@pytest.mark.slow
def test_does_parallel_grading_equal_serial_nbgrader_cell_by_cell(serial_course,
                                                                 parallel_course):
    parallel, run = parallel_course
    assert {s: e["status"] for s, e in run.items()} == {s: "graded" for s in SUBSET}
    assert grading.read_grades(parallel, ASSIGNMENT) == grading.read_grades(serial_course,
                                                                           ASSIGNMENT)
    assert_same_grading(serial_course, parallel, SUBSET)
    saved = json.loads(status_path(parallel, ASSIGNMENT).read_text())
    assert saved == run and all(e["worker"].startswith("tcp://") for e in run.values())
    for entry in run.values():  # forked warm: outside bwrap, or confining itself (as root)
        assert entry["kernels"] == ("warm" if entry["sandbox"].startswith("off")
                                    or confine.usable()[0] else "cold")


@pytest.mark.slow
def test_do_warm_kernels_grade_exactly_as_serial_nbgrader(base_course, serial_course, tmp_path):
    warm = copy_of(base_course, tmp_path / "warm")
    run = autograde_batch(warm, ASSIGNMENT, BatchOptions(workers=2, progress=False),
                          GradingSettings(sandbox=SandboxLimits(enabled=False)))
    assert {s: (e["status"], e["kernels"]) for s, e in run.items()} == {
        s: ("graded", "warm") for s in SUBSET}
    assert_same_grading(serial_course, warm, SUBSET)


@pytest.mark.slow
def test_does_a_rerun_skip_graded_students_and_regrade_only_what_is_missing(parallel_course,
                                                                           tmp_path):
    rerun = copy_of(parallel_course[0], tmp_path / "rerun")
    with pytest.raises(ValueError, match="no submitted"):
        batch(rerun, students=("ghost",))
    before = gradebook_dump(rerun)
    run = batch(rerun, workers=1)
    assert {e["status"] for e in run.values()} == {"skipped"}
    assert gradebook_dump(rerun) == before
    assert json.loads(status_path(rerun, ASSIGNMENT).read_text()) == parallel_course[1]

    shutil.rmtree(rerun / "autograded" / "blank")  # graded before, but its notebook is gone
    run = batch(rerun, workers=1)
    assert run["blank"]["status"] == "graded"
    assert {run[s]["status"] for s in SUBSET if s != "blank"} == {"skipped"}
    assert gradebook_dump(rerun) == before
    assert (rerun / "autograded" / "blank" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()


@pytest.mark.slow
def test_is_a_broken_submission_recorded_as_failed_without_stopping_the_others(base_course,
                                                                             tmp_path):
    broken = copy_of(base_course, tmp_path / "broken")
    for student in SUBSET[2:]:
        shutil.rmtree(broken / "submitted" / student)
    bad = broken / "submitted" / "not_json" / ASSIGNMENT
    shutil.copytree(broken / "submitted" / "blank" / ASSIGNMENT, bad)
    (bad / f"{ASSIGNMENT}.ipynb").write_text("{ this is not a notebook")
    dies = broken / "submitted" / "kernel_dies" / ASSIGNMENT
    shutil.copytree(broken / "submitted" / "blank" / ASSIGNMENT, dies)
    nb = nbformat.read(dies / f"{ASSIGNMENT}.ipynb", as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
                  and c.cell_type == "code")
    answer.source = "import os\nos._exit(1)  # the kernel dies\n" + answer.source
    nbformat.write(nb, dies / f"{ASSIGNMENT}.ipynb")
    heavy = broken / "submitted" / "heavy" / ASSIGNMENT  # once: RecursionError, batch stopped
    shutil.copytree(broken / "submitted" / "blank" / ASSIGNMENT, heavy)
    nested_folders(heavy, 1000)
    with open(heavy / "huge.bin", "wb") as handle:  # 1 GiB, sparse
        handle.truncate(1024 ** 3)
    try:
        run = batch(broken, workers=2)
    finally:
        remove_nested_folders(heavy)
    assert run["heavy"]["status"] == "graded", run["heavy"]
    assert any("huge.bin (1024 MB)" in n for n in run["heavy"]["notes"]), run["heavy"]["notes"]
    assert any("nested more than" in n for n in run["heavy"]["notes"])
    assert run["not_json"]["status"] == "failed"
    assert "not valid JSON" in run["not_json"]["reason"]
    # the kernel that dies costs only its cell (coursekit.engine.recovering), and the status says so
    assert run["kernel_dies"]["status"] == "graded", run["kernel_dies"]
    assert any("kernel died" in note for note in run["kernel_dies"]["notes"]), run["kernel_dies"]
    assert run["blank"]["status"] == run["correct_compact"]["status"] == "graded"
    assert grading.read_grades(broken, ASSIGNMENT)["correct_compact"]["total"] > 0
    assert (status_path(broken, ASSIGNMENT).parent / ASSIGNMENT / "not_json.log").is_file()
    assert not (broken / "autograded" / "not_json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("lean", [True, False])
def test_is_a_submission_that_runs_too_long_stopped_and_reported(base_course, lean):
    course_tar = workspace.pack_course(Course(base_course), ASSIGNMENT)
    submission = workspace.pack([base_course / "submitted" / "blank" / ASSIGNMENT],
                                base_course / "submitted" / "blank")
    settings = GradingSettings(timeout=3, lean=lean)
    try:
        result = grade(Job(ASSIGNMENT, "blank", course_tar,
                           (base_course / "gradebook.db").read_bytes(), submission, settings))
    finally:
        forkserver.stop()  # the task started its fork servers in the pytest process
    assert result.timed_out and result.seconds < 60
    if result.status == "failed":  # nbgrader could not even start its kernel in time
        assert "timed out after 3" in result.reason
    else:  # the kernel started no cell: graded with nothing run
        assert any(note.startswith("timed out in") for note in result.notes), result.notes
        assert all(g["auto_score"] == 0 for g in result.notebooks[ASSIGNMENT]["grades"].values())


@pytest.mark.slow
def test_does_a_submission_past_its_deadline_keep_what_was_graded_before(base_course,
                                                                          tmp_path):
    # correct answers, and a cell the student added before part 2 that never ends
    folder = tmp_path / "late" / ASSIGNMENT
    shutil.copytree(base_course / "submitted" / "correct_compact" / ASSIGNMENT, folder)
    path = folder / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(path, as_version=4)
    at = next(i for i, c in enumerate(nb.cells)
              if c.metadata.get("nbgrader", {}).get("grade_id") == "part2_md")
    nb.cells.insert(at, nbformat.v4.new_code_cell("import time\nwhile True:\n    time.sleep(1)"))
    nbformat.write(nb, path)
    course_tar = workspace.pack_course(Course(base_course), ASSIGNMENT)
    settings = GradingSettings(timeout=80)  # part 1 takes ~10 s; the kernel stops at 60 s
    try:
        result = grade(Job(ASSIGNMENT, "late", course_tar,
                           (base_course / "gradebook.db").read_bytes(),
                           workspace.pack([folder], folder.parent), settings))
    finally:
        forkserver.stop()
    assert result.status == "graded" and result.timed_out, (result.status, result.reason)
    assert result.status_entry()["timed_out"] is True
    assert any(n.startswith("timed out in cell") and "time limit ran out" in n
               for n in result.notes), result.notes
    grades = result.notebooks[ASSIGNMENT]["grades"]
    for kept in ("forward_toy", "loss_toy", "grads_numeric", "predict_toy"):
        assert grades[kept]["auto_score"] == grades[kept]["max_score"] > 0, kept
    for lost in ("search_budget", "model_accuracy"):
        assert grades[lost]["auto_score"] == 0, lost
    assert result.seconds < 80 + 10


@pytest.mark.slow
@pytest.mark.parametrize("sandboxed", [True, False])
def test_does_the_submissions_cgroup_hold_its_kernel_in_or_out_of_bwrap(base_course, tmp_path,
                                                                         sandboxed):
    from coursekit.isolation import cgroup

    if not cgroup.check()[0]:
        pytest.skip(cgroup.check()[1])
    hog = copy_of(base_course, tmp_path / "hog")  # touches shared memory up to 8 GiB
    samples.write_submission(hog, ASSIGNMENT, hog / "assignments" / ASSIGNMENT / "samples",
                             "hog_shared_memory", student_id="hog")
    limits = SandboxLimits(enabled="auto" if sandboxed else False,
                           submission_memory=1536 << 20)
    try:
        result = grade(Job(ASSIGNMENT, "hog", workspace.pack_course(Course(hog), ASSIGNMENT),
                           (hog / "gradebook.db").read_bytes(),
                           workspace.pack([hog / "submitted" / "hog" / ASSIGNMENT],
                                          hog / "submitted" / "hog"),
                           GradingSettings(sandbox=limits)))
    finally:
        forkserver.stop()
    assert result.status == "graded", (result.reason, result.notes)
    assert result.kernels == ("cold" if sandboxed and not confine.usable()[0] else "warm")
    assert any("reached its limit of 1.5 GiB" in n for n in result.notes), result.notes
    assert any("kernel died" in n for n in result.notes), result.notes
    assert 1.2 * 2 ** 30 < result.memory_peak <= 1536 << 20
    assert sum(g["auto_score"] for g in result.notebooks[ASSIGNMENT]["grades"].values()) > 30


@pytest.mark.slow
def test_does_a_worker_grade_without_importing_nbgrader_or_nbformat(base_course, tmp_path):
    """nbgrader and nbformat stay in the grading job (a fork of the nbgrader server), and sympy
    (torch.broadcast_shapes) out of the checks: a worker that imported them would pay seconds
    of CPU (docs/performance.md, fifth run). A fresh interpreter grades one submission."""
    import pickle

    job = Job(ASSIGNMENT, "correct_compact", workspace.pack_course(Course(base_course),
                                                                  ASSIGNMENT),
              (base_course / "gradebook.db").read_bytes(),
              workspace.pack([base_course / "submitted" / "correct_compact" / ASSIGNMENT],
                             base_course / "submitted" / "correct_compact"), GradingSettings())
    spec = tmp_path / "job.pickle"
    spec.write_bytes(pickle.dumps(job))
    code = ("import json, pickle, sys\n"
            "from coursekit.engine.pipeline import grade\n"
            "r = grade(pickle.loads(open(sys.argv[1], 'rb').read()))\n"
            "grades = r.notebooks.get(sys.argv[2], {}).get('grades', {})\n"
            "print(json.dumps({'status': r.status, 'reason': r.reason,\n"
            "                  'score': sum(g['auto_score'] or 0 for g in grades.values()),\n"
            "                  'loaded': [m for m in ('nbgrader', 'nbformat', 'sympy')\n"
            "                             if m in sys.modules]}))\n")
    out = subprocess.run([sys.executable, "-c", code, str(spec), ASSIGNMENT],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["status"] == "graded" and found["score"] > 30, found
    assert found["loaded"] == []


@pytest.mark.slow
def test_does_the_submissions_cgroup_hold_the_grading_job_too(base_course, tmp_path):
    from coursekit.isolation import cgroup

    if not cgroup.check()[0]:
        pytest.skip(cgroup.check()[1])
    # a 21 MB notebook whose metadata is 7 million empty objects: gigabytes once parsed
    folder = tmp_path / "bomb" / ASSIGNMENT
    shutil.copytree(base_course / "submitted" / "blank" / ASSIGNMENT, folder)
    path = folder / f"{ASSIGNMENT}.ipynb"
    text = path.read_text()
    head, brace, rest = text.partition('"metadata": {')
    path.write_text(head + brace + '"x": [' + "{}," * 7_000_000 + "{}], " + rest)
    limits = SandboxLimits(submission_memory=1 << 30)
    try:
        result = grade(Job(ASSIGNMENT, "bomb", workspace.pack_course(Course(base_course),
                                                                     ASSIGNMENT),
                           (base_course / "gradebook.db").read_bytes(),
                           workspace.pack([folder], folder.parent),
                           GradingSettings(sandbox=limits)))
    finally:
        forkserver.stop()
    assert result.status == "failed" and "grading job died" in result.reason, result.reason
    assert any("reached its limit of 1 GiB" in n for n in result.notes), result.notes
    assert result.memory_peak <= 1 << 30


@pytest.mark.slow
def test_does_killing_a_worker_mid_batch_lose_nothing(base_course, serial_course, tmp_path):
    killed = copy_of(base_course, tmp_path / "killed")
    logs = tmp_path / "logs"
    logs.mkdir()
    # allowed-failures 0: the task on the killed worker is not retried but reported as
    # KilledWorker, so that the rerun below has something to grade
    env = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    with dask_cluster(2, logs, scheduler_env=env) as (address, workers, client):
        outcome = {}
        runner = threading.Thread(target=lambda: outcome.update(
            run=batch(killed, scheduler=address)))
        runner.start()
        names = {str(info["name"]): addr
                 for addr, info in client.scheduler_info()["workers"].items()}
        deadline = time.monotonic() + 300
        while not client.processing().get(names["0"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # its nbgrader and kernel are running now
        workers["0"].send_signal(signal.SIGKILL)
        runner.join(timeout=900)
        assert not runner.is_alive(), "the batch did not finish after a worker died"
        run = outcome["run"]
        assert set(run) == set(SUBSET)
        failed = {s: e for s, e in run.items() if e["status"] == "failed"}
        assert failed, "the killed worker's submission was neither retried nor reported"
        for entry in failed.values():
            assert "KilledWorker" in entry["reason"], entry
        assert all(e["status"] == "graded" for s, e in run.items() if s not in failed)

        rerun = batch(killed, scheduler=address)
    assert {s: rerun[s]["status"] for s in failed} == {s: "graded" for s in failed}
    assert {rerun[s]["status"] for s in SUBSET if s not in failed} == {"skipped"}
    saved = json.loads(status_path(killed, ASSIGNMENT).read_text())
    assert {s: e["status"] for s, e in saved.items()} == {s: "graded" for s in SUBSET}
    assert_same_grading(serial_course, killed, SUBSET)
