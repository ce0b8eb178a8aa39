"""nbgrader configuration of the course; the repository root is the course folder.

Run nbgrader from this folder (``coursekit`` does). Every option set here is one that plain
nbgrader gets wrong for a PyTorch assignment; the README explains each.
"""
c = get_config()  # noqa: F821 - injected by nbgrader/traitlets

c.CourseDirectory.course_id = "nn-course"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# Student stubs: the function's signature and docstring stay, the body becomes this.
c.ClearSolutions.code_stub = {
    "python": "# YOUR_TURN: write your code here, then delete the line below\n"
              "raise NotImplementedError()",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Seconds per cell at autograde (nbgrader's default, 30 s, is too short for a training cell on
# a loaded 2-core grader); a cell that runs longer fails and the rest of the notebook still runs.
c.Execute.timeout = 180
c.Execute.interrupt_on_timeout = True

# A test cell fails on its own errors only. nbgrader zeroes a cell with any output on stderr,
# so a correct answer with a progress bar (tqdm), a warning, logging or print(file=sys.stderr)
# would lose every test that calls it. With False, stderr is output like any other (kept in the
# graded notebook and the feedback) for nbgrader autograde and validate alike; True restores
# nbgrader's rule (usefuns/stderr.py).
from usefuns.stderr import stderr_fails_cells  # noqa: E402

stderr_fails_cells(False)

# A student who deletes a test cell does not escape it: the cell comes back from the gradebook.
c.OverwriteCells.add_missing_cells = True

# The files students submit beside the notebook (``student_files`` of each assignment's
# manifest, assignments/<a>/manifest.toml) are their own: autograde must never replace them with
# a file of the same name from source/ (``coursekit release`` also refuses to release one).
import os  # noqa: E402
from pathlib import Path  # noqa: E402

from coursekit.course.manifest import exclude_overwriting  # noqa: E402

c.Autograde.exclude_overwriting = exclude_overwriting(Path(__file__).resolve().parent)

# The self-check (`nbgrader validate`, the Validate button) names every cell that passed, failed
# or was stopped by the time limit, ungraded cells included, not only the failed test cells:
# nbgrader has no setting for that, so usefuns.selfcheck puts its own Validator in place
# (students' bundles ship the same lines; README, "The self-check").
c.Validator.validate_all = True
from usefuns.selfcheck import use_in_nbgrader  # noqa: E402

use_in_nbgrader()

# A runaway print loop or traceback is cut short in the graded notebook: bytes while each cell
# runs (coursekit.engine.outputcap; a line in the cell says where it was cut), then lines.
c.CappedExecute.cell_output_bytes = 1_000_000       # per cell run
c.CappedExecute.notebook_output_bytes = 20_000_000  # per notebook
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# A kernel that dies (os._exit, a segfault, out of memory), hangs past Execute.timeout or
# poisons its CUDA context costs only the cell it was running: RecoveringExecute (nbgrader's
# Execute plus restarts) gives that cell an error, starts a fresh kernel, runs the cells above
# again and goes on; every incident is kept in the notebook's metadata. It replaces Execute for
# every ``nbgrader autograde``, plain or through ``coursekit autograde``.
from coursekit.engine.recovering import autograde_preprocessors  # noqa: E402

c.Autograde.autograde_preprocessors = autograde_preprocessors()
c.RecoveringExecute.max_restarts = 3  # fresh kernels a notebook may get; then the rest is not run
# Tests may shorten the per-cell limit (a hanging sample then costs seconds, not 3 minutes).
if os.environ.get("COURSEKIT_CELL_TIMEOUT"):
    c.Execute.timeout = int(os.environ["COURSEKIT_CELL_TIMEOUT"])

# ``coursekit autograde``: each kernel and the verification child run in a bubblewrap sandbox
# with these limits (coursekit.isolation.settings.Sandbox: their help, docs/settings.md); the
# command line (--memory 2G ...) overrides them. Plain nbgrader ignores this section.
c.Sandbox.enabled = "auto"      # True: refuse to grade without bwrap; False: no sandbox
c.Sandbox.memory = "4G"         # data memory: a bigger allocation fails in its cell only
c.Sandbox.cpu_seconds = 1800    # CPU time of the kernel process
c.Sandbox.file_size = "256M"    # the largest file the kernel may write
c.Sandbox.scratch_size = "512M"  # the private working folder (a copy of the submission)
c.Sandbox.processes = 256       # processes and threads of one kernel
c.Sandbox.open_files = 1024
