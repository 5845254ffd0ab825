"""monkeypatch: patch_all() and friends, the table, late-patch warnings, python -m monkeypatch.

Patching changes the whole process, so every test here runs its code in a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(code: str = "", *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, *args] if args else [sys.executable, "-c", textwrap.dedent(code)]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def run_ok(code: str) -> str:
    result = run(code)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_patch_all_replaces_the_table():
    out = run_ok(
        """
        import importlib, operator, socket, ssl, time, select, selectors
        import monkeypatch
        from monkeypatch._table import TABLE
        def lookup(module, name):
            return operator.attrgetter(name)(importlib.import_module(module))
        def exists(module, name):
            try:
                lookup(module, name)
            except AttributeError:
                return False  # this Python lacks it (_thread._set_sentinel on 3.13)
            return True
        originals = {(r.module, n): lookup(r.module, n) for r in TABLE for n in r.names
                     if exists(r.module, n)}
        context_class = ssl.SSLContext
        monkeypatch.patch_all()
        for row in TABLE:
            for name in row.names:
                if (row.module, name) not in originals:
                    assert not monkeypatch.is_object_patched(row.module, name)
                    continue
                assert lookup(row.module, name) is lookup(row.source, name), (row, name)
                assert monkeypatch.get_original(row.module, name) is originals[(row.module, name)]
                assert monkeypatch.is_object_patched(row.module, name)
        assert monkeypatch.is_module_patched("socket") and monkeypatch.is_module_patched("ssl")
        assert socket.socket.__module__ == "hub.socket"
        assert monkeypatch.get_original("socket", ["socket", "SocketType"])[1] is socket.SocketType
        # ssl: the stdlib's classes stay in place; only the socket class their contexts build
        # changes.
        assert ssl.SSLContext is context_class and ssl.SSLSocket.__module__ == "ssl"
        assert ssl.SSLContext.sslsocket_class.__module__ == "hub.ssl"
        assert monkeypatch.get_original("ssl", "SSLContext.sslsocket_class") is ssl.SSLSocket
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_get_original_of_unpatched_dotted_name():
    out = run_ok(
        """
        import ssl, monkeypatch
        assert monkeypatch.get_original("ssl", "SSLContext.sslsocket_class") is ssl.SSLSocket
        assert not monkeypatch.is_object_patched("ssl", "SSLContext.sslsocket_class")
        monkeypatch.patch_all(ssl=False)
        assert ssl.SSLContext.sslsocket_class is ssl.SSLSocket
        monkeypatch.patch_ssl()
        assert monkeypatch.is_object_patched("ssl", "SSLContext.sslsocket_class")
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_patch_all_is_idempotent():
    out = run_ok(
        """
        import socket, monkeypatch
        saved = [socket.socket]  # in a list: patch_all() rebinds module globals, not lists
        monkeypatch.patch_all()
        patched = socket.socket
        monkeypatch.patch_all()
        monkeypatch.patch_socket()
        assert socket.socket is patched
        assert monkeypatch.get_original("socket", "socket") is saved[0]
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_unknown_keyword_is_a_type_error():
    out = run_ok(
        """
        import monkeypatch
        try:
            monkeypatch.patch_all(sockets=True)
        except TypeError as e:
            print(e)
        """
    )
    assert "'sockets'" in out


def test_options_switch_groups_off():
    out = run_ok(
        """
        import socket, time, select, monkeypatch
        saved = {"sleep": time.sleep}
        monkeypatch.patch_all(time=False, select=False, dns=False)
        assert time.sleep is saved["sleep"]
        assert not monkeypatch.is_module_patched("select")
        assert not monkeypatch.is_object_patched("socket", "getaddrinfo")
        assert monkeypatch.is_object_patched("socket", "socket")
        monkeypatch.patch_time()
        assert time.sleep is not saved["sleep"]
        monkeypatch.patch_dns()
        monkeypatch.patch_select()
        monkeypatch.patch_ssl()
        assert monkeypatch.is_object_patched("socket", "getaddrinfo")
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_late_patching_rebinds_module_globals(tmp_path):
    (tmp_path / "thirdparty.py").write_text(
        "from socket import create_connection, socket as Socket\n"
        "import selectors\n"
        "_Selector = selectors.DefaultSelector\n"
    )
    result = run(
        f"""
        import sys; sys.path.insert(0, {str(tmp_path)!r})
        from socket import create_connection
        from time import sleep as nap
        import socket, ssl, socketserver, subprocess, thirdparty, hub.socket, hub._core._io
        import monkeypatch
        monkeypatch.patch_all()
        import hub.selectors, hub.time
        assert create_connection is socket.create_connection is hub.socket.create_connection
        assert nap is hub.time.sleep
        assert thirdparty.create_connection is hub.socket.create_connection
        assert thirdparty.Socket is hub.socket.socket
        assert thirdparty._Selector is hub.selectors.DefaultSelector
        assert ssl.create_connection is hub.socket.create_connection
        assert socketserver._ServerSelector is hub.selectors.PollSelector
        assert subprocess._PopenSelector is hub.selectors.PollSelector
        # Our own packages keep their originals on purpose.
        assert hub.socket._original_socket is monkeypatch.get_original("socket", "socket")
        assert hub._core._io._epoll is monkeypatch.get_original("select", "epoll")
        healed = {{(h.module, h.name) for h in monkeypatch._healed}}
        assert ("__main__", "nap") in healed and ("thirdparty", "_Selector") in healed
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert result.stderr == ""  # healed quietly


LATE_UNHEALABLE = """
import functools, socket, ssl, time

def waiter(delay, sleep=time.sleep):
    sleep(delay)

def make_napper():
    nap = time.sleep
    def napper():
        nap(0)
    return napper

napper = make_napper()
later = functools.partial(time.sleep, 0)

class Client:
    connect = socket.create_connection

class Conn(socket.socket):
    pass

class Context(ssl.SSLContext):
    sslsocket_class = ssl.SSLSocket

early = socket.socket()
"""


def test_late_patching_warns_about_what_it_cannot_heal():
    code = LATE_UNHEALABLE + "import monkeypatch\nmonkeypatch.patch_all()\nearly.close()\n"
    result = run(code)
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert err.count("MonkeyPatchWarning") == 7, err
    expected = [
        "__main__.waiter (default of 'sleep') still uses the blocking time.sleep: a default",
        "__main__.napper (closure variable 'nap') still uses the blocking time.sleep: a closure",
        "__main__.later (a functools.partial) still uses the blocking time.sleep",
        "__main__.Client.connect still uses the blocking socket.create_connection: a class "
        "attribute",
        "class __main__.Conn still uses the blocking socket.socket",
        "__main__.Context.sslsocket_class still uses the blocking "
        "ssl.SSLContext.sslsocket_class: it overrides the patched SSLContext.sslsocket_class",
        "<socket.socket fd=",
    ]
    for text in expected:
        assert text in err, text
    # Each warning points at the patch_all() call.
    line = code.splitlines().index("monkeypatch.patch_all()") + 1
    assert err.count(f"<string>:{line}: MonkeyPatchWarning") == 7, err


def test_each_stale_reference_is_named_once():
    result = run(
        """
        import time
        def waiter(sleep=time.sleep):
            pass
        import monkeypatch
        monkeypatch.patch_time()
        monkeypatch.patch_all()
        monkeypatch.patch_time()
        """
    )
    assert result.returncode == 0
    assert result.stderr.count("MonkeyPatchWarning") == 1


def test_early_patching_is_quiet():
    result = run("import monkeypatch; monkeypatch.patch_all(); import socket, urllib.request")
    assert result.returncode == 0
    assert result.stderr == ""


def test_patched_time_sleep_runs_greenlets_concurrently():
    out = run_ok(
        """
        import monkeypatch; monkeypatch.patch_all()
        import time, hub
        start = time.monotonic()
        hub.joinall([hub.spawn(time.sleep, 0.5) for _ in range(20)])
        print(round(time.monotonic() - start, 1))
        """
    )
    assert float(out) < 2.0


# -- python -m monkeypatch ------------------------------------------------------------------


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "prog.py"
    path.write_text(
        textwrap.dedent(
            """
            import sys, socket, monkeypatch
            print("argv", sys.argv[1:])
            print("main", __name__)
            print("patched", monkeypatch.is_object_patched("socket", "socket"))
            print("module", socket.socket.__module__)
            if "fail" in sys.argv:
                def inner():
                    raise ValueError("from the program")
                inner()
            if "exit" in sys.argv:
                sys.exit(7)
            """
        )
    )
    return path


def test_run_script_patched(script):
    result = run("", "-m", "monkeypatch", str(script), "a", "--b")
    assert result.returncode == 0, result.stderr
    assert "argv ['a', '--b']" in result.stdout
    assert "main __main__" in result.stdout
    assert "patched True" in result.stdout
    assert "module hub.socket" in result.stdout


def test_run_script_exit_code_and_traceback(script):
    result = run("", "-m", "monkeypatch", str(script), "exit")
    assert result.returncode == 7
    result = run("", "-m", "monkeypatch", str(script), "fail")
    assert result.returncode == 1
    assert "ValueError: from the program" in result.stderr
    assert "in inner" in result.stderr
    assert "runpy" not in result.stderr and "monkeypatch/__main__" not in result.stderr


def test_run_script_with_options(script):
    result = run("", "-m", "monkeypatch", "--no-socket", str(script))
    assert "patched False" in result.stdout


def test_run_module(tmp_path):
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "tool.py").write_text(
        "import sys, time, monkeypatch\n"
        "print(__name__, sys.argv[1:], monkeypatch.is_object_patched('time', 'sleep'))\n"
    )
    env_cwd = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "monkeypatch", "-m", "mypkg.tool", "x"],
        capture_output=True,
        text=True,
        cwd=env_cwd,
        env={**os.environ, "PYTHONPATH": ROOT},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "__main__ ['x'] True"


def test_usage_errors():
    result = run("", "-m", "monkeypatch")
    assert result.returncode != 0 and "usage" in result.stderr
    result = run("", "-m", "monkeypatch", "--no-such-option", "x.py")
    assert result.returncode != 0 and "unknown option" in result.stderr
    result = run("", "-m", "monkeypatch", "/nonexistent/script.py")
    assert result.returncode == 2 and "can't open file" in result.stderr
    result = run("", "-m", "monkeypatch", "-m", "no_such_module_here")
    assert result.returncode == 1 and "No module named" in result.stderr


# -- python -m monkeypatch --check ------------------------------------------------------------


def test_check_alone_reports_this_interpreter_patched():
    result = run("", "-m", "monkeypatch", "--check", "--no-time")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "socket  socket.create_connection -> hub.socket.create_connection" in out
    assert "ssl     ssl.SSLContext.sslsocket_class -> hub.ssl.SSLSocket" in out
    assert "not patched:\n  time.sleep\n" in out
    assert "still using a blocking original:\n  (none)\ndatabase drivers loaded:\n" in out


def test_check_runs_the_program_and_reports_at_exit(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys, monkeypatch
            blocking_sleep = monkeypatch.get_original("time", "sleep")
            class Holder:
                connect = monkeypatch.get_original("socket", "create_connection")
            print("program output")
            sys.exit(3)
            """
        )
    )
    result = run("", "-m", "monkeypatch", "--check", str(script))
    assert result.returncode == 3
    assert result.stdout == "program output\n"
    err = result.stderr
    assert "patched:\n" in err and "time    time.sleep -> hub.time.sleep" in err
    assert "__main__.blocking_sleep: time.sleep (a module global)" in err
    assert "Holder.connect: socket.create_connection (a class attribute is not rebound)" in err


def test_check_lists_what_late_patching_rebound(tmp_path):
    script = tmp_path / "late.py"
    script.write_text(
        textwrap.dedent(
            """
            import socketserver, ssl
            from socket import create_connection
            import monkeypatch
            monkeypatch.patch_all()
            """
        )
    )
    # Run without the launcher's early patch_all() so the program's own call is late.
    result = run(
        f"""
        import runpy, sys
        runpy.run_path({str(script)!r}, run_name="__main__")
        from monkeypatch.__main__ import report
        report(sys.stdout)
        """
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "  socketserver._ServerSelector (was selectors.PollSelector)\n" in out
    assert "  ssl.create_connection (was socket.create_connection)\n" in out
