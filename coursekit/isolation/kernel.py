"""The sandboxed kernel's launcher: ``python -m coursekit.isolation.kernel SPEC -f CONNECTION``.

Started by the kernelspec that ``coursekit.isolation.sandbox.prepare_task`` writes (inside ``bwrap`` when
the sandbox is on). Before any student code exists in this process it

1. copies the submission folder into the private scratch tmpfs and works there;
2. loads the assignment's hidden-test modules (``assignments/<a>/*.py``) under the names that
   ``coursekit.hidden.load_checks`` looks up, so they bind ``torch.allclose`` & co. before a
   student can replace them, and their files (mode 0600) are unreadable afterwards;
3. sets the resource limits (memory, CPU, file size, processes, open files, no core dumps);
4. drops to a uid of its own (no other kernel shares it: RLIMIT_NPROC counts per uid);

and then runs the ordinary IPython kernel in this same process.
"""
import importlib.util
import json
import os
import resource
import shutil
import sys
from pathlib import Path

LIMITS = {"memory": resource.RLIMIT_DATA, "cpu_seconds": resource.RLIMIT_CPU,
          "file_size": resource.RLIMIT_FSIZE, "processes": resource.RLIMIT_NPROC,
          "open_files": resource.RLIMIT_NOFILE}


def _say(message):
    print(f"coursekit sandbox: {message}", file=sys.stderr, flush=True)


def _copy_work(source, work, uid):
    shutil.copytree(source, work, symlinks=False, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    if uid is not None:
        for folder, dirs, files in os.walk(work):
            for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                os.chown(name, uid, uid)


def _preload(assignment, hidden_dir, modules):
    """Load the hidden-test modules as ``_coursekit_<a>_<module>`` (see coursekit.hidden)."""
    import coursekit.hidden

    coursekit.hidden.PRELOADED = {}
    for filename in modules:
        stem = filename[:-3]
        name = f"_coursekit_{assignment}_{stem}"
        spec = importlib.util.spec_from_file_location(name, Path(hidden_dir) / filename)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
            coursekit.hidden.PRELOADED[name] = module
        except Exception as err:  # noqa: BLE001 - the test cell that needs it will say so
            del sys.modules[name]
            _say(f"could not preload {filename}: {type(err).__name__}: {err}")


def _set_limits(limits):
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in LIMITS.items():
        value = int(limits[key])
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def _drop_to(uid):
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    spec = json.loads(argv.pop(0))
    if argv[:1] != ["-f"] or len(argv) < 2:
        raise SystemExit("usage: python -m coursekit.isolation.kernel SPEC -f CONNECTION_FILE")
    connection = argv[1]
    uid = spec.get("uid")
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
    _preload(spec["assignment"], spec["hidden_dir"], spec.get("modules", []))
    import linecache

    linecache.clearcache()  # a warning during the preload may have cached the hidden source
    _set_limits(spec["limits"])
    if uid is not None:
        _drop_to(uid)
    if sys.path and sys.path[0] in ("", os.getcwd(), "/tmp"):
        sys.path.pop(0)  # as ipykernel_launcher does: the working folder is not a package root
    from ipykernel.kernelapp import launch_new_instance

    sys.argv = ["ipykernel_launcher", "-f", connection]
    launch_new_instance()


if __name__ == "__main__":
    main()
