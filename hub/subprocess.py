"""Cooperative ``subprocess``: the stdlib's module, with the blocking pieces of ``Popen`` replaced.

``Popen`` here derives from the stdlib's ``subprocess.Popen`` and overrides only what blocks:

- ``__init__`` runs the stdlib's, then rebuilds the pipe objects it made (``stdin``, ``stdout``,
  ``stderr``) as the same io classes with the same settings over a cooperative
  :class:`hub._pipes.PipeFile`, so ``p.stdout.readline()`` or ``for line in p.stdout`` wait on
  the hub. A pipe of ours handed to the new child (``stdin=p1.stdout``) is made blocking again
  first (see ``hub._pipes``);
- ``_wait`` (behind ``wait``, ``__exit__`` and the KeyboardInterrupt handling) waits for the
  child's exit on the hub (a pidfd, see ``hub._children``), with its timeout, instead of the
  stdlib's ``waitpid`` or its sleep-and-poll loop;
- ``_communicate`` moves data through all pipes at once in one loop that waits on the hub for
  whichever pipe is ready, instead of a ``selectors`` loop.

Everything else is the stdlib's code and data: ``communicate``, ``poll``, ``send_signal``,
``terminate``, ``kill``, the context manager, the exceptions (``TimeoutExpired`` carrying the
output read so far, ``CalledProcessError``), ``returncode`` handling, the 0.25 s wait after a
KeyboardInterrupt. The functions ``run``, ``call``, ``check_call``, ``check_output``,
``getoutput`` and ``getstatusoutput`` use this ``Popen`` and behave as the stdlib's (a ``run()``
timeout kills and reaps the child before ``TimeoutExpired`` propagates).

``monkeypatch.patch_subprocess()`` does not replace ``subprocess.Popen``: it sets these three
methods on the stdlib's own class (``Popen.__init__``, ``Popen._wait``, ``Popen._communicate``
in the table), so ``subprocess.Popen`` stays the class users and libraries know, its
subclasses become cooperative too, and the stdlib's own ``run()`` and friends need no
replacing. That is why the methods below never call ``super()``: they run on the stdlib's
class as well as on ours.

What still blocks the thread briefly: the stdlib's ``__init__`` forks (or ``posix_spawn``s) and
reads the exec-status pipe until the child has called ``exec`` (a millisecond or so).
"""

from __future__ import annotations

import io
import os as _os
import subprocess as _subprocess
from subprocess import (
    DEVNULL,
    PIPE,
    STDOUT,
    CalledProcessError,
    CompletedProcess,
    SubprocessError,
    TimeoutExpired,
    list2cmdline,
)
from typing import Any

from ._children import wait_child
from ._core import get_hub, monotonic
from ._greenlet import sleep
from ._pipes import WIDE, PipeFile, pipe_of, rebuild

__all__ = [
    "DEVNULL",
    "PIPE",
    "STDOUT",
    "CalledProcessError",
    "CompletedProcess",
    "Popen",
    "SubprocessError",
    "TimeoutExpired",
    "call",
    "check_call",
    "check_output",
    "getoutput",
    "getstatusoutput",
    "list2cmdline",
    "run",
]

_stdlib_init = _subprocess.Popen.__init__
_stdlib_communicate = _subprocess.Popen._communicate
_WNOHANG = getattr(_os, "WNOHANG", 1)
# Per read from a pipe: what a default pipe holds. A read that comes back this full found the
# child blocked on a full pipe: the pipe is widened (see _Reading) and reads go through one
# preallocated buffer of the wide size (a fresh bytes that big per read would be an mmap'd
# allocation, whose page faults cost more than the reads saved).
_READ = 1 << 16
# Per write to a pipe: the kernel takes what fits.
_WRITE = 1 << 20


class Popen(_subprocess.Popen):  # type: ignore[type-arg]
    """The stdlib's ``subprocess.Popen``, cooperative: see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The child's stdio may be pipes of ours: give them to it blocking (see hub._pipes).
        for i, name in ((2, "stdin"), (3, "stdout"), (4, "stderr")):
            value = kwargs.get(name, args[i + 1] if len(args) > i + 1 else None)
            pipe = pipe_of(value) if value is not None else None
            if pipe is not None:
                pipe.share()
        _stdlib_init(self, *args, **kwargs)
        bufsize = kwargs.get("bufsize", args[1] if len(args) > 1 else -1)
        if bufsize is None or bufsize == 1 or not isinstance(bufsize, int) or bufsize < 0:
            bufsize = -1
        # Rebuilt only after a successful start: a failing __init__ closed them already.
        self.stdin = rebuild(self.stdin, bufsize)
        self.stdout = rebuild(self.stdout, bufsize)
        self.stderr = rebuild(self.stderr, bufsize)

    def _wait(self, timeout: float | None) -> int | None:  # type: ignore[override]
        """Wait for the child's exit on the hub; raise TimeoutExpired after ``timeout``."""
        if self.returncode is not None:
            return self.returncode
        deadline = None if timeout is None else monotonic() + timeout
        lock = self._waitpid_lock
        while self.returncode is None:
            # Never hold the lock while waiting: poll() from another greenlet must not block.
            if lock.acquire(False):
                try:
                    if self.returncode is not None:
                        break
                    pid, status = self._try_wait(_WNOHANG)
                    if pid == self.pid:
                        self._handle_exitstatus(status)
                        break
                finally:
                    lock.release()
                busy = False
            else:
                busy = True  # another thread is in a blocking waitpid: let it finish
            remaining = None if deadline is None else deadline - monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutExpired(self.args, timeout)
            if busy:
                sleep(0.001 if remaining is None else min(0.001, remaining))
            else:
                wait_child(self.pid, remaining)
        return self.returncode

    def _communicate(self, input: Any, endtime: float | None, orig_timeout: float | None) -> Any:
        """All pipes at once, waiting on the hub for whichever is ready (the stdlib's contract:
        TimeoutExpired carries the output so far and a later call resumes where it stopped)."""
        if any(f and pipe_of(f) is None for f in (self.stdin, self.stdout, self.stderr)):
            # A pipe object the caller replaced with one of its own: the stdlib's loop.
            return _stdlib_communicate(self, input, endtime, orig_timeout)
        if self.stdin and not self._communication_started:
            try:
                self.stdin.flush()
            except BrokenPipeError:
                pass  # communicate() ignores a child that stopped reading
            if not input:
                try:
                    self.stdin.close()
                except BrokenPipeError:
                    pass
        if not self._communication_started:
            # Output collects in a BytesIO, not a list of chunks: its buffer grows in place and
            # getvalue() hands it over without a copy, which saves a pass over a big output
            # (the list's final join allocates and copies it all once more).
            self._fileobj2output = {}
            if self.stdout:
                self._fileobj2output[self.stdout] = io.BytesIO()
            if self.stderr:
                self._fileobj2output[self.stderr] = io.BytesIO()
        stdout = self._fileobj2output[self.stdout] if self.stdout else None
        stderr = self._fileobj2output[self.stderr] if self.stderr else None
        self._save_input(input)
        readers = [f for f in (self.stdout, self.stderr) if f and not f.closed]
        writer = self.stdin if self.stdin and input and not self.stdin.closed else None
        view = memoryview(self._input) if writer is not None and self._input else None
        # A pipe size the caller chose (Popen's pipesize) is kept as it is.
        reading = _Reading(getattr(self, "pipesize", -1) <= 0)
        big_input = view is not None and len(view) - self._input_offset > _READ
        if writer is not None and big_input and reading.may_widen:
            pipe_of(writer).widen()  # type: ignore[union-attr]
        while readers or writer is not None:
            progress = False
            if writer is not None:
                progress, done = _write_some(self, writer, view)
                if done:
                    writer = None
            for f in list(readers):
                data = reading.read(pipe_of(f))  # type: ignore[arg-type]
                if data is None:
                    continue
                progress = True
                if not data:
                    readers.remove(f)
                    f.close()
                else:
                    self._fileobj2output[f].write(data)
            if progress or not (readers or writer is not None):
                _check_deadline(self, endtime, orig_timeout, stdout, stderr)
                continue
            remaining = self._remaining_time(endtime)
            if remaining is not None and remaining <= 0:
                _check_deadline(self, endtime, orig_timeout, stdout, stderr, True)
            states = [pipe_of(f).state() for f in readers]  # type: ignore[union-attr]
            out = [pipe_of(writer).state()] if writer is not None else []  # type: ignore[union-attr]
            get_hub().wait_fds(states, out, remaining)
            _check_deadline(self, endtime, orig_timeout, stdout, stderr)
        self.wait(timeout=self._remaining_time(endtime))
        if stdout is not None:
            stdout = stdout.getvalue()
        if stderr is not None:
            stderr = stderr.getvalue()
        if self.text_mode:
            if stdout is not None:
                stdout = self._translate_newlines(stdout, self.stdout.encoding, self.stdout.errors)
            if stderr is not None:
                stderr = self._translate_newlines(stderr, self.stderr.encoding, self.stderr.errors)
        return stdout, stderr


class _Reading:
    """The reads of one ``_communicate`` call: small ones at first, and once a pipe is found
    full, a wider pipe and reads into one preallocated buffer (see ``_READ``)."""

    def __init__(self, may_widen: bool) -> None:
        self.may_widen = may_widen
        self._buffer: memoryview | None = None

    def read(self, pipe: PipeFile) -> Any:
        """What the pipe has (bytes or a view of the buffer, valid until the next read), b""
        at EOF, or None if nothing is there yet."""
        if self._buffer is None:
            data = pipe.try_read(_READ)
            if data is not None and len(data) == _READ:
                self._full(pipe)
                self._buffer = memoryview(bytearray(WIDE))
            return data
        n = pipe.try_readinto(self._buffer)
        if n is None:
            return None
        if n == len(self._buffer):
            self._full(pipe)  # the other output pipe, full too
        return self._buffer[:n]

    def _full(self, pipe: PipeFile) -> None:
        if self.may_widen:
            pipe.widen()


def _check_deadline(
    proc: Any, endtime: float | None, timeout: float | None, out: Any, err: Any, now: bool = False
) -> None:
    """The stdlib's _check_timeout for BytesIO buffers: TimeoutExpired with the output so far
    (None for a stream nothing came from yet), once ``endtime`` has passed (or ``now``)."""
    if endtime is None:
        return
    if now or monotonic() > endtime:
        raise TimeoutExpired(
            proc.args,
            timeout,
            output=out.getvalue() if out is not None and out.tell() else None,
            stderr=err.getvalue() if err is not None and err.tell() else None,
        )


def _write_some(proc: Any, writer: Any, view: memoryview | None) -> tuple[bool, bool]:
    """One non-blocking write of the rest of the input: (progress made, writing is over)."""
    if view is None or proc._input_offset >= len(view):
        writer.close()
        return True, True
    pipe = pipe_of(writer)
    try:
        n = pipe.try_write(view[proc._input_offset : proc._input_offset + _WRITE])  # type: ignore[union-attr]
    except BrokenPipeError:
        writer.close()  # the child stopped reading: the stdlib ignores it too
        return True, True
    if n is None:
        return False, False
    proc._input_offset += n
    if proc._input_offset >= len(view):
        writer.close()
        return True, True
    return True, False


def run(
    *popenargs: Any,
    input: Any = None,
    capture_output: bool = False,
    timeout: float | None = None,
    check: bool = False,
    **kwargs: Any,
) -> CompletedProcess[Any]:
    """``subprocess.run`` on the cooperative Popen (same arguments, results and errors)."""
    if input is not None:
        if kwargs.get("stdin") is not None:
            raise ValueError("stdin and input arguments may not both be used.")
        kwargs["stdin"] = PIPE
    if capture_output:
        if kwargs.get("stdout") is not None or kwargs.get("stderr") is not None:
            raise ValueError("stdout and stderr arguments may not be used with capture_output.")
        kwargs["stdout"] = kwargs["stderr"] = PIPE
    with Popen(*popenargs, **kwargs) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except TimeoutExpired:
            process.kill()
            process.wait()  # reaped before the error propagates; the output is on it already
            raise
        except BaseException:
            process.kill()  # __exit__ reaps it (briefly, after a KeyboardInterrupt)
            raise
        retcode = process.poll()
        if check and retcode:
            raise CalledProcessError(retcode, process.args, output=stdout, stderr=stderr)
    return CompletedProcess(process.args, retcode, stdout, stderr)  # type: ignore[arg-type]


def call(*popenargs: Any, timeout: float | None = None, **kwargs: Any) -> int:
    """``subprocess.call``: run, wait, return the exit code (the child is killed on error)."""
    with Popen(*popenargs, **kwargs) as p:
        try:
            return p.wait(timeout=timeout)
        except BaseException:
            p.kill()
            raise


def check_call(*popenargs: Any, **kwargs: Any) -> int:
    """``subprocess.check_call``: ``call``, raising CalledProcessError on a non-zero exit."""
    retcode = call(*popenargs, **kwargs)
    if retcode:
        cmd = kwargs.get("args")
        if cmd is None:
            cmd = popenargs[0]
        raise CalledProcessError(retcode, cmd)
    return 0


def check_output(*popenargs: Any, timeout: float | None = None, **kwargs: Any) -> Any:
    """``subprocess.check_output``: the child's stdout, CalledProcessError on a non-zero exit."""
    for kw in ("stdout", "check"):
        if kw in kwargs:
            raise ValueError(f"{kw} argument not allowed, it will be overridden.")
    if "input" in kwargs and kwargs["input"] is None:
        # input=None has always meant "an empty stdin" here (not the caller's stdin).
        text = any(kwargs.get(k) for k in ("universal_newlines", "text", "encoding", "errors"))
        kwargs["input"] = "" if text else b""
    return run(*popenargs, stdout=PIPE, timeout=timeout, check=True, **kwargs).stdout


def getstatusoutput(cmd: Any, *, encoding: str | None = None, errors: str | None = None) -> Any:
    """``subprocess.getstatusoutput``: (exit code, output) of ``cmd`` run by the shell."""
    try:
        data = check_output(
            cmd, shell=True, text=True, stderr=STDOUT, encoding=encoding, errors=errors
        )
        exitcode = 0
    except CalledProcessError as ex:
        data = ex.output
        exitcode = ex.returncode
    if data[-1:] == "\n":
        data = data[:-1]
    return exitcode, data


def getoutput(cmd: Any, *, encoding: str | None = None, errors: str | None = None) -> str:
    """``subprocess.getoutput``: the output of ``cmd`` run by the shell."""
    return getstatusoutput(cmd, encoding=encoding, errors=errors)[1]
