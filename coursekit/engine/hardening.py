"""The hardening steps of one autograde task (see docs/security.md), used by coursekit.parallel.

- ``sandbox_env``: before nbgrader runs, make the task's kernels start in the bwrap sandbox with
  the course's limits (``coursekit.isolation.sandbox``);
- ``incidents``: after it, one note per kernel death, timeout or poisoned CUDA context that
  ``coursekit.engine.recovering.RecoveringExecute`` recorded in the graded notebook;
- ``suspicious_uses``: answers that touch ``sys.modules``, ``builtins``, the kernel's error
  reporting... are listed for an instructor (``coursekit.engine.scan``);
- ``verify``: re-run the cells of ``assignments/<a>/verification.py`` out of the kernel
  (``coursekit.engine.verify``) and lower what the kernel overrated; when the kernel is refuted, the
  cells only it can check score zero too.

Each works on the task's result dict (``notes``, ``notebooks``, ``sandbox``, ``tampering``).
"""
import json

__all__ = ["sandbox_env", "incidents", "verify", "suspicious_uses"]

_CHECK = {}


def sandbox_env(course, assignment_id, student_id, plan, result):
    """Sandbox this task's kernels as ``plan["sandbox"]`` says (see coursekit.isolation.sandbox)."""
    from coursekit.isolation import sandbox

    settings = (plan or {}).get("sandbox")
    if settings is None:
        return {}
    if "usable" not in _CHECK:  # once per worker process: it runs bwrap once
        _CHECK["usable"], _CHECK["message"] = sandbox.check()
    usable = _CHECK["usable"] and settings["enabled"] is not False
    if settings["enabled"] is True and not usable:
        raise RuntimeError(f"the sandbox is required (Sandbox.enabled = True) but unusable "
                           f"on this worker: {_CHECK['message']}")
    result["sandbox"] = _CHECK["message"] if usable else "off: " + (
        "Sandbox.enabled = False" if settings["enabled"] is False else _CHECK["message"])
    return sandbox.prepare_task(course, assignment_id, student_id, settings, usable)


def incidents(graded, notebooks):
    """One note per kernel death, timeout or poisoned CUDA context (coursekit.engine.recovering)."""
    notes = []
    for nb_name in notebooks:
        try:
            meta = json.loads((graded / f"{nb_name}.ipynb").read_text())["metadata"]
        except (OSError, ValueError, KeyError):
            continue
        for incident in meta.get("coursekit", {}).get("incidents", []):
            where = incident.get("grade_id") or f"cell {incident.get('cell')}"
            notes.append(f"kernel {incident.get('kind')} in {where}: "
                         f"{' '.join(str(incident.get('message', '')).split())[:300]}")
    return notes


def verify(course, assignment_id, student_id, plan, env, result, graded):
    """Re-run the verified hidden checks out of the kernel; lower what the kernel overrated."""
    from coursekit.isolation import sandbox
    from coursekit.engine import verify as out_of_kernel

    settings = (plan or {}).get("sandbox")
    if settings is None:
        return
    if not settings.get("verify", True):
        return
    usable = _CHECK.get("usable", False) and settings["enabled"] is not False
    command = sandbox.verify_command(course, assignment_id, student_id, settings, usable)
    for nb_name, nb in result["notebooks"].items():
        flagged = suspicious_uses(graded / f"{nb_name}.ipynb")
        if flagged:
            result["suspicious"] = result.get("suspicious", []) + flagged
            result["notes"].append(f"review: the answers reach for the grader's machinery "
                                   f"({'; '.join(flagged[:5])}"
                                   f"{'; ...' if len(flagged) > 5 else ''})")
        kernel = {g: (v["auto_score"] or 0.0, v["max_score"]) for g, v in nb["grades"].items()
                  if v["auto_score"] is not None}
        verdicts = out_of_kernel.verify_submission(
            course / "assignments" / assignment_id,
            course / "source" / assignment_id / f"{nb_name}.ipynb", graded / f"{nb_name}.ipynb",
            course / "submitted" / student_id / assignment_id, kernel, command,
            device=env.get("USEFUNS_DEVICE"))
        changes = out_of_kernel.lowered(verdicts)
        for grade_id, (score, message) in sorted(changes.items()):
            nb["grades"][grade_id]["auto_score"] = score
            result["notes"].append(f"verification: {grade_id} passed in the kernel "
                                   f"({kernel[grade_id][0]:g} points) but not outside it: "
                                   f"{message}; scored {score:g}")
        result["notes"] += [f"verification: {g}: {v['message']}" for g, v in sorted(
            verdicts.items()) if v["verified"] is None and v["message"]]
        if changes:
            # the kernel reported passes that verification refuted: its other verdicts are
            # not trusted either (the cells only the kernel can check score zero)
            for grade_id, value in sorted(nb["grades"].items()):
                if grade_id not in verdicts and not value["needs_manual_grade"] and (
                        value["auto_score"] or 0) > 0:
                    changes[grade_id] = (0.0, "not trusted: verification refuted this "
                                              "kernel's results in other cells")
                    result["notes"].append(f"verification: {grade_id} ({value['auto_score']:g}"
                                           f" points in the kernel) not trusted; scored 0")
                    value["auto_score"] = 0.0
            out_of_kernel.mark_notebook(graded / f"{nb_name}.ipynb", changes)
            result["tampering"] = True


def suspicious_uses(notebook_path):
    """The static scan of the graded notebook's answer cells (``coursekit.engine.scan``)."""
    from coursekit.engine.scan import scan

    try:
        nb = json.loads(notebook_path.read_text())
    except (OSError, ValueError):
        return []
    return scan(["".join(c.get("source", "")) for c in nb.get("cells", [])
                 if c.get("cell_type") == "code"
                 and c.get("metadata", {}).get("nbgrader", {}).get("solution")])
