"""hub.local: per-greenlet attributes, subclasses with __init__ arguments, descriptors, cleanup."""

from __future__ import annotations

import gc
import threading

import pytest

import hub
from hub import local


def test_attributes_are_per_greenlet():
    loc = local()
    loc.x = "main"
    seen = []

    def other(name):
        seen.append(hasattr(loc, "x"))
        loc.x = name
        hub.sleep(0)
        seen.append(loc.x)

    hub.joinall([hub.spawn(other, "a"), hub.spawn(other, "b")])
    assert seen == [False, False, "a", "b"]
    assert loc.x == "main"
    assert loc.__dict__ == {"x": "main"}


def test_delete_and_missing_attribute():
    loc = local()
    loc.y = 1
    del loc.y
    with pytest.raises(AttributeError):
        _ = loc.y
    with pytest.raises(AttributeError):
        del loc.y
    with pytest.raises(AttributeError):
        loc.__dict__ = {}
    with pytest.raises(AttributeError):
        del loc.__dict__


def test_init_arguments_need_a_subclass():
    with pytest.raises(TypeError):
        local(1)


class Counter(local):
    instances = 0

    def __init__(self, start, step=1):
        Counter.instances += 1
        self.value = start
        self.step = step

    def bump(self):
        self.value += self.step
        return self.value

    @property
    def doubled(self):
        return self.value * 2

    @doubled.setter
    def doubled(self, v):
        self.value = v // 2


def test_subclass_init_runs_once_per_greenlet():
    Counter.instances = 0
    c = Counter(10, step=5)
    assert Counter.instances == 1
    assert c.bump() == 15
    results = hub.spawn(lambda: (c.value, c.bump(), c.bump())).get()
    assert results == (10, 15, 20)
    assert Counter.instances == 2
    assert c.value == 15  # main greenlet's copy untouched


def test_subclass_descriptors_and_class_attributes():
    c = Counter(3)
    assert c.doubled == 6
    c.doubled = 40
    assert c.value == 20
    assert c.instances >= 1  # class attribute through the instance
    assert hub.spawn(lambda: c.doubled).get() == 6


class WithGetattr(local):
    def __getattr__(self, name):
        return f"default-{name}"


def test_getattr_fallback():
    w = WithGetattr()
    w.real = 1
    assert w.real == 1 and w.missing == "default-missing"


def test_dicts_of_finished_greenlets_are_dropped():
    loc = local()

    def use():
        loc.big = list(range(10))

    gs = [hub.spawn(use) for _ in range(50)]
    hub.joinall(gs)
    impl = object.__getattribute__(loc, "_local__impl")
    del gs
    gc.collect()
    assert len(impl.dicts) <= 1  # at most the main greenlet's


def test_per_thread_too():
    loc = local()
    loc.x = "main"
    seen = []

    def thread_main():
        seen.append(getattr(loc, "x", None))
        loc.x = "thread"
        seen.append(loc.x)

    t = threading.Thread(target=thread_main)
    t.start()
    t.join()
    assert seen == [None, "thread"] and loc.x == "main"
