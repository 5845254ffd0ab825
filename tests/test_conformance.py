"""The conformance runner's own logic: skip list, event folding, regressions, and a small run.

The end-to-end test runs a made-up test module (not CPython's suites) through the real child
process, with a hang and a crash in it, in a few seconds.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location(
    "conformance", os.path.join(ROOT, "tools", "conformance.py")
)
conformance = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(conformance)


# -- skip list ------------------------------------------------------------------------------------


def write_skips(tmp_path, skips) -> str:
    path = tmp_path / "skips.json"
    path.write_text(json.dumps({"skips": skips}))
    return str(path)


def test_skip_list_entries_are_checked(tmp_path):
    good = {"test": "test.test_x.A.test_b", "reason": "hangs unpatched", "python": ["3.12"]}
    assert conformance.load_skips(write_skips(tmp_path, [good])) == [good]
    assert conformance.load_skips(str(tmp_path / "absent.json")) == []
    bad_entries = [
        {"test": "test.test_x.A.test_b"},  # no reason
        {"test": "test.test_x.A.test_b", "reason": "  "},
        {"reason": "no test"},
        {"test": "t", "reason": "r", "pythons": ["3.12"]},  # misspelt key
        {"test": "t", "reason": "r", "runs": "gevent"},  # not a list
    ]
    for entry in bad_entries:
        with pytest.raises(conformance.SkipListError):
            conformance.load_skips(write_skips(tmp_path, [entry]))


def test_skip_list_filters_by_python_and_run():
    every = {"test": "a", "reason": "r"}
    py312 = {"test": "b", "reason": "r", "python": ["3.12"]}
    patched = {"test": "c", "reason": "r", "runs": ["greenpatch"]}
    entries = [every, py312, patched]
    assert conformance.skips_for(entries, "3.12.1", "unpatched") == [every, py312]
    assert conformance.skips_for(entries, "3.11.7", "greenpatch") == [every, patched]
    assert conformance.skips_for(entries, "3.12.1", "gevent") == [every, py312]


def test_stale_skip_entries_are_found():
    report = {
        "python": "3.12.1",
        "runs": ["unpatched", "greenpatch"],
        "modules": {
            "m": {
                "unpatched": {"results": results(**{"m.A.test_1": "listed", "m.A.test_2": "pass"})},
                "greenpatch": {"results": results(**{"m.A.test_1": "listed"})},
            }
        },
    }
    entries = [
        {"test": "m.A.test_1", "reason": "r"},
        {"test": "m.B.*", "reason": "r"},  # stale
        {"test": "m.C.test_3", "reason": "r", "python": ["3.11"]},  # not for this Python
    ]
    assert conformance.stale_skips(entries, report) == ["m.B.*"]


# -- events ---------------------------------------------------------------------------------------


def test_events_fold_into_results_and_the_test_that_was_running(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = [
        {"event": "hello", "pid": 7, "t": 1.0, "replaced": {"time.sleep": "time"}},
        {"event": "start", "pid": 7, "t": 1.1, "test": "m.A.test_1"},
        {"event": "result", "pid": 7, "t": 1.2, "test": "m.A.test_1", "status": "pass"},
        # A forked process that wandered into unittest: not the child's own results.
        {"event": "result", "pid": 8, "t": 1.3, "test": "m.A.test_1", "status": "fail"},
        {"event": "result", "pid": 7, "t": 1.4, "test": "setUpClass (m.B)", "status": "error"},
        {"event": "start", "pid": 7, "t": 1.5, "test": "m.C.test_2"},
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in lines) + '{"event": "res')
    state = conformance.fold_events(conformance.read_events(str(path), 7))
    assert state["results"] == {
        "m.A.test_1": {"status": "pass", "detail": ""},
        "setUpClass (m.B)": {"status": "error", "detail": ""},
    }
    assert state["running"] == "m.C.test_2"
    assert not state["finished"]
    assert state["replaced"] == {"time.sleep": "time"}
    assert state["last_event"] == 1.5


def test_how_a_child_died():
    assert conformance.death_status(-signal.SIGSEGV, False, 0.1, 60)[0] == "crash"
    assert "SIGSEGV" in conformance.death_status(-signal.SIGSEGV, False, 0.1, 60)[1]
    assert conformance.death_status(1, False, 59.5, 60)[0] == "hang"  # faulthandler's watchdog
    assert conformance.death_status(1, False, 2.0, 60)[0] == "crash"  # exited on its own
    assert conformance.death_status(None, True, 200.0, 60)[0] == "hang"


# -- regressions ----------------------------------------------------------------------------------


def results(**statuses: str) -> dict:
    return {name: {"status": status, "detail": ""} for name, status in statuses.items()}


def test_regressions_are_passes_lost_and_new_hangs():
    baseline = results(
        ok="pass",
        broken="pass",
        gone="pass",
        skipped="pass",
        xf="xfail",
        fails_anyway="fail",
        stuck_anyway="hang",
        listed="pass",
    )
    patched = results(
        ok="pass",
        broken="error",
        skipped="skip",
        xf="pass",
        fails_anyway="hang",
        stuck_anyway="hang",
        listed="listed",
        new_crash="crash",
    )
    found = {
        name: after for name, _before, after, _detail in conformance.regressions(baseline, patched)
    }
    assert found == {
        "broken": "error",
        "gone": "not run",
        "skipped": "skip",
        "fails_anyway": "hang",
        "new_crash": "crash",
    }


def test_counts():
    counted = conformance.count(
        results(a="pass", b="xfail", c="fail", d="xpass", e="hang", f="listed")
    )
    assert counted == {
        "passed": 2,
        "failed": 2,
        "errors": 0,
        "skipped": 0,
        "hung": 1,
        "listed": 1,
    }


# -- a whole run, on a made-up module --------------------------------------------------------------

FAKE_MODULE = """
import os
import sys
import time
import unittest


class Plain(unittest.TestCase):
    def test_pass(self):
        pass

    def test_fail(self):
        self.assertEqual(1, 2)

    def test_error(self):
        raise OSError("boom")

    @unittest.skip("not here")
    def test_skip(self):
        pass

    @unittest.expectedFailure
    def test_xfail(self):
        self.fail()

    def test_subtests(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertLess(i, 2)

    def test_listed(self):
        raise AssertionError("the skip list keeps this from running")

    def test_patched(self):
        # Stands for a test that the patch breaks: monkeypatch is imported only when patched.
        self.assertNotIn("monkeypatch", sys.modules)

    def test_flaky(self):
        # Fails the first time it runs patched only, as a timing-sensitive test might.
        marker = os.path.join(os.environ["FAKE_MARKERS"], "flaky")
        if "monkeypatch" in sys.modules and not os.path.exists(marker):
            open(marker, "w").close()
            self.fail("first time")


class Stuck(unittest.TestCase):
    def test_1_hang(self):
        time.sleep(60)

    def test_2_crash(self):
        os.abort()

    def test_3_after(self):
        pass


class BrokenFixture(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise RuntimeError("fixture")

    def test_never_runs(self):
        pass
"""


def test_a_run_counts_hangs_crashes_and_regressions(tmp_path, monkeypatch, capsys):
    package = tmp_path / "conffake"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "test_fake.py").write_text(textwrap.dedent(FAKE_MODULE))
    skips = write_skips(tmp_path, [{"test": "*.test_listed", "reason": "shows the list works"}])
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("FAKE_MARKERS", str(tmp_path))
    out_json = tmp_path / "report.json"
    argv = [
        "--python",
        sys.executable,
        "--modules",
        "conffake.test_fake",
        "--timeout",
        "3",
        "--skips",
        skips,
        "--log-dir",
        str(tmp_path / "logs"),
        "--json",
        str(out_json),
    ]
    assert conformance.main(argv) == 1  # test_patched regressed under greenpatch
    report = json.loads(out_json.read_text())
    unpatched = report["modules"]["conffake.test_fake"]["unpatched"]
    statuses = {k.rsplit(".", 1)[-1]: v["status"] for k, v in unpatched["results"].items()}
    assert statuses == {
        "test_pass": "pass",
        "test_fail": "fail",
        "test_error": "error",
        "test_skip": "skip",
        "test_xfail": "xfail",
        "test_subtests": "fail",
        "test_listed": "listed",
        "test_patched": "pass",
        "test_flaky": "pass",
        "test_1_hang": "hang",
        "test_2_crash": "crash",
        "test_3_after": "pass",
        "BrokenFixture)": "error",  # "setUpClass (conffake.test_fake.BrokenFixture)"
    }
    assert unpatched["attempts"] == 3
    assert unpatched["counts"] == {
        "passed": 5,
        "failed": 2,
        "errors": 2,
        "skipped": 1,
        "hung": 2,
        "listed": 1,
    }
    found = report["regressions"]["conffake.test_fake"]
    assert [(t.rsplit(".", 1)[-1], after) for t, _b, after, _d in found] == [
        ("test_patched", "fail")
    ]
    flaky = report["flaky"]["conffake.test_fake"]
    assert [(t.rsplit(".", 1)[-1], after) for t, _b, after, _d in flaky] == [("test_flaky", "fail")]
    printed = capsys.readouterr().out
    assert "Plain.test_patched: fail: AssertionError" in printed
    assert "greenpatch: patch_all() replaced" in printed  # what it replaced, or "none of"
    # --report-only keeps the report and drops the failing status.
    assert conformance.main([*argv, "--report-only", "--match", "*test_patched"]) == 0


def test_a_relative_python_path_is_made_absolute(tmp_path, monkeypatch):
    # The children run in a scratch directory, where a relative path finds nothing (the
    # documented `--python .tox/py312/bin/python` used to fail that way).
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bin").mkdir()
    args = conformance.parse_args(["--python", os.path.join("bin", "python")])
    assert args.python == str(tmp_path / "bin" / "python")
    assert conformance.parse_args(["--python", "python3"]).python == "python3"  # a PATH name
