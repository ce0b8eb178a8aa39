"""The sandbox's settings: one traitlets ``Configurable``, ``c.Sandbox.*`` in nbgrader_config.py.

:class:`Sandbox` is the one place for the defaults and their documentation (``help=``); a
course overrides them in ``nbgrader_config.py`` (``c.Sandbox.memory = "2G"``), ``coursekit
autograde`` on its command line (``--memory 2G``, options made from these traits), and
:func:`sandbox_limits` turns the result into a frozen :class:`SandboxLimits` (sizes in bytes)
that travels with every job. ``python -m coursekit.isolation.settings > docs/settings.md``
writes the settings' documentation from the traits' ``help=`` (:func:`settings_doc`): the
sandbox's and those of ``coursekit serve`` (``c.Serve``, ``coursekit.serve.settings``).
"""
from dataclasses import asdict, dataclass

from traitlets import Bool, Enum, Integer, TraitError, Unicode, validate
from traitlets.config import Configurable

__all__ = ["Sandbox", "SandboxLimits", "sandbox_limits", "parse_size", "settings_table",
           "settings_doc"]

SIZE_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
SIZES = ("memory", "file_size", "scratch_size", "submission_memory")
COUNTS = ("cpu_seconds", "processes", "open_files", "submission_processes")


def parse_size(value):
    """Bytes of ``"4G"``, ``"512M"``, ``"100K"``, ``1024`` (int) ...

    Raises:
        ValueError: not a size; says how to write one.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    text = str(value).strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (text[:-1], text[-1]) if text and text[-1] in SIZE_UNITS else (text, "")
    try:
        size = int(float(number) * SIZE_UNITS[unit])
    except ValueError:
        size = 0
    if size <= 0:
        raise ValueError(f"{value!r} is not a size; write a positive number of bytes with an "
                         f"optional unit K, M, G or T, e.g. '4G' or '512M'.")
    return size


class Sandbox(Configurable):
    """Where each submission's kernel and verification child run, and their limits."""

    enabled = Enum(["auto", True, False], default_value="auto", help=(
        "Run kernels in a bubblewrap sandbox: 'auto' where bwrap works (else limits only, with "
        "a warning), True refuses to grade without it, False never uses it.")).tag(config=True)
    memory = Unicode("4G", help="Data memory of each kernel process (RLIMIT_DATA), e.g. 4G; a "
                                "bigger allocation fails in its cell only.").tag(config=True)
    cpu_seconds = Integer(1800, help="CPU seconds of each kernel process (RLIMIT_CPU); a hung "
                                     "cell is cut by Execute.timeout first.").tag(config=True)
    file_size = Unicode("256M", help="The largest file a kernel may write (RLIMIT_FSIZE).").tag(
        config=True)
    scratch_size = Unicode("512M", help="The private tmpfs the kernel works in (a copy of the "
                                        "submission).").tag(config=True)
    processes = Integer(256, help="Processes and threads of one kernel (RLIMIT_NPROC of its own "
                                  "uid).").tag(config=True)
    open_files = Integer(1024, help="Open files of one kernel (RLIMIT_NOFILE).").tag(config=True)
    submission_memory = Unicode("6G", help=(
        "Memory of one submission as a whole: its kernel and every restart of it, the "
        "verification process and all they start, shared memory and tmpfs included (a cgroup; "
        "past it the out-of-memory killer ends the kernel and the cell scores zero).")).tag(
        config=True)
    submission_processes = Integer(512, help=(
        "Processes and threads of one submission as a whole (the cgroup's pids.max).")).tag(
        config=True)

    warm_start = Bool(True, help=(
        "Start each sandboxed kernel and verification process as a fork of the host's kernel "
        "fork server (torch and ipykernel imported once), which confines itself with the same "
        "view as bwrap before any student code runs (coursekit/isolation/warm_sandbox.py); "
        "False: bwrap starts each one cold. Needs root; where a fork cannot be confined, "
        "bwrap starts it cold.")).tag(config=True)

    @validate(*SIZES)
    def _valid_size(self, proposal):
        try:
            parse_size(proposal["value"])
        except ValueError as err:
            raise TraitError(f"Sandbox.{proposal['trait'].name}: {err}") from None
        return proposal["value"]

    @validate(*COUNTS)
    def _valid_count(self, proposal):
        if proposal["value"] <= 0:
            raise TraitError(f"Sandbox.{proposal['trait'].name} must be a positive whole "
                             f"number, not {proposal['value']!r}")
        return proposal["value"]


@dataclass(frozen=True)
class SandboxLimits:
    """The sandbox settings of one batch, sizes in bytes (see :class:`Sandbox`)."""
    enabled: object = "auto"
    memory: int = 4 * 1024 ** 3
    cpu_seconds: int = 1800
    file_size: int = 256 * 1024 ** 2
    scratch_size: int = 512 * 1024 ** 2
    processes: int = 256
    open_files: int = 1024
    submission_memory: int = 6 * 1024 ** 3
    submission_processes: int = 512
    warm_start: bool = True

    def as_dict(self):
        return asdict(self)


def sandbox_limits(config=None, **overrides):
    """:class:`SandboxLimits` from ``c.Sandbox.*`` of ``config`` (a traitlets ``Config``), then
    ``overrides`` (None values ignored).

    Raises:
        ValueError: an unknown setting or a bad value (the message names it and says how).
    """
    sandbox = Sandbox(config=config)
    for key, value in overrides.items():
        if value is None:
            continue
        if not sandbox.has_trait(key) or key in Configurable.class_trait_names():
            raise ValueError(f"unknown sandbox setting {key!r}; known: "
                             f"{sorted(Sandbox.class_trait_names(config=True))}")
        try:
            setattr(sandbox, key, value)
        except TraitError as err:
            raise ValueError(str(err)) from None
    values = {name: getattr(sandbox, name) for name in Sandbox.class_trait_names(config=True)}
    values.update({name: parse_size(values[name]) for name in SIZES})
    return SandboxLimits(**values)


def settings_table(configurable=Sandbox, takes=None):
    """The Markdown table of every setting of ``configurable`` (a ``Configurable`` class,
    default :class:`Sandbox`): name, default, help, and ``takes(name)`` after the help (what
    values it takes, if given)."""
    section = configurable.__name__
    lines = ["| setting | default | what it does |", "|---|---|---|"]
    for name, trait in sorted(configurable.class_traits(config=True).items()):
        note = f" ({takes(name)})" if takes else ""
        lines.append(f"| `c.{section}.{name}` | `{trait.default_value!r}` | {trait.help}{note} |")
    return "\n".join(lines)


DOC_HEAD = """\
# Settings

<!-- Generated from the traits' help= by `python -m coursekit.isolation.settings >
docs/settings.md`; do not edit by hand (a test checks that this file is current). -->

Set them in the course's `nbgrader_config.py`, nbgrader's way (`c.Sandbox.memory = "2G"`)."""

SANDBOX_INTRO = """\
Per run on `coursekit autograde`'s command line: `--memory 2G`, `--cpu-seconds 600`,
`--file-size 64M`, `--scratch-size 1G`, `--processes 128`, `--open-files 512`; `--no-sandbox`
and `--require-sandbox` set `enabled`. `coursekit autograde --help` shows the same help."""

SERVE_INTRO = """\
Per run on `coursekit serve`'s command line nbgrader's way (`--Serve.graded_tries=2`, as any
nbgrader setting: `--Exchange.root=DIR`). A `c.Serve` setting that does not exist, or a value
out of its range, is an error that names the settings (did you mean ...) or says what it takes;
on the command line so is a section or setting that neither nbgrader nor coursekit reads.
`coursekit serve --help` lists them."""


def settings_doc():
    """The text of ``docs/settings.md``: every ``c.Sandbox`` and ``c.Serve`` setting."""
    from coursekit.serve.settings import Serve, takes

    return "\n\n".join([
        DOC_HEAD,
        "## The sandbox (`c.Sandbox`, `coursekit.isolation.settings.Sandbox`)", SANDBOX_INTRO,
        settings_table(Sandbox),
        "## Grading on submit (`c.Serve`, `coursekit.serve.settings.Serve`)", SERVE_INTRO,
        settings_table(Serve, takes=takes),
    ]) + "\n"


if __name__ == "__main__":
    print(settings_doc(), end="")
