"""Cooperative name resolution: the stdlib resolver functions, run in the hub's thread pool.

The C resolver blocks its thread for as long as DNS takes (seconds, when a server is down), so
every lookup that may leave the process runs in a worker thread of ``get_hub().threadpool``; the
calling greenlet waits, the hub goes on. Lookups that need no resolver (numeric addresses, numeric
ports, ``None``) run inline: a thread round trip would cost more than the lookup.

Results, exceptions (``socket.gaierror``, ``socket.herror``) and argument errors are exactly the
stdlib's, because the stdlib function does the work.
"""

from __future__ import annotations

import _socket
import socket as _stdlib_socket
from typing import Any

from ._core import get_hub

# No __all__: hub.socket exports these functions under the stdlib's names (and lists them).

# socket.getaddrinfo, captured before any patching: patch_all() replaces the socket module's
# attribute, never this reference. (It wraps _socket's to return the stdlib's enums.) The other
# resolvers are _socket's own C functions, looked up there at call time: patch_all() patches
# the socket module's names, never the _socket module's.
_getaddrinfo = _stdlib_socket.getaddrinfo
_AF_INET = _socket.AF_INET
_NUMERIC_NAMEINFO = _socket.NI_NUMERICHOST | _socket.NI_NUMERICSERV


def is_numeric_host(host: Any) -> bool:
    """True for None and IPv4/IPv6 literals: names the resolver never has to look up."""
    if not isinstance(host, str):  # a str first: every connect() asks
        if host is None:
            return True
        if not isinstance(host, bytes):
            return False
        try:
            host = host.decode("ascii")
        except UnicodeDecodeError:
            return False
    if not host:
        return False
    try:
        _socket.inet_pton(_AF_INET, host)
        return True
    except (OSError, ValueError):
        pass
    try:
        _socket.inet_pton(_socket.AF_INET6, host.split("%", 1)[0])
        return True
    except (OSError, ValueError):
        return False


def _numeric_port(port: Any) -> bool:
    return (
        port is None or isinstance(port, int) or (isinstance(port, (str, bytes)) and port.isdigit())
    )


def _in_thread(fn: Any, *args: Any) -> Any:
    return get_hub().threadpool.apply(fn, args)


def getaddrinfo(
    host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> list[tuple[Any, Any, int, str, Any]]:
    """Cooperative :func:`socket.getaddrinfo`."""
    if is_numeric_host(host) and (isinstance(port, int) or _numeric_port(port)):
        return _getaddrinfo(host, port, family, type, proto, flags)
    return _in_thread(_getaddrinfo, host, port, family, type, proto, flags)


def gethostbyname(hostname: str) -> str:
    """Cooperative :func:`socket.gethostbyname`."""
    if is_numeric_host(hostname) and hostname is not None:
        return _socket.gethostbyname(hostname)
    return _in_thread(_socket.gethostbyname, hostname)


def gethostbyname_ex(hostname: str) -> tuple[str, list[str], list[str]]:
    """Cooperative :func:`socket.gethostbyname_ex`."""
    return _in_thread(_socket.gethostbyname_ex, hostname)


def gethostbyaddr(ip_address: str) -> tuple[str, list[str], list[str]]:
    """Cooperative :func:`socket.gethostbyaddr`."""
    return _in_thread(_socket.gethostbyaddr, ip_address)


def getnameinfo(sockaddr: tuple[Any, ...], flags: int) -> tuple[str, str]:
    """Cooperative :func:`socket.getnameinfo`."""
    if not isinstance(sockaddr, tuple):
        # The stdlib's error, raised here rather than in a worker thread. The traceback keeps
        # this frame alive: drop the caller's object from it first, as the C function holds no
        # reference once it has failed.
        del sockaddr
        raise TypeError("getnameinfo() argument 1 must be a tuple")
    if isinstance(flags, int) and flags & _NUMERIC_NAMEINFO == _NUMERIC_NAMEINFO:
        return _socket.getnameinfo(sockaddr, flags)
    return _in_thread(_socket.getnameinfo, sockaddr, flags)


def getfqdn(name: str = "") -> str:
    """Cooperative :func:`socket.getfqdn`: the first dotted name among the host's names."""
    name = name.strip()
    if not name or name in ("0.0.0.0", "::"):
        name = _socket.gethostname()
    try:
        hostname, aliases, _ = gethostbyaddr(name)
    except OSError:
        return name
    for candidate in [hostname, *aliases]:
        if "." in candidate:
            return candidate
    return hostname
