"""The sandboxed kernel's launcher: ``python -m coursekit.isolation.kernel SPEC -f CONNECTION``.

Started by the kernelspec that ``coursekit.isolation.sandbox.prepare_task`` writes (inside
``bwrap`` when the sandbox is on). ``SPEC`` is JSON: ``{"work": folder or null, "limits": {...},
"uid": n or null, "cgroup": [cgroup.procs files] or null}``. Before any student code exists in
this process it

0. points its standard streams at ``/dev/null`` (they are the grading job's log, on the
   host's disk: a kernel must not write, seek or forge it; nbclient reads the kernel over its
   sockets, never its streams), joins the submission's cgroup
   (``coursekit.isolation.cgroup``) when the spec names one (a kernel outside bwrap; bwrap
   itself is started in the group), and makes itself the out-of-memory killer's first choice
   there (the grading job is its last);
1. copies the submission folder into the private scratch tmpfs and works there;
2. sets the resource limits and drops to a uid of its own (``coursekit.isolation.limits``);
3. seals itself: a new session keyring, the uid's keyrings cleared, a seccomp filter against
   keyrings and user namespaces (``coursekit.isolation.seccomp``);

and then runs the ordinary IPython kernel in this same process. It loads nothing of the
instructor's: under ``coursekit autograde`` the hidden tests are placeholders in the notebook
(``coursekit.engine.outside``) and the grader runs the checks outside the kernel.
"""
import json
import os
import shutil
import sys
from pathlib import Path

from coursekit.isolation.limits import drop_to, set_limits
from coursekit.isolation.seccomp import seal

__all__ = ["main"]


def _copy_work(source, work, uid):
    shutil.copytree(source, work, symlinks=False, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    if uid is not None:
        for folder, dirs, files in os.walk(work):
            for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                os.chown(name, uid, uid)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    spec = json.loads(argv.pop(0))
    if argv[:1] != ["-f"] or len(argv) < 2:
        raise SystemExit("usage: python -m coursekit.isolation.kernel SPEC -f CONNECTION_FILE")
    connection = argv[1]
    uid = spec.get("uid")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    for procs in spec.get("cgroup") or ():  # fails loudly: never run outside the group
        Path(procs).write_text(str(os.getpid()))
    try:  # the out-of-memory killer's first choice in the group (the grading job, its last)
        Path("/proc/self/oom_score_adj").write_text("500")
    except OSError:
        pass
    if spec.get("work"):
        work = Path(spec["work"])
        _copy_work(spec["work"] + "-src", work, uid)
        home = Path("/tmp/coursekit-home")
        home.mkdir(exist_ok=True)
        if uid is not None:
            os.chown(home, uid, uid)
            # the connection file is root's (0600): hand the kernel its own copy
            copy = Path("/tmp/coursekit-connection.json")
            copy.write_bytes(Path(connection).read_bytes())
            os.chown(copy, uid, uid)
            connection = str(copy)
        os.environ.update(HOME=str(home), MPLCONFIGDIR=str(home / "matplotlib"),
                          TMPDIR="/tmp", PWD=str(work))
        os.chdir(work)
        # ipykernel polls JPY_PARENT_PID and quits when it is gone; in its own PID namespace
        # that pid means nothing, and bwrap --die-with-parent ends the kernel with the grader
        os.environ.pop("JPY_PARENT_PID", None)
    set_limits(spec["limits"])
    if uid is not None:
        drop_to(uid)
    seal()  # no keyring of the grader's or of an earlier kernel, no user namespaces
    if sys.path and sys.path[0] in ("", os.getcwd(), "/tmp"):
        sys.path.pop(0)  # as ipykernel_launcher does: the working folder is not a package root
    from ipykernel.kernelapp import launch_new_instance

    sys.argv = ["ipykernel_launcher", "-f", connection]
    launch_new_instance()


if __name__ == "__main__":
    main()
