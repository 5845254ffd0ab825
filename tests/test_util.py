"""hub.util: run info (what each greenlet waits on), statistics, spawn tracking, assert_switches."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

import hub
import hub.socket
from hub import util
from hub._core import real_sleep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def waiting_greenlets():
    """Greenlets suspended on an fd, a timer, an Event and a lock, plus one not yet run."""
    a, b = hub.socket.socketpair()
    event = hub.Event()
    lock = hub.Lock()
    lock.acquire()
    gs = {
        "fd": hub.spawn(a.recv, 10),
        "timer": hub.spawn(hub.sleep, 3600),
        "event": hub.spawn(event.wait),
        "lock": hub.spawn(lock.acquire),
    }
    for name, g in gs.items():
        g.name = f"on-{name}"
    hub.sleep(0)  # each runs up to its wait
    gs["ready"] = hub.spawn(lambda: None)
    gs["ready"].name = "on-ready"
    yield gs
    hub.killall(list(gs.values()))
    lock.release()
    a.close()
    b.close()


EXPECTED = {
    # greenlet: (state, waiting_on, part of the description)
    "fd": ("waiting", "fd", "to be readable"),
    "timer": ("waiting", "timer", "sleeping 3600 s"),
    "event": ("waiting", "event", "Event.wait()"),
    "lock": ("waiting", "lock", "acquire()"),
    "ready": ("ready", None, "ready"),
}


def test_states_of_waiting_greenlets(waiting_greenlets):
    for name, (state, kind, text) in EXPECTED.items():
        info = util.greenlet_info(waiting_greenlets[name])
        assert (info.state, info.waiting_on) == (state, kind), name
        assert text in info.description, (name, info.description)
    me = util.greenlet_info(hub.getcurrent())
    assert (me.name, me.state) == ("the main greenlet", "running")
    assert any("test_states_of_waiting_greenlets" in line for line in me.stack)


def test_woken_but_not_yet_run_is_ready():
    event = hub.Event()
    g = hub.spawn(event.wait)
    hub.sleep(0)
    event.set()
    assert util.greenlet_info(g).state == "ready"
    g.join()


def test_format_run_info_lists_threads_and_greenlets(waiting_greenlets):
    text = "\n".join(util.format_run_info())
    assert "*** Threads" in text
    assert "(this thread)" in text
    for name in ("fd", "timer", "event", "lock", "ready"):
        assert f'greenlet "on-{name}"' in text
    assert "waiting for fd" in text and "sleeping 3600 s" in text
    assert "the main greenlet: running" in text
    assert "5 greenlets" not in text  # the main greenlet and the hub count too
    assert "7 greenlets" in text


def test_statistics(waiting_greenlets):
    stats = util.statistics()
    assert stats.greenlets == 5
    assert stats.ready == 1  # the greenlet spawned last
    assert stats.timers == 1  # the sleep
    assert stats.fds == 1  # the socket recv waits on (its peer has no FdState yet)
    before = stats.switches
    hub.sleep(0.001)  # the batch that resumed us ends: switches are added up per batch
    assert util.statistics().switches > before


def test_spawn_tracking():
    def spawner():
        return hub.spawn(hub.sleep, 1)

    untracked = spawner()
    util.track_spawning(True)
    try:
        tracked = spawner()
    finally:
        util.track_spawning(False)
    assert util.spawned_at(untracked) is None
    where = util.spawned_at(tracked)
    assert where is not None
    assert where.startswith("spawned by the main greenlet")
    assert "in spawner" in where
    assert "spawned by the main greenlet" in "\n".join(util.format_run_info())
    hub.killall([untracked, tracked])


# -- assert_switches -----------------------------------------------------------------------------


def test_assert_switches_passes_on_cooperative_code():
    with util.assert_switches():
        hub.sleep(0)
    with util.assert_switches(hub_only=True):
        hub.sleep(0.001)
    with util.assert_switches(max_blocking_time=1.0):
        for _ in range(5):
            hub.sleep(0.01)


def test_assert_switches_fails_without_a_switch():
    no_switch = util.assert_switches(hub_only=True)
    with pytest.raises(AssertionError, match="never switched to the hub"), no_switch:
        sum(range(10))


def stuck_for_half_a_second() -> None:
    real_sleep(0.5)


def test_assert_switches_names_the_blocking_code():
    check = util.assert_switches(max_blocking_time=0.05)
    with pytest.raises(AssertionError) as caught, check:
        hub.sleep(0)
        stuck_for_half_a_second()
        hub.sleep(0)
    message = str(caught.value)
    assert "the main greenlet ran" in message
    assert "it was blocked at" in message
    assert "in stuck_for_half_a_second" in message


def test_assert_switches_in_a_greenlet_blocking_the_hub():
    def worker():
        hub.sleep(0)
        stuck_for_half_a_second()

    check = util.assert_switches(max_blocking_time=0.05)
    with pytest.raises(AssertionError, match='greenlet "blocker" ran') as caught, check:
        g = hub.spawn(worker)
        g.name = "blocker"
        g.join()
    assert "in stuck_for_half_a_second" in str(caught.value)


# -- python -m monkeypatch --dump-on ------------------------------------------------------------

DUMPED = """
import sys, hub
event = hub.Event()
waiter = hub.spawn(event.wait)
waiter.name = "waits-for-event"
hub.sleep(0)
print("ready", flush=True)
hub.wait_read(0)  # until the test closes our stdin
"""


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_dump_on_signal(tmp_path):
    script = tmp_path / "dumped.py"
    script.write_text(textwrap.dedent(DUMPED))
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monkeypatch", "--dump-on", "SIGUSR1", str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout.readline() == "ready\n"
        os.kill(proc.pid, signal.SIGUSR1)
        _, err = proc.communicate(timeout=30)  # closes stdin: the script ends
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "*** greenpatch run info" in err
    assert 'greenlet "waits-for-event": waiting in Event.wait()' in err
    # The signal may land before or after the main greenlet suspends in wait_read.
    assert "the main greenlet: running" in err or (
        f"the main greenlet: waiting for fd 0 to be readable, called at {script}:8" in err
    )


def test_dump_on_bad_signal():
    result = subprocess.run(
        [sys.executable, "-m", "monkeypatch", "--dump-on", "SIGNOPE", "x.py"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ROOT},
        timeout=60,
    )
    assert result.returncode != 0 and "unknown signal" in result.stderr
