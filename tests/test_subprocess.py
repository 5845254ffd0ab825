"""hub.subprocess: the stdlib's Popen API, cooperative (used directly, without patching)."""

from __future__ import annotations

import os
import subprocess as stdlib_subprocess
import sys
import time

import pytest

import hub
from hub import subprocess

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")

PY = sys.executable


def zombies() -> list[int]:
    """Our children that have exited but were not reaped (from /proc)."""
    me = os.getpid()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == me:
            found.append(int(name))
    return found


def test_the_stdlib_names_are_the_stdlibs():
    assert issubclass(subprocess.Popen, stdlib_subprocess.Popen)
    for name in ("PIPE", "STDOUT", "DEVNULL", "TimeoutExpired", "CalledProcessError"):
        assert getattr(subprocess, name) is getattr(stdlib_subprocess, name)


def test_twenty_children_at_once():
    start = time.monotonic()
    jobs = [hub.spawn(subprocess.run, ["sleep", "0.5"]) for _ in range(20)]
    hub.joinall(jobs, raise_error=True)
    elapsed = time.monotonic() - start
    assert [j.value.returncode for j in jobs] == [0] * 20
    assert elapsed < 8.0, elapsed  # serially: 10 s (generous: forks are slow on a loaded machine)


def test_other_greenlets_run_while_a_child_is_awaited():
    ticks = []

    def ticker():
        for _ in range(5):
            ticks.append(time.monotonic())
            hub.sleep(0.02)

    g = hub.spawn(ticker)
    assert subprocess.call(["sleep", "0.3"]) == 0
    g.join()
    assert len(ticks) == 5


def test_communicate_ten_megabytes_both_ways():
    data = os.urandom(10 * 1024 * 1024)
    p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out, err = p.communicate(data)
    assert out == data and err is None and p.returncode == 0


def test_big_output_on_both_pipes_through_a_timeout_and_a_retry():
    # Both pipes fill up at once, and the retry after TimeoutExpired resumes the same transfer.
    mb = 1 << 20
    code = (
        "import sys, time\n"
        "def out(f, c): f.buffer.write(c * (1 << 20)); f.buffer.flush()\n"
        "out(sys.stdout, b'o'); out(sys.stderr, b'e')\n"
        "time.sleep(0.5)\n"
        "out(sys.stdout, b'O'); out(sys.stderr, b'E')\n"
    )
    p = subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with pytest.raises(subprocess.TimeoutExpired) as info:
        p.communicate(memoryview(b""), timeout=0.2)
    out, err = p.communicate(timeout=30)
    assert out == b"o" * mb + b"O" * mb and err == b"e" * mb + b"E" * mb
    assert out.startswith(info.value.output or b"") and err.startswith(info.value.stderr or b"")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="F_GETPIPE_SZ is Linux's")
def test_a_pipe_size_the_caller_chose_is_kept():
    # communicate() may widen a full pipe, but never one given a size with Popen(pipesize=).
    import fcntl

    code = "import sys, time\nsys.stdout.buffer.write(b'x' * (4 << 20))\nsys.stdout.flush()\n"
    code += "time.sleep(30)"
    size = 1 << 17
    with subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, pipesize=size) as p:
        with pytest.raises(subprocess.TimeoutExpired):
            p.communicate(timeout=1)
        assert fcntl.fcntl(p.stdout.fileno(), fcntl.F_GETPIPE_SZ) == size
        p.kill()


def test_communicate_stdout_and_stderr_together_text_mode():
    code = "import sys\nfor i in range(20000):\n print(i); print(-i, file=sys.stderr)"
    out, err = subprocess.Popen(
        [PY, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ).communicate()
    assert out.splitlines()[-1] == "19999" and err.splitlines()[-1] == "-19999"


def test_reading_lines_from_stdout_waits_on_the_hub():
    ticks = []
    g = hub.spawn(lambda: [ticks.append(hub.sleep(0.01)) for _ in range(10)])
    code = "import time\nfor i in range(3):\n print(i, flush=True); time.sleep(0.05)"
    with subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, text=True) as p:
        lines = list(p.stdout)
    g.join()
    assert lines == ["0\n", "1\n", "2\n"]
    assert len(ticks) == 10
    assert p.returncode == 0


def test_wait_timeout():
    p = subprocess.Popen(["sleep", "5"])
    with pytest.raises(stdlib_subprocess.TimeoutExpired) as info:
        p.wait(timeout=0.1)
    assert info.value.timeout == 0.1 and info.value.cmd == ["sleep", "5"]
    p.kill()
    assert p.wait() == -9


def test_communicate_timeout_keeps_the_output_and_resumes():
    code = "import sys, time\nprint('first', flush=True)\ntime.sleep(0.5)\nprint('second')"
    p = subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE)
    with pytest.raises(subprocess.TimeoutExpired) as info:
        p.communicate(timeout=0.2)
    assert info.value.output in (None, b"first\n") or info.value.output.startswith(b"first")
    out, _ = p.communicate(timeout=10)
    assert out == b"first\nsecond\n"


def test_run_timeout_kills_and_reaps():
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run(["sleep", "10"], timeout=0.2)
    # The output read before the timeout travels on the exception (generous: a loaded machine).
    with pytest.raises(subprocess.TimeoutExpired) as info:
        subprocess.run(["sh", "-c", "echo so far; sleep 10"], capture_output=True, timeout=3)
    assert info.value.stdout == b"so far\n"
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.call(["sleep", "10"], timeout=0.2)
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.check_output(["sleep", "10"], timeout=0.2)
    assert time.monotonic() - start < 10
    assert zombies() == []


def test_check_functions_and_their_errors():
    assert subprocess.check_call(["true"]) == 0
    with pytest.raises(stdlib_subprocess.CalledProcessError) as info:
        subprocess.check_call(["false"])
    assert info.value.returncode == 1
    assert subprocess.check_output(["echo", "hi"]) == b"hi\n"
    assert subprocess.check_output(["cat"], input=b"in") == b"in"
    with pytest.raises(subprocess.CalledProcessError) as info2:
        subprocess.check_output([PY, "-c", "print('out'); raise SystemExit(3)"], text=True)
    assert info2.value.returncode == 3 and info2.value.output == "out\n"
    assert subprocess.getoutput("echo a; echo b") == "a\nb"
    assert subprocess.getstatusoutput("echo x; exit 4") == (4, "x")
    result = subprocess.run(["sh", "-c", "echo o; echo e >&2"], capture_output=True, text=True)
    assert (result.stdout, result.stderr, result.returncode) == ("o\n", "e\n", 0)
    with pytest.raises(subprocess.CalledProcessError):
        subprocess.run(["false"], check=True)


def test_poll_and_signals():
    p = subprocess.Popen(["sleep", "10"])
    assert p.poll() is None
    p.terminate()
    assert p.wait(timeout=10) == -15
    assert p.poll() == -15
    p.kill()  # a no-op on a reaped child, as in the stdlib
    with subprocess.Popen(["sleep", "10"]) as q:
        q.send_signal(9)
    assert q.returncode == -9


def test_a_killed_waiter_leaves_nothing_behind():
    p = subprocess.Popen(["sleep", "10"])
    waiter = hub.spawn(p.wait)
    hub.sleep(0.05)
    waiter.kill()
    assert waiter.dead
    # Nothing registered: with nothing else to wait for, the hub runs out of work at once.
    assert hub.get_hub().join(timeout=5)
    p.kill()
    assert p.wait(timeout=10) == -9
    assert zombies() == []


def test_the_program_reaping_its_own_children_meanwhile():
    # A child the program reaps itself with the stdlib's blocking call, while greenlets wait
    # for others through the hub: each gets its own status, nobody sees ECHILD.
    mine = os.posix_spawn("/bin/sh", ["sh", "-c", "sleep 0.1; exit 5"], os.environ)
    waited = [hub.spawn(subprocess.call, ["sh", "-c", f"sleep 0.2; exit {i}"]) for i in range(3)]
    hub.sleep(0.01)
    pid, status = os.waitpid(mine, 0)
    assert pid == mine and os.waitstatus_to_exitcode(status) == 5
    hub.joinall(waited, raise_error=True)
    assert [g.value for g in waited] == [0, 1, 2]


def test_bad_input_raises_what_the_stdlib_raises():
    with pytest.raises(FileNotFoundError):
        subprocess.run(["/nonexistent/program"])
    with pytest.raises(FileNotFoundError):
        subprocess.Popen(["true"], cwd="/nonexistent/dir")
    with pytest.raises(TypeError):
        subprocess.Popen(["true"], bufsize="x")
    with pytest.raises(ValueError):
        subprocess.run(["cat"], input=b"x", stdin=subprocess.PIPE)
    with pytest.raises(ValueError):
        subprocess.check_output(["true"], stdout=subprocess.PIPE)
    p = subprocess.Popen(["sleep", "5"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    with pytest.raises(subprocess.TimeoutExpired):
        p.communicate(timeout=0.05)
    with pytest.raises(ValueError, match="Cannot send input"):
        p.communicate(b"late")
    p.kill()
    p.communicate()
    assert zombies() == []


def test_closed_pipes():
    # The child stops reading: communicate ignores the broken pipe, as the stdlib does.
    p = subprocess.Popen(["true"], stdin=subprocess.PIPE)
    p.wait()
    p.communicate(b"x" * 1_000_000)
    assert p.returncode == 0
    # A direct write to a pipe nobody reads raises BrokenPipeError.
    q = subprocess.Popen(["true"], stdin=subprocess.PIPE, bufsize=0)
    q.wait()
    with pytest.raises(BrokenPipeError):
        q.stdin.write(b"x" * 100_000)
    q.stdin.close()
    # Closing a pipe another greenlet reads from wakes it with an error, not a hang. (Unbuffered:
    # a BufferedReader refuses to be closed in the middle of its own read, RuntimeError.)
    r = subprocess.Popen(["sleep", "10"], stdout=subprocess.PIPE, bufsize=0)
    reader = hub.spawn(r.stdout.read)
    hub.sleep(0.05)
    r.stdout.close()
    reader.join(timeout=5)
    assert reader.dead and isinstance(reader.exception, (OSError, ValueError))
    r.kill()
    r.wait()


def test_a_pipeline_gets_a_blocking_pipe():
    p1 = subprocess.Popen(["echo", "through"], stdout=subprocess.PIPE)
    p2 = subprocess.Popen(["cat"], stdin=p1.stdout, stdout=subprocess.PIPE)
    p1.stdout.close()
    assert p2.communicate()[0] == b"through\n"
    assert p1.wait() == 0
    # The same through the fd number; the child's stdin is blocking either way.
    code = "import os, sys; print(os.get_blocking(0)); sys.stdout.write(sys.stdin.read())"
    q1 = subprocess.Popen(["echo", "by fd"], stdout=subprocess.PIPE)
    q2 = subprocess.Popen([PY, "-c", code], stdin=q1.stdout.fileno(), stdout=subprocess.PIPE)
    q1.stdout.close()
    assert q2.communicate()[0] == b"True\nby fd\n"
    assert q1.wait() == 0
