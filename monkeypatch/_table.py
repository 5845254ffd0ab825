"""The table of what patch_all() replaces: read it to know exactly what runs.

Each row says: with this ``patch_all()`` option, these attributes of this stdlib module are
replaced by the attributes of the same name of this cooperative module. Nothing else is touched.

A name may be dotted, ``"Class.attribute"``: the attribute of that object in the stdlib module is
set (in place, on the stdlib's own object) to the same attribute of the cooperative module's
object of that name. The ssl row uses it so that ``ssl.SSLContext`` stays the stdlib's class:
the stdlib's SSLContext refers to itself through its module global (``super(SSLContext,
SSLContext)`` in its property setters), so replacing the global with a subclass makes those
setters recurse forever; setting ``ssl.SSLContext.sslsocket_class`` instead makes every context,
old or new, of any subclass, build cooperative sockets.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["OPTIONS", "TABLE", "Patch"]


class Patch(NamedTuple):
    """One row of the table."""

    option: str  # the patch_all() keyword that enables the row
    module: str  # the stdlib module whose attributes are replaced
    source: str  # the cooperative module that provides the replacements
    names: tuple[str, ...]  # the attributes replaced (same name on both sides; may be dotted)


TABLE: tuple[Patch, ...] = (
    Patch(
        "socket",
        "socket",
        "hub.socket",
        ("socket", "socketpair", "fromfd", "create_connection", "create_server"),
    ),
    Patch(
        "dns",
        "socket",
        "hub.socket",
        (
            "getaddrinfo",
            "gethostbyname",
            "gethostbyname_ex",
            "gethostbyaddr",
            "getnameinfo",
            "getfqdn",
        ),
    ),
    Patch("time", "time", "hub.time", ("sleep",)),
    Patch("select", "select", "hub.select", ("select", "poll", "epoll")),
    Patch(
        "select",
        "selectors",
        "hub.selectors",
        ("DefaultSelector", "SelectSelector", "PollSelector", "EpollSelector"),
    ),
    Patch("ssl", "ssl", "hub.ssl", ("SSLContext.sslsocket_class",)),
    # The blocking methods are set on the stdlib's own Popen class, which stays subprocess.Popen
    # (the stdlib's run()/call()/check_output() use it as they are); see hub/subprocess.py.
    Patch(
        "subprocess",
        "subprocess",
        "hub.subprocess",
        ("Popen.__init__", "Popen._wait", "Popen._communicate"),
    ),
    Patch(
        "os",
        "os",
        "hub.os",
        ("fork", "forkpty", "waitpid", "wait", "wait3", "wait4", "waitid", "read"),
    ),
    Patch("signal", "signal", "hub.signal", ("signal", "getsignal")),
    # Threads become greenlets (docs/threading.md). The stdlib's threading classes stay; the
    # _thread primitives they are built on are replaced, in _thread and in the globals that
    # threading copied from it at import. A name this Python lacks is skipped (hub/threading.py
    # lists which exist where).
    Patch(
        "thread",
        "_thread",
        "hub._thread",
        (
            "start_new_thread",
            "start_new",
            "start_joinable_thread",
            "allocate_lock",
            "allocate",
            "LockType",
            "lock",
            "RLock",
            "get_ident",
            "get_native_id",
            "_local",
            "_count",
            "_set_sentinel",
            "_ThreadHandle",
            "_make_thread_handle",
            "_shutdown",
            "interrupt_main",
        ),
    ),
    Patch(
        "thread",
        "threading",
        "hub.threading",
        (
            "_start_new_thread",
            "_start_joinable_thread",
            "_allocate_lock",
            "_set_sentinel",
            "_LockType",
            "_ThreadHandle",
            "_make_thread_handle",
            "_thread_shutdown",
            "_get_main_thread_ident",
            "Lock",
            "_CRLock",
            "get_ident",
            "get_native_id",
            "local",
            "Condition.wait",
            "Condition.notify",
            "Event.wait",
            "Event.set",
        ),
    ),
    Patch("thread", "_threading_local", "hub.local", ("local",)),
    # Set on ctypes' own pythonapi object: PyThreadState_SetAsyncExc reaches green threads too.
    Patch("thread", "ctypes", "hub._asyncexc", ("pythonapi.PyThreadState_SetAsyncExc",)),
    # The import lock notes its greenlet, so that a fork waits for another green thread holding
    # it (hub/_imp.py).
    Patch("thread", "_imp", "hub._imp", ("acquire_lock", "release_lock")),
    # queue.Queue, LifoQueue and PriorityQueue stay the stdlib's (they use threading's patched
    # locks); only the C SimpleQueue is replaced.
    Patch("queue", "queue", "hub.queue", ("SimpleQueue",)),
    # put() and get() set on the stdlib's own Queue: the same steps, fewer calls around them
    # (hub/_stdqueue.py).
    Patch("queue", "queue", "hub._stdqueue", ("Queue.put", "Queue.get")),
    Patch("queue", "_queue", "hub.queue", ("SimpleQueue",)),
    # multiprocessing keeps its classes: its pipe reads and writes, the selector its wait() uses
    # and its semaphore acquires wait on the hub (hub/_multiprocessing.py says how). Last, so that
    # importing multiprocessing here finds threading (its ForkAwareLocal) patched already.
    Patch(
        "subprocess",
        "multiprocessing.connection",
        "hub._multiprocessing",
        ("Connection._recv", "Connection._send", "_WaitSelector"),
    ),
    Patch(
        "subprocess",
        "multiprocessing.synchronize",
        "hub._multiprocessing",
        ("SemLock._make_methods", "SemLock.__enter__"),
    ),
)

#: Every option patch_all() accepts, in the order it applies them.
OPTIONS: tuple[str, ...] = (
    "socket",
    "dns",
    "time",
    "select",
    "ssl",
    "subprocess",
    "os",
    "signal",
    "thread",
    "queue",
)
