"""One run of tools/conformance.py: apply a patch, then run one stdlib test module.

    python tools/conformance_child.py SPEC.json

The runner writes SPEC.json; its keys:

- ``module``: ``test_socket`` (CPython's ``test.test_socket``) or a dotted module path;
- ``patcher``: ``greenpatch``, ``gevent`` or ``none``; ``root``: the repository, for greenpatch;
- ``timeout``: seconds a test (or the gap between two tests) may take before it counts as hung;
- ``resources``: the ``test.support`` resources to enable (like regrtest's ``-u``);
- ``listed``: id patterns of the skip list, reported as ``listed`` and not run;
- ``match``: id patterns to run (empty: all); ``exclude``: ids the runner already has a result
  for, from an earlier attempt that hung or crashed;
- ``events``: the file to append events to, one JSON object a line.

Events: ``hello`` (what the patch replaced), ``start`` (a test begins), ``result`` (one per test
or per class/module fixture failure: ``status`` is pass, fail, error, skip, xfail, xpass or
listed, ``detail`` the exception's last line or the skip reason), ``done`` (the suite ran to its
end). A run that ends without ``done`` hung or crashed; the runner works out which test did it
from the last ``start`` without its ``result``.

Events go to their own file, not to stdout/stderr: tests print freely, replace sys.stdout, and
fork; the runner keeps stdout/stderr as the log and ignores events written by other processes.
"""

# Only modules that do not import socket, select, ssl or threading come before the patch: a
# patcher must see the stdlib networking modules first, as in a program whose first lines patch.
import json
import os
import sys
import time

# Worst first: the status a test ends with when several outcomes are reported for it (subtests).
_RANK = {"error": 6, "fail": 5, "xpass": 4, "pass": 3, "xfail": 2, "skip": 1}


class _Events:
    """Appends one JSON line per event; each line is a single write, so a crash loses none.

    The file is opened for every event rather than kept open: socket tests close, reuse and
    write to file descriptors they believe they own, and a long-lived descriptor of ours could
    be among them.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._pid = os.getpid()

    def emit(self, event: str, **fields: object) -> None:
        fields.update(event=event, pid=self._pid, t=time.time())
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(fields) + "\n").encode())
        finally:
            os.close(fd)


def _apply_patch(patcher: str, root: str) -> None:
    """Patch the way a user's program does, before anything else imports the networking stack."""
    if patcher == "greenpatch":
        # The checkout's sources, not an installed copy that may be older.
        sys.path.insert(0, root)
        import monkeypatch

        monkeypatch.patch_all()
    elif patcher == "gevent":
        from gevent import monkey

        monkey.patch_all()
    elif patcher != "none":
        raise SystemExit(f"unknown patcher {patcher!r}")


if __name__ == "__main__":
    with open(sys.argv[1]) as _f:
        _SPEC = json.load(_f)
    _EVENTS = _Events(_SPEC["events"])
    try:
        _apply_patch(_SPEC["patcher"], _SPEC["root"])
    except BaseException as _exc:
        # A patcher that fails is a result to report (every test counts as not run), not a crash.
        _EVENTS.emit("result", test="patch_all()", status="error", detail=repr(_exc)[:300])
        _EVENTS.emit("done")
        raise

# Imported after the patch on purpose (E402 is off for this file): see the top of the file.
import faulthandler
import fnmatch
import importlib
import traceback
import unittest


def _replaced() -> dict:
    """Each main patchable name's module: a replaced name lives in the patcher's module."""
    import select
    import selectors
    import signal
    import socket
    import ssl
    import subprocess

    names = {
        "socket.socket": socket.socket,
        "socket.getaddrinfo": socket.getaddrinfo,
        "select.select": select.select,
        "selectors.DefaultSelector": selectors.DefaultSelector,
        "time.sleep": time.sleep,
        "ssl.SSLSocket": ssl.SSLSocket,
        # greenpatch replaces Popen's blocking methods on the stdlib's class; gevent, the class.
        "subprocess.Popen._wait": getattr(subprocess.Popen, "_wait", subprocess.Popen),
        "signal.signal": signal.signal,
    }
    return {name: getattr(obj, "__module__", None) or "?" for name, obj in names.items()}


def _last_line(exc: BaseException) -> str:
    """The exception as a traceback's last line shows it, cut to one table-friendly line."""
    lines = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
    text = lines[0] + (" ..." if len(lines) > 1 else "") if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _matches(test_id: str, patterns: list) -> bool:
    """An exact id, or a shell pattern (ids with ``[`` in them still match themselves)."""
    return any(test_id == p or fnmatch.fnmatchcase(test_id, p) for p in patterns)


def _filtered(suite: unittest.TestSuite, keep) -> unittest.TestSuite:
    """A copy of the loader's nested suite without the tests ``keep`` rejects.

    The nesting is kept so unittest still runs each class's and module's fixtures around exactly
    the tests that remain.
    """
    out = unittest.TestSuite()
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            sub = _filtered(item, keep)
            if sub.countTestCases():
                out.addTest(sub)
        elif keep(item):
            out.addTest(item)
    return out


class _Reporter(unittest.TestResult):
    """Reports each test's outcome as one event, and keeps the watchdog armed between events.

    unittest reports some outcomes for objects that are not the running test: subtests (folded
    into their test, the worst outcome wins) and failures of class and module fixtures (named
    like ``setUpClass (test.test_x.Cls)``), which are reported at once under that name.
    """

    def __init__(self, events: _Events, timeout: float) -> None:
        super().__init__()
        self._events = events
        self._timeout = timeout
        self._current = None
        self._status = None
        self._detail = ""

    def _rearm(self) -> None:
        faulthandler.dump_traceback_later(self._timeout, exit=True)

    def startTest(self, test) -> None:
        super().startTest(test)
        self._current, self._status, self._detail = test.id(), None, ""
        self._events.emit("start", test=self._current)
        self._rearm()  # after the event, so a hang is always a full timeout after it

    def stopTest(self, test) -> None:
        super().stopTest(test)
        if test.id() != self._current:
            # Python 3.12.1 skips a test without startTest(); its skip was reported by _record.
            self._rearm()
            return
        # A test without any outcome would be a unittest change we do not understand: say so.
        status = self._status or "error"
        detail = self._detail if self._status else "no outcome reported by unittest"
        self._events.emit("result", test=self._current, status=status, detail=detail)
        self._current = None
        self._rearm()

    def _record(self, test, status: str, detail: str = "") -> None:
        test_id = getattr(test, "test_case", test).id()  # a subtest counts for its test
        if test_id != self._current:
            self._events.emit("result", test=test_id, status=status, detail=detail)
            self._rearm()
        elif self._status is None or _RANK[status] > _RANK[self._status]:
            self._status, self._detail = status, detail

    def _record_exc(self, test, status: str, err) -> None:
        # The whole traceback goes to the log, its last line into the event.
        sys.__stderr__.write(f"\n=== {status.upper()}: {test.id()}\n")
        sys.__stderr__.write(self._exc_info_to_string(err, test))
        sys.__stderr__.flush()
        self._record(test, status, _last_line(err[1]))

    def addSuccess(self, test) -> None:
        self._record(test, "pass")

    def addFailure(self, test, err) -> None:
        self._record_exc(test, "fail", err)

    def addError(self, test, err) -> None:
        self._record_exc(test, "error", err)

    def addSkip(self, test, reason) -> None:
        self._record(test, "skip", str(reason)[:300])

    def addExpectedFailure(self, test, err) -> None:
        self._record(test, "xfail")

    def addUnexpectedSuccess(self, test) -> None:
        self._record(test, "xpass", "unexpected success")

    def addSubTest(self, test, subtest, err) -> None:
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._record_exc(subtest, "fail" if failed else "error", err)


def main(spec: dict, events: _Events) -> None:
    """Run the module ``spec`` names and report to ``events`` (the patch is already applied)."""
    timeout = float(spec["timeout"])
    # A crash prints every thread's stack to the log; the watchdog, re-armed at every event, turns
    # a hang (in a test or in a fixture between tests) into a stack dump and exit code 1.
    faulthandler.enable(all_threads=True)
    faulthandler.dump_traceback_later(timeout, exit=True)
    events.emit("hello", python=sys.version.split()[0], replaced=_replaced())
    # Started in the background (a job of a non-interactive shell), the child inherits SIGINT
    # ignored, and test_threading's interrupt_main tests then fail on every side: give the tests
    # the default handler a terminal would.
    import signal

    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)

    from test import support

    support.use_resources = list(spec["resources"])
    support.verbose = 0  # as under regrtest: verbose tests print far more
    # The suite's own waits give up with a proper failure before the watchdog calls it a hang.
    for name in ("LOOPBACK_TIMEOUT", "INTERNET_TIMEOUT", "SHORT_TIMEOUT", "LONG_TIMEOUT"):
        if hasattr(support, name):
            setattr(support, name, min(getattr(support, name), timeout / 2))

    module_name = spec["module"]
    if "." not in module_name:
        module_name = "test." + module_name
    try:
        module = importlib.import_module(module_name)
    except unittest.SkipTest as exc:  # support.requires() at import time: the whole module skips
        events.emit("result", test=module_name, status="skip", detail=str(exc)[:300])
        events.emit("done")
        return
    except BaseException as exc:
        traceback.print_exc()
        events.emit("result", test=module_name, status="error", detail=_last_line(exc))
        events.emit("done")
        return

    exclude = set(spec["exclude"])

    def keep(test: unittest.TestCase) -> bool:
        test_id = test.id()
        if test_id in exclude or (spec["match"] and not _matches(test_id, spec["match"])):
            return False
        if _matches(test_id, spec["listed"]):
            events.emit("result", test=test_id, status="listed", detail="")
            return False
        return True

    suite = _filtered(unittest.defaultTestLoader.loadTestsFromModule(module), keep)
    suite.run(_Reporter(events, timeout))
    events.emit("done")
    # Left armed on purpose: threads a test left behind can block interpreter shutdown.
    faulthandler.dump_traceback_later(timeout, exit=True)


if __name__ == "__main__":
    main(_SPEC, _EVENTS)
