"""Run a program with the stdlib patched: ``python -m monkeypatch [options] script.py args...``.

    python -m monkeypatch [--check] [--no-socket] [--no-dns] [--no-time] [--no-select] [--no-ssl]
                          [--no-subprocess] [--no-os] [--no-signal] [--no-thread] [--no-queue]
                          (script.py | -m module) [args...]
    python -m monkeypatch --check [--no-...]
    python -m monkeypatch [--monitor SECONDS] [--dump-on SIGNAL] script.py args...

The program runs as ``__main__`` with its own ``sys.argv``, exactly as ``python script.py`` or
``python -m module`` would run it, after ``patch_all()``; its exit code and traceback are its own.

--check audits patching: it prints which table rows are applied, which module globals were
rebound because their module was loaded before patch_all(), and every reference to a blocking
original that is left (defaults, closures, class attributes, subclasses, sockets that existed
before patching, module globals). Alone, it reports on this interpreter right after patch_all()
(on stdout). With a program, it runs the program and reports when it ends (on stderr, so the
program's output stays its own). The check never changes the exit status: 0 alone, the
program's own otherwise.

--monitor SECONDS starts the blocking monitor (hub.monitor) before the program runs: every time
the hub does not run for longer than SECONDS, the blocking greenlet and its stack are printed on
stderr. GREENPATCH_MAX_BLOCKING_TIME=SECONDS in the environment does the same.

--dump-on SIGNAL (e.g. SIGUSR1) installs a handler that prints hub.util.format_run_info(), every
thread's and greenlet's stack and what each greenlet waits on, on stderr when the process gets
SIGNAL (``kill -USR1 PID``).
"""

from __future__ import annotations

import importlib.util
import os
import runpy
import signal
import sys
import traceback
from types import TracebackType
from typing import Any, TextIO

import monkeypatch
from monkeypatch._table import OPTIONS, TABLE

USAGE = (
    "usage: python -m monkeypatch [--check] [--monitor SECONDS] [--dump-on SIGNAL] "
    + " ".join(f"[--no-{name}]" for name in OPTIONS)
    + " (script.py | -m module) [args...]"
)


class _Args:
    """The parsed command line."""

    def __init__(self) -> None:
        self.options = {name: True for name in OPTIONS}
        self.check = False
        self.monitor: float | None = None
        self.dump_on: int | None = None
        self.script: str | None = None
        self.module: str | None = None
        self.args: list[str] = []


def _parse(argv: list[str]) -> _Args:
    """The parsed command line; exits with usage on bad input."""
    parsed = _Args()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            print(USAGE)
            print(__doc__.split("\n\n", 2)[2].strip())
            sys.exit(0)
        if arg == "-m":
            if i + 1 >= len(argv):
                sys.exit(f"{USAGE}\nerror: -m needs a module name")
            parsed.module, parsed.args = argv[i + 1], argv[i + 2 :]
            return parsed
        if arg == "--check":
            parsed.check = True
            i += 1
            continue
        if arg in ("--monitor", "--dump-on"):
            if i + 1 >= len(argv):
                sys.exit(f"{USAGE}\nerror: {arg} needs a value")
            if arg == "--monitor":
                parsed.monitor = _seconds(argv[i + 1])
            else:
                parsed.dump_on = _signal_number(argv[i + 1])
            i += 2
            continue
        if arg.startswith("--no-") and arg[5:] in parsed.options:
            parsed.options[arg[5:]] = False
            i += 1
            continue
        if arg.startswith("-"):
            sys.exit(f"{USAGE}\nerror: unknown option {arg}")
        parsed.script, parsed.args = arg, argv[i + 1 :]
        return parsed
    if not parsed.check:
        sys.exit(f"{USAGE}\nerror: nothing to run")
    return parsed


def _seconds(text: str) -> float:
    """--monitor's value: a positive number of seconds; exits with usage otherwise."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        sys.exit(f"{USAGE}\nerror: --monitor needs a positive number of seconds, not {text!r}")
    return value


def _signal_number(text: str) -> int:
    """--dump-on's value (``SIGUSR1``, ``USR1`` or a number); exits with usage otherwise."""
    name = text.upper()
    if name.isdigit():
        return int(name)
    number = getattr(signal, name if name.startswith("SIG") else f"SIG{name}", None)
    if not isinstance(number, int):
        sys.exit(f"{USAGE}\nerror: --dump-on: unknown signal {text!r}")
    return int(number)


def _install_dump_handler(signum: int) -> None:
    """On ``signum``, print every thread's and greenlet's state on stderr (hub.util)."""
    from hub._core import signal_signal
    from hub.util import print_run_info

    def dump(_signum: int, _frame: Any) -> None:
        print_run_info(file=sys.stderr)

    # The runtime's captured signal.signal: the signal module may be patched meanwhile.
    signal_signal(signum, dump)


def _name(obj: Any) -> str:
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    return f"{module}.{name}" if module and name else repr(obj)


def report(stream: TextIO, program: dict[str, Any] | None = None) -> None:
    """Print what patch_all() did and what still refers to a blocking original.

    ``program``: the namespace of the program that ran as ``__main__`` (runpy has unloaded it).
    """
    from monkeypatch import _late

    write = stream.write
    write(
        f"monkeypatch check: Python {sys.version.split()[0]}, {len(sys.modules)} modules loaded\n"
    )
    write("patched:\n")
    skipped = []
    for row in TABLE:
        for name in row.names:
            key = (row.module, name)
            if monkeypatch.is_object_patched(*key):
                replacement = _name(monkeypatch._replacements[key])
                if not replacement.startswith(("hub.", "hub ")):
                    # hub._thread's objects say __module__ "_thread", like the stdlib's.
                    replacement = f"{row.source}.{name} ({replacement})"
                write(f"  {row.option:<7} {row.module}.{name} -> {replacement}\n")
            else:
                skipped.append(f"{row.module}.{name}")
    if skipped:
        write("not patched:\n")
        for name in skipped:
            write(f"  {name}\n")
    write("rebound because their module was loaded before patch_all():\n")
    for healed in monkeypatch._healed or ():
        write(f"  {healed.module}.{healed.name} (was {healed.original})\n")
    if not monkeypatch._healed:
        write("  (none)\n")
    patched = monkeypatch._patched()
    extra = [("__main__", program)] if program is not None else []
    left = [
        _late.Stale(f"{h.module}.{h.name}", h.original, "a module global")
        for h in _late.heal(patched, dry_run=True, extra=extra)
    ]
    left += _late.find_stale(patched, extra=extra)
    write("still using a blocking original:\n")
    for stale in left:
        write(f"  {stale.where}: {stale.original} ({stale.why})\n")
    if not left:
        write("  (none)\n")
    _report_drivers(write)
    stream.flush()


def _report_drivers(write: Any) -> None:
    """Each loaded database driver and whether it cooperates (docs/databases.md)."""
    from monkeypatch import _drivers

    drivers = _drivers.status(
        select_patched=monkeypatch.is_object_patched("select", "poll"),
        socket_patched=monkeypatch.is_object_patched("socket", "socket"),
    )
    write("database drivers loaded:\n")
    for driver in drivers:
        verdict = "cooperative" if driver.cooperative else "NOT cooperative"
        write(f"  {driver.name}: {verdict} ({driver.how})\n")
    if not drivers:
        write("  (none)\n")


def _program_traceback(tb: TracebackType | None) -> TracebackType | None:
    """Drop the frames of this launcher and runpy, so the traceback starts in the program."""
    launcher = {os.path.abspath(__file__), os.path.abspath(runpy.__file__), "<frozen runpy>"}
    while tb is not None and (
        tb.tb_frame.f_code.co_filename in launcher
        or os.path.abspath(tb.tb_frame.f_code.co_filename) in launcher
    ):
        tb = tb.tb_next
    return tb


def main(argv: list[str] | None = None) -> None:
    parsed = _parse(sys.argv[1:] if argv is None else argv)
    options, script, module, args = parsed.options, parsed.script, parsed.module, parsed.args
    if parsed.check and script is None and module is None:
        monkeypatch.patch_all(**options)
        report(sys.stdout)
        return
    if module is not None and importlib.util.find_spec(module) is None:
        sys.exit(f"{sys.executable}: No module named {module}")
    if script is not None and not os.path.exists(script):
        print(
            f"{sys.executable}: can't open file {os.path.abspath(script)!r}: "
            "[Errno 2] No such file or directory",
            file=sys.stderr,
        )
        sys.exit(2)
    monkeypatch.patch_all(**options)
    if parsed.dump_on is not None:
        _install_dump_handler(parsed.dump_on)
    if parsed.monitor is not None:
        from hub import monitor

        monitor.start(parsed.monitor)
    program: dict[str, Any] = {}
    try:
        _run(script, module, args, program)
    finally:
        if parsed.check:
            report(sys.stderr, program)


def _run(script: str | None, module: str | None, args: list[str], program: dict[str, Any]) -> None:
    """Run the program as __main__; report an uncaught exception as Python would.

    ``program`` receives the program's globals (for --check, which looks at them afterwards).
    """
    try:
        if module is not None:
            sys.argv = [module, *args]
            sys.path[0] = os.getcwd()
            program.update(runpy.run_module(module, run_name="__main__", alter_sys=True))
        else:
            assert script is not None
            sys.argv = [script, *args]
            sys.path[0] = os.path.dirname(os.path.abspath(script))
            program.update(runpy.run_path(script, run_name="__main__"))
    except SystemExit as exc:
        tb = _program_traceback(exc.__traceback__)
        if tb is not None:
            program.update(tb.tb_frame.f_globals)
        raise
    except BaseException as exc:
        tb = _program_traceback(exc.__traceback__)
        if tb is not None:
            program.update(tb.tb_frame.f_globals)
        traceback.print_exception(type(exc), exc, tb)
        sys.stderr.flush()
        if isinstance(exc, KeyboardInterrupt) and hasattr(signal, "SIGINT"):
            # Exit the way Python does on an uncaught Ctrl-C: killed by SIGINT.
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        sys.exit(1)


if __name__ == "__main__":
    main()
