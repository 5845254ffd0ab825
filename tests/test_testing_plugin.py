"""hub.testing as a pytest plugin, run on small test files through pytest's own pytester."""

from __future__ import annotations

pytest_plugins = ["pytester"]


def run(pytester, source: str, *args: str):
    pytester.makepyfile(source)
    return pytester.runpytest_inprocess("-p", "hub.testing", "-p", "no:cacheprovider", *args)


def test_leak_check_fails_a_test_that_leaves_a_greenlet(pytester):
    result = run(
        pytester,
        """
        import hub

        def test_leaves_a_sleeper():
            g = hub.spawn(hub.sleep, 3600)
            g.name = "sleeper"
            hub.sleep(0)

        def test_leaves_a_waiter():
            g = hub.spawn(hub.Event().wait)
            g.name = "waiter"
            hub.sleep(0)

        def test_leaves_a_late_start():
            g = hub.spawn_later(5, print, "never")
            g.name = "late"

        def test_clean():
            hub.spawn(hub.sleep, 0.01).join()
            hub.spawn(hub.sleep, 3600).kill(block=False)  # finishes in the grace turns
        """,
    )
    result.assert_outcomes(passed=4, errors=3)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaves_a_sleeper*",
            "greenpatch: the test left work behind on its hub:",
            '  greenlet "sleeper" sleeping 3600 s (a timer)*',
            "*ERROR at teardown of test_leaves_a_waiter*",
            '  greenlet "waiter" waiting in Event.wait() on <Event*',
            "*ERROR at teardown of test_leaves_a_late_start*",
            '  greenlet "late" scheduled to start in *s (spawn_later, a timer): *',
        ]
    )


def test_leak_check_names_an_open_socket_and_a_timer(pytester):
    result = run(
        pytester,
        """
        import hub, hub.socket

        kept = []

        def test_open_socket():
            a, b = hub.socket.socketpair()
            kept.append((a, b))
            a.settimeout(0.01)
            try:
                a.recv(1)  # registers a with the hub
            except TimeoutError:
                pass

        def test_pending_callback():
            def later():
                pass
            hub.get_hub().call_later(60, later)

        def test_cleanup():
            for a, b in kept:
                a.close()
                b.close()
        """,
    )
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*fd * registered with the hub, still open: <hub.socket.socket*",
            "*timer due in *s runs 'test_pending_callback.<locals>.later'*",
        ]
    )


def test_allow_leaks_marker_and_ini_option(pytester):
    source = """
        import hub, pytest

        @pytest.mark.greenpatch_allow_leaks
        def test_marked():
            hub.spawn(hub.sleep, 3600)
            hub.sleep(0)

        def test_unmarked():
            hub.spawn(hub.sleep, 3600)
            hub.sleep(0)
        """
    run(pytester, source).assert_outcomes(passed=2, errors=1)
    pytester.makeini("[pytest]\ngreenpatch_check_leaks = false\n")
    run(pytester, source).assert_outcomes(passed=2)


def test_fresh_hub_per_test_and_clock_fixture(pytester):
    result = run(
        pytester,
        """
        import hub

        hubs = []

        def test_one(greenpatch_hub):
            assert hub.get_hub() is greenpatch_hub
            hubs.append(greenpatch_hub)

        def test_two(greenpatch_hub):
            assert greenpatch_hub is not hubs[0]

        def test_clock(clock):
            hub.sleep(3600)
            assert clock() == 3600
            with hub.Timeout(5, False):
                hub.Event().wait()
            assert clock() == 3605

        def test_virtual_clock(virtual_clock):
            hub.sleep(10)
            assert virtual_clock() == 10
        """,
    )
    result.assert_outcomes(passed=4)


def test_leak_check_names_a_raw_greenlet_and_ignores_other_hubs(pytester):
    result = run(
        pytester,
        """
        import greenlet, hub

        # At import, on the hub the tests' own hubs replace and then restore: it is running
        # (suspended in its loop) during every test, and none of them left it behind.
        hub.spawn(hub.sleep, 0).join()

        kept = []

        def park():
            # A raw greenlet whose parent is this Greenlet, so on the test's hub: it switches
            # straight back and is never resumed.
            kept.append(greenlet.greenlet(greenlet.getcurrent().switch))
            kept[-1].switch()

        def test_leaves_a_raw_greenlet():
            hub.spawn(park).join()

        def test_another_hub_of_the_thread_is_not_a_leak():
            hub.sleep(0)
        """,
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["  <greenlet.greenlet object at * suspended active started> *"])


def test_a_greenlet_left_behind_never_runs_in_the_next_test(pytester):
    result = run(
        pytester,
        """
        import hub, pytest

        ran = []

        def late():
            hub.sleep(0.01)
            ran.append("late")

        @pytest.mark.greenpatch_allow_leaks
        def test_leaves_one():
            hub.spawn(late)
            hub.sleep(0)  # started: now sleeping on this test's hub

        def test_next(clock):
            hub.sleep(60)
            assert ran == []

        def test_next_real_time():
            hub.sleep(0.05)
            assert ran == []
        """,
    )
    result.assert_outcomes(passed=3)


def test_clock_fixture_jumps_only_when_nothing_can_run(pytester):
    # Autojump: virtual time moves to the next timer only once every greenlet waits; IO that is
    # ready, and greenlets that are, run first, at the time they were due.
    result = run(
        pytester,
        """
        import hub, hub.socket

        def test_io_before_a_timeout(clock):
            a, b = hub.socket.socketpair()
            with a, b:
                a.settimeout(5)
                hub.spawn_later(1, b.sendall, b"x")
                assert a.recv(1) == b"x"
                assert clock() == 1

        def test_busy_greenlets_hold_the_clock(clock):
            turns = []

            def busy():
                for _ in range(100):
                    turns.append(clock())
                    hub.sleep(0)

            g = hub.spawn(busy)
            hub.sleep(0.5)
            assert len(turns) == 100 and set(turns) == {0}
            assert clock() == 0.5
            g.join()

        def test_timers_in_order(clock):
            order = []
            for d in (3, 1, 2):
                hub.spawn_later(d, order.append, d)
            hub.sleep(10)
            assert order == [1, 2, 3] and clock() == 10
        """,
    )
    result.assert_outcomes(passed=3)


def test_loop_exit_report(pytester):
    result = run(
        pytester,
        """
        import hub

        def test_deadlock():
            g = hub.spawn(hub.Event().wait)
            g.name = "stuck"
            g.join()
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*LoopExit*",
            "*greenpatch run info at LoopExit*",
            '*greenlet "stuck": waiting in Event.wait()*',
        ]
    )


def test_blocking_report(pytester):
    pytester.makeini("[pytest]\ngreenpatch_max_blocking_time = 0.05\n")
    result = run(
        pytester,
        """
        import hub
        from hub._core import real_sleep

        def stuck():
            real_sleep(0.5)

        def test_blocks():
            hub.spawn(stuck).join()
            assert False, "show the sections"

        def test_cooperative():
            hub.sleep(0.01)
        """,
        "-rA",
    )
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*greenpatch monitor*", "*blocks in stuck() at*"])
