"""Processes for the benchmarks: C tools built on demand, servers, clients, CPU pinning, memory.

Every measurement runs a fresh server process and a fresh load generator, each pinned to its own
core where the machine has two or more, so neither steals the other's CPU and no toolkit inherits
another's state. Anything that goes wrong becomes a ``Failed`` (or ``Unsupported``) carrying a
one-line reason, which the driver prints in the toolkit's row before going on.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(BENCH)
SERVERS = os.path.join(BENCH, "servers")
C_SOURCES = os.path.join(BENCH, "c")
BUILD = os.path.join(BENCH, "build")


class Failed(Exception):
    """A measurement could not be taken; ``str()`` is the reason shown in the table."""


class Unsupported(Failed):
    """The toolkit cannot run this workload (yet); reported as a skip, not as a failure."""


# -- CPUs -----------------------------------------------------------------------------------------


def cpu_plan() -> tuple[int | None, int | None]:
    """The core for the measured process and the core for its load generator.

    With one usable core both are None: nothing is pinned and the two share it (the README
    says what that does to the figures).
    """
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        return None, None
    return usable[0], usable[1]


def _pinned(cpu: int | None) -> Callable[[], None] | None:
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


class pinned_here:
    """Pin this process (and so the children it starts) to ``cpu`` for a ``with`` block."""

    def __init__(self, cpu: int | None) -> None:
        self.cpu = cpu
        self.saved: set[int] | None = None

    def __enter__(self) -> None:
        if self.cpu is not None:
            self.saved = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {self.cpu})

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            os.sched_setaffinity(0, self.saved)


# -- the C tools ----------------------------------------------------------------------------------

C_TOOLS = {
    # name: (extra gcc arguments, fallback arguments if the first build fails)
    "echo_server": ([], None),
    "delay_server": ([], None),
    "echo_client": (["-lssl", "-lcrypto"], ["-DNO_TLS"]),
}


def build_c_tools() -> dict[str, str]:
    """Compile bench/c/*.c into bench/build/ where the binary is missing or older than its source.

    Returns notes to print (a tool that could not be built, a client without TLS). Tools that do
    not build are simply absent; the workloads that need them then report why.
    """
    notes: dict[str, str] = {}
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        return {"c": "no C compiler (gcc or cc) found: echo, tls, memory and fetch are skipped"}
    os.makedirs(BUILD, exist_ok=True)
    for name, (extra, fallback) in C_TOOLS.items():
        source = os.path.join(C_SOURCES, name + ".c")
        binary = os.path.join(BUILD, name)
        if os.path.exists(binary) and os.path.getmtime(binary) >= os.path.getmtime(source):
            continue
        base = [cc, "-O2", "-Wall", "-o", binary, source]
        done = subprocess.run(base + extra, capture_output=True, text=True, check=False)
        if done.returncode != 0 and fallback is not None:
            done = subprocess.run(base + fallback, capture_output=True, text=True, check=False)
            if done.returncode == 0:
                notes[name] = "built without OpenSSL (install libssl-dev): tls is skipped"
        if done.returncode != 0:
            notes[name] = f"does not build: {done.stderr.strip().splitlines()[-1:]}"
    return notes


def c_tool(name: str) -> str:
    """The path of a built C tool, or Failed if it is not there."""
    path = os.path.join(BUILD, name)
    if not os.access(path, os.X_OK):
        raise Failed(f"bench/build/{name} was not built (see the notes above)")
    return path


# -- processes ------------------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """The environment for benchmark children: this checkout first on the import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONWARNINGS"] = "ignore"  # eventlet's deprecation notice, and the like
    return env


def python_cmd(script: str, *args: str) -> list[str]:
    """Run one of bench/servers/ with this interpreter (the bench environment's)."""
    return [sys.executable, os.path.join(SERVERS, script), *args]


def _tail(path: str, lines: int = 3) -> str:
    try:
        with open(path, errors="replace") as f:
            text = f.read().strip().splitlines()
    except OSError:
        return ""
    for line in text:
        if line.startswith("unsupported:"):
            return line
    return " | ".join(text[-lines:])


class Server:
    """A server process that prints ``LISTENING <port>`` when ready; a context manager.

    stderr goes to a temporary file (a pipe nobody reads could fill up and stall the server);
    stdout is read only for the ready line.
    """

    def __init__(self, cmd: Sequence[str], cpu: int | None, ready_timeout: float = 20.0) -> None:
        self.cmd = list(cmd)
        self.cpu = cpu
        self.ready_timeout = ready_timeout
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        # Lives as long as the server; closed (and so deleted) by stop().
        self._stderr = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".err")  # noqa: SIM115

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(
            self.cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=child_env(),
            preexec_fn=_pinned(self.cpu),
        )
        try:
            self.port = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + self.ready_timeout
        line = b""
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise Failed(f"server not ready after {self.ready_timeout:.0f} s")
                chunk = os.read(self.proc.stdout.fileno(), 256)
                if not chunk:
                    self.proc.wait(timeout=5)
                    raise self.error(f"server exited ({self.proc.returncode})")
                line += chunk
        words = line.split()
        if len(words) != 2 or words[0] != b"LISTENING":
            raise Failed(f"server said {line!r}, not LISTENING <port>")
        return int(words[1])

    def error(self, what: str) -> Failed:
        """A Failed (or Unsupported) with what the server wrote on stderr."""
        reason = _tail(self._stderr.name)
        if reason.startswith("unsupported:"):
            return Unsupported(reason[len("unsupported:") :].strip())
        return Failed(f"{what}: {reason}" if reason else what)

    def check_alive(self) -> None:
        """Failed if the server has died, with its last words."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise self.error(f"server died ({self.proc.returncode})")

    def rss(self) -> int:
        """The server's resident set size in bytes."""
        assert self.proc is not None
        return resident_bytes(self.proc.pid)

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the server has used so far."""
        assert self.proc is not None
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        """Terminate the server (SIGKILL if it does not go within two seconds)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_client(
    cmd: Sequence[str], cpu: int | None, timeout: float, server: Server | None = None
) -> str:
    """Run a load generator to completion; its stdout, or Failed with the reason."""
    try:
        done = subprocess.run(
            list(cmd),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_env(),
            preexec_fn=_pinned(cpu),
            check=False,
        )
    except subprocess.TimeoutExpired:
        if server is not None:
            server.check_alive()
        raise Failed(f"{os.path.basename(cmd[0])} did not finish within {timeout:.0f} s")
    if done.returncode != 0:
        if server is not None:
            server.check_alive()
        tail = " | ".join(done.stderr.strip().splitlines()[-2:])
        if done.returncode == 3 and tail.startswith("unsupported:"):
            raise Unsupported(tail[len("unsupported:") :].strip())
        raise Failed(f"{os.path.basename(cmd[0])} exited {done.returncode}: {tail}")
    return done.stdout


def run_json(
    cmd: Sequence[str], cpu: int | None, timeout: float, server: Server | None = None
) -> dict[str, Any]:
    """Run a client that prints one JSON object as its last line; that object."""
    out = run_client(cmd, cpu, timeout, server)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise Failed(f"{os.path.basename(cmd[0])} printed no JSON: {out[-200:]!r}")


def run_json_windowed(
    cmd: Sequence[str], cpu: int | None, timeout: float, server: Server
) -> tuple[dict[str, Any], float]:
    """Run echo_client; its JSON, and the server's CPU seconds over the counted window.

    The client prints ``COUNTING`` when its window opens; the server's CPU time is read then and
    again when the client exits. A machine busy with other work slows the server down but barely
    changes what each round trip costs it, so rate per CPU second is the steadier figure.
    """
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        preexec_fn=_pinned(cpu),
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    start_cpu = None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        ready = sel.select(max(0.0, deadline - time.monotonic()))
    # Anything but COUNTING (end of file: the client failed first) leaves start_cpu None, and
    # communicate() below collects why.
    if ready and proc.stdout.readline().strip() == "COUNTING":
        start_cpu = server.cpu_seconds()
    try:
        out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        server.check_alive()
        raise Failed(f"{os.path.basename(cmd[0])} did not finish within {timeout:.0f} s")
    end_cpu = server.cpu_seconds() if proc.returncode == 0 else 0.0
    if proc.returncode != 0 or start_cpu is None:
        server.check_alive()
        tail = " | ".join(err.strip().splitlines()[-2:])
        raise Failed(f"{os.path.basename(cmd[0])} exited {proc.returncode}: {tail}")
    try:
        result = json.loads((out or "").strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise Failed(f"{os.path.basename(cmd[0])} printed no JSON: {out[-200:]!r}")
    return result, end_cpu - start_cpu


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads, in seconds (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        raise Failed(f"process {pid} is gone")
    # After the command name: state is field 3 of stat(5), utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hold_connections(
    port: int, conns: int, cpu: int | None, timeout: float
) -> subprocess.Popen[str]:
    """Start echo_client in hold mode; return once all ``conns`` are open and echoed once."""
    proc = subprocess.Popen(
        [c_tool("echo_client"), "-p", str(port), "-c", str(conns), "-H"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_pinned(cpu),
    )
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            release(proc)
            raise Failed(f"{conns} connections not open after {timeout:.0f} s")
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        _, err = release(proc)
        raise Failed(f"echo_client: {err.strip().splitlines()[-1:] or line!r}")
    return proc


def release(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Let a holding echo_client go (closing its stdin) and reap it."""
    try:
        return proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def resident_bytes(pid: int) -> int:
    """VmRSS of a process, in bytes (Linux)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise Failed(f"no VmRSS for pid {pid}")


def python_can_import(module: str) -> bool:
    """Whether this interpreter (in a fresh process, with the checkout on the path) has it."""
    probe = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        env=child_env(),
        check=False,
    )
    return probe.returncode == 0


def self_signed_cert() -> tuple[str, str]:
    """A throwaway certificate and key for localhost in bench/build/, made with openssl once."""
    cert, key = os.path.join(BUILD, "cert.pem"), os.path.join(BUILD, "key.pem")
    if os.path.exists(cert) and os.path.exists(key):
        return cert, key
    openssl = shutil.which("openssl")
    if openssl is None:
        raise Failed("no openssl command to make a test certificate")
    os.makedirs(BUILD, exist_ok=True)
    args = "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650"
    args += " -subj /CN=localhost"
    done = subprocess.run(
        [openssl, *args.split(), "-keyout", key, "-out", cert],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise Failed(f"openssl could not make a certificate: {done.stderr.strip()[-200:]}")
    return cert, key
