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
        ("fork", "forkpty", "waitpid", "wait", "wait3", "wait4", "waitid"),
    ),
    Patch("signal", "signal", "hub.signal", ("signal", "getsignal")),
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
)
