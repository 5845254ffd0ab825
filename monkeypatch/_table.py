"""The table of what patch_all() replaces: read it to know exactly what runs.

Each row says: with this ``patch_all()`` option, these attributes of this stdlib module are
replaced by the attributes of the same name of this cooperative module. Nothing else is touched.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["OPTIONS", "TABLE", "Patch"]


class Patch(NamedTuple):
    """One row of the table."""

    option: str  # the patch_all() keyword that enables the row
    module: str  # the stdlib module whose attributes are replaced
    source: str  # the cooperative module that provides the replacements
    names: tuple[str, ...]  # the attributes replaced (same name on both sides)


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
)

#: Every option patch_all() accepts, in the order it applies them. ``ssl`` has no rows yet: it
#: is accepted (and on by default) so code written for it keeps working when it gains some.
OPTIONS: tuple[str, ...] = ("socket", "dns", "time", "select", "ssl")
