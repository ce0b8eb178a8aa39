"""coursekit.isolation.forkserver: what a server imports once so that its forks do not."""
import json
import subprocess
import sys

from coursekit.isolation import forkserver

# What a notebook does with usefuns that could import something lazily: the digits, a numeric
# gradient (torch.broadcast_shapes would import sympy), every figure.
NOTEBOOK_USE = """
import importlib, json, sys, torch
for name in MODULES:
    importlib.import_module(name)
before = set(sys.modules)
from usefuns import data, grad, vis
digits = data.load_dataset("digits")
x = torch.randn(3, 2, dtype=torch.float64)
grad.compute_numeric_gradient(lambda t: (t ** 2).sum(), x)
stats = {"loss_history": [1.0, 0.5], "train_acc_history": [0.1, 0.2],
         "val_acc_history": [0.1, 0.3]}
figures = [vis.plot_stats(stats), vis.plot_acc_curves({"lr 1": stats}),
           vis.show_net_weights(torch.randn(64, 8), (8, 8)),
           vis.plot_search_heatmap({(1e-3, 8, 1e-2, 0.95): 0.5, (1e-2, 8, 1e-2, 0.95): 0.7})]
pngs = [len(f._repr_png_()) for f in figures]
print(json.dumps({"new": sorted(set(sys.modules) - before), "pngs": pngs}))
"""


def test_does_a_warm_kernel_find_usefuns_lazy_imports_already_made():
    """The kernel server imports what usefuns imports lazily (scikit-learn, Matplotlib's
    Figure): a fork that loads the digits and draws every figure imports none of their
    modules again (only data folders and image-format plugins)."""
    modules, _ = forkserver.PROFILES["kernel"]
    code = f"MODULES = {list(modules)!r}\n{NOTEBOOK_USE}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert all(size > 1000 for size in found["pngs"])  # the figures were really drawn
    heavy = [m for m in found["new"] if m.split(".")[0] in
             {"sklearn", "scipy", "matplotlib", "numpy", "torch", "usefuns", "sympy"}
             and not m.endswith((".data", ".descr"))]
    assert heavy == []


def test_does_the_server_report_a_jobs_end_at_once_not_at_its_next_poll(tmp_path):
    """A job's end wakes the server (SIGCHLD): its client hears of it in a moment, where the
    server's own poll comes every 30 s. A job refused for a malformed request ends at once."""
    import time

    from coursekit.isolation.forkserver import start, stop, submit, wait

    path = start("nbgrader")
    try:
        ends = []
        for _ in range(3):  # the first waits for the server's imports
            begin = time.monotonic()
            conn, _pid = submit(path, {"kind": "grade"})  # no course: the job fails at once
            assert wait(conn, timeout=60) not in (None, 0)
            ends.append(time.monotonic() - begin)
    finally:
        stop("nbgrader")
    assert max(ends[1:]) < 10, ends
