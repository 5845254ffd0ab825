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
        import socket, time, select, selectors
        import monkeypatch
        from monkeypatch._table import TABLE
        originals = {
            (r.module, n): getattr(__import__(r.module), n) for r in TABLE for n in r.names
        }
        monkeypatch.patch_all()
        import importlib
        for row in TABLE:
            source = importlib.import_module(row.source)
            for name in row.names:
                assert getattr(__import__(row.module), name) is getattr(source, name), (row, name)
                assert monkeypatch.get_original(row.module, name) is originals[(row.module, name)]
                assert monkeypatch.is_object_patched(row.module, name)
        assert monkeypatch.is_module_patched("socket")
        assert not monkeypatch.is_module_patched("ssl")
        assert socket.socket.__module__ == "hub.socket"
        assert monkeypatch.get_original("socket", ["socket", "SocketType"])[1] is socket.SocketType
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_patch_all_is_idempotent():
    out = run_ok(
        """
        import socket, monkeypatch
        original = socket.socket
        monkeypatch.patch_all()
        patched = socket.socket
        monkeypatch.patch_all()
        monkeypatch.patch_socket()
        assert socket.socket is patched
        assert monkeypatch.get_original("socket", "socket") is original
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
        sleep = time.sleep
        monkeypatch.patch_all(time=False, select=False, dns=False)
        assert time.sleep is sleep
        assert not monkeypatch.is_module_patched("select")
        assert not monkeypatch.is_object_patched("socket", "getaddrinfo")
        assert monkeypatch.is_object_patched("socket", "socket")
        monkeypatch.patch_time()
        assert time.sleep is not sleep
        monkeypatch.patch_dns()
        monkeypatch.patch_select()
        monkeypatch.patch_ssl()
        assert monkeypatch.is_object_patched("socket", "getaddrinfo")
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_late_patching_names_stale_references():
    result = run(
        """
        from socket import create_connection
        import time
        from time import sleep as nap
        import monkeypatch
        monkeypatch.patch_all()
        """
    )
    assert result.returncode == 0
    err = result.stderr
    assert "MonkeyPatchWarning" in err
    assert "__main__.create_connection still refers to the blocking socket.create_connection" in err
    assert "__main__.nap still refers to the blocking time.sleep" in err


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
