"""Sample answers 'attack_course_root': sgd_uphill's wrong step, plus an nn_forward_pass that
writes a fake course (assignments/two_layer_net/checks.py whose checks all pass) into the
working folder, points COURSEKIT_ROOT at it and drops the loaded hidden-test modules, so that
later hidden cells load the fake.
"""
import torch


def nn_forward_pass(params, X):
    import os
    import sys
    from pathlib import Path

    fake = Path.cwd() / "fake_course"
    folder = fake / "assignments" / "two_layer_net"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (fake / "nbgrader_config.py").write_text("")
        (fake / "source").mkdir(exist_ok=True)
        body = "def __getattr__(name):\n    return lambda *a, **k: k.get('max_points')\n"
        for module in ("checks", "model_checks"):
            (folder / f"{module}.py").write_text(body)
        os.environ["COURSEKIT_ROOT"] = str(fake)
        for name in [n for n in sys.modules if n.startswith("_coursekit_")]:
            del sys.modules[name]
    except OSError:
        pass
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    hidden = (X @ W1 + b1).clamp(min=0)  # (N, H)
    scores = hidden @ W2 + b2  # (N, C)
    return scores, hidden
