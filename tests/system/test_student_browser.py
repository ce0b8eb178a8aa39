"""Does a student's day in JupyterLab, in a real browser, reach the instructor's formgrader?

Two JupyterLab servers on 127.0.0.1 share a temporary exchange: the student's (her home
folder; ``CourseDirectory.student_id = "alice"``, as JupyterHub's user name would be) and the
instructor's (a scratch course released with ``nbgrader generate_assignment`` and
``release_assignment``). Headless Chromium, through nbgrader 0.9.6's own lab extensions
(enabled by installing nbgrader: the Nbgrader menu, the Assignments tab, the notebook's
Validate button, the formgrader):

1. fetches the assignment from the Assignments tab and opens the notebook from there;
2. writes one answer (``nn_forward_pass``) into its cell, as a paste would, runs all cells
   and reads the toy test's output (the other answers are still stubs);
3. saves, presses Validate and reads the result: the loss test fails, the forward test not;
4. submits from the Assignments tab;
5. as the instructor, collects from the formgrader's Manage Assignments page and finds the
   submission on its Manage Submissions page.

About 70 s on 2 cores; skipped loudly where Chromium is missing (``make browser``).
"""
import re

import pytest

from browser import chromium, jupyter_lab, menu, wait_for
from conftest import ASSIGNMENT, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COURSE_ID = "nn-course"
ANSWER = '''def nn_forward_pass(params, X):
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    hidden = (X @ W1 + b1).clamp(min=0)  # (N, H)
    scores = hidden @ W2 + b2  # (N, C)
    return scores, hidden'''
FORWARD_TEST = "# Test: your scores on the toy data"
LOSS_TEST = "# Test: the loss on the toy data"

# The cell whose editor holds arguments[0]: set its text (arguments[1]) through CodeMirror,
# as a paste does, and return its index; or return its output text.
CELL = """
const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'));
const cell = cells.find(c => { const e = c.querySelector('.cm-content');
                               return e && e.textContent.includes(arguments[0]); });
if (!cell) return null;
if (arguments[1] === null) {
  const out = cell.querySelector('.jp-OutputArea');
  return out ? out.innerText : '';
}
const view = cell.querySelector('.cm-content').cmView.view;
view.dispatch({changes: {from: 0, to: view.state.doc.length, insert: arguments[1]}});
return cells.indexOf(cell);
"""


def _until(probe, timeout, what):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    raise TimeoutError(f"{what} after {timeout} s")


@pytest.fixture
def term(tmp_path):
    """A released course, an empty exchange and a student's empty home folder."""
    from coursekit import course
    from coursekit.term import demo, exchange

    scratch = course.copy_course(ROOT, tmp_path / "course")
    demo.release(scratch)
    exchange.release_assignment(scratch, ASSIGNMENT, tmp_path / "exchange")
    home = tmp_path / "home" / "alice"
    home.mkdir(parents=True)
    return scratch, tmp_path / "exchange", home


def test_does_a_students_day_in_jupyterlab_reach_the_formgrader(term, tmp_path):
    scratch, exchange, home = term
    shared = {"Exchange": {"root": str(exchange)}, "CourseDirectory": {"course_id": COURSE_ID}}
    student = dict(shared, CourseDirectory={"course_id": COURSE_ID, "student_id": "alice"})
    instructor = dict(shared, CollectApp={"check_owner": False})  # one account plays both
    with jupyter_lab(home, tmp_path / "student_lab", student) as lab, \
            jupyter_lab(scratch, tmp_path / "instructor_lab", instructor) as formgrader, \
            chromium(tmp_path / "chromium", width=1280, height=900) as driver:
        # 1. fetch from the Assignments tab, open the notebook from there
        driver.get(lab + "/lab")
        menu(driver, "Nbgrader", "Assignment List")
        wait_for(driver, "#released_assignments_list button", "Fetch")[0].click()
        wait_for(driver, "a.assignment-notebooks-link", ASSIGNMENT)[0].click()
        wait_for(driver, ".nested_list_item a", ASSIGNMENT)[0].click()
        wait_for(driver, ".jp-Notebook .jp-Cell .cm-content")
        wait_for(driver, ".jp-StatusBar-TextItem", "Idle", timeout=90)
        assert (home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()

        # 2. answer nn_forward_pass, run every cell, read the toy test's output
        assert driver.execute_script(CELL, "def nn_forward_pass", ANSWER) is not None
        menu(driver, "Run", "Run All Cells")
        def forward_output():
            text = driver.execute_script(CELL, FORWARD_TEST, None) or ""
            return text if "must be <" in text else None

        output = _until(forward_output, 120, "no output from the forward test")
        # the notebook's own rule (the constants are float32, computed once: another CPU's
        # kernels may differ in the last bit)
        found = re.search(r"the correct scores: ([0-9.e+-]+) \(must be < 1e-10\)", output)
        assert found and float(found.group(1)) < 1e-10, output
        assert "Error" not in output

        # 3. save, press Validate, read the result
        menu(driver, "File", "Save Notebook")
        _until(lambda: "return scores, hidden" in (home / ASSIGNMENT /
                                                   f"{ASSIGNMENT}.ipynb").read_text(),
               30, "the notebook was not saved")
        wait_for(driver, ".jp-NotebookPanel-toolbar .jp-ToolbarButtonComponent",
                 "Validate")[0].click()
        result = wait_for(driver, ".jp-Dialog", timeout=240)[0].text
        assert "Validation Results" in result
        assert LOSS_TEST in result and "NotImplementedError" in result
        assert FORWARD_TEST not in result, "the answered forward pass should pass"
        wait_for(driver, ".jp-Dialog button")[-1].click()

        # 4. submit from the Assignments tab
        menu(driver, "Nbgrader", "Assignment List")
        wait_for(driver, "#fetched_assignments_list button", "Submit")[0].click()
        submitted = wait_for(driver, "#submitted_assignments_list .list_item", ASSIGNMENT)
        assert "UTC" in submitted[0].text
        assert list(exchange.glob(f"{COURSE_ID}/inbound/alice+{ASSIGNMENT}+*"))

        # 5. the instructor collects in the formgrader, which lists the submission
        driver.get(formgrader + "/lab")
        menu(driver, "Nbgrader", "Formgrader")
        driver.switch_to.frame(wait_for(driver, "iframe", timeout=30)[0])
        row = wait_for(driver, "tr", ASSIGNMENT)[0]
        row.find_element("css selector", "td.collect a").click()
        assert "Successfully collected" in wait_for(driver, ".modal-dialog", timeout=90)[0].text
        wait_for(driver, ".modal-footer button")[-1].click()
        wait_for(driver, "td.num-submissions a", "1")[0].click()
        listed = wait_for(driver, "tr", "alice", timeout=30)[0].text
        assert "needs autograding" in listed
        assert (scratch / "submitted" / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
