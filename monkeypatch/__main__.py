"""Run a program with the stdlib patched: ``python -m monkeypatch [options] script.py args...``.

    python -m monkeypatch [--no-socket] [--no-dns] [--no-time] [--no-select] [--no-ssl]
                          (script.py | -m module) [args...]

The program runs as ``__main__`` with its own ``sys.argv``, exactly as ``python script.py`` or
``python -m module`` would run it, after ``patch_all()``; its exit code and traceback are its own.
"""

from __future__ import annotations

import importlib.util
import os
import runpy
import signal
import sys
import traceback
from types import TracebackType

import monkeypatch
from monkeypatch._table import OPTIONS

USAGE = (
    "usage: python -m monkeypatch "
    + " ".join(f"[--no-{name}]" for name in OPTIONS)
    + " (script.py | -m module) [args...]"
)


def _parse(argv: list[str]) -> tuple[dict[str, bool], str | None, str | None, list[str]]:
    """(patch_all keywords, script, module, program args); exits with usage on bad input."""
    options = {name: True for name in OPTIONS}
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
            return options, None, argv[i + 1], argv[i + 2 :]
        if arg.startswith("--no-") and arg[5:] in options:
            options[arg[5:]] = False
            i += 1
            continue
        if arg.startswith("-"):
            sys.exit(f"{USAGE}\nerror: unknown option {arg}")
        return options, arg, None, argv[i + 1 :]
    sys.exit(f"{USAGE}\nerror: nothing to run")


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
    options, script, module, args = _parse(sys.argv[1:] if argv is None else argv)
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
    try:
        if module is not None:
            sys.argv = [module, *args]
            sys.path[0] = os.getcwd()
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            assert script is not None
            sys.argv = [script, *args]
            sys.path[0] = os.path.dirname(os.path.abspath(script))
            runpy.run_path(script, run_name="__main__")
    except SystemExit:
        raise
    except BaseException as exc:
        tb = _program_traceback(exc.__traceback__)
        traceback.print_exception(type(exc), exc, tb)
        sys.stderr.flush()
        if isinstance(exc, KeyboardInterrupt) and hasattr(signal, "SIGINT"):
            # Exit the way Python does on an uncaught Ctrl-C: killed by SIGINT.
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        sys.exit(1)


if __name__ == "__main__":
    main()
