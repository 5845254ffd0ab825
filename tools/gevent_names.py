"""Record gevent's public names (each module's ``__all__``) in tests/gevent_names.json.

Run it with an interpreter that has gevent, once per gevent release we compare against:

    .venv-bench/bin/python tools/gevent_names.py     (``make .venv-bench/.installed-stamp``)

The test suite never imports gevent: tests/test_gevent_names.py reads this file, and
docs/migrating-from-gevent.md says where each name lives in greenpatch (or why it does not).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import warnings

# The modules whose names users import. Cooperative stdlib modules (socket, ssl, ...) re-export
# the stdlib's names, which greenpatch's counterparts re-export the same way.
MODULES = (
    "gevent",
    "gevent.baseserver",
    "gevent.event",
    "gevent.fileobject",
    "gevent.greenlet",
    "gevent.hub",
    "gevent.local",
    "gevent.lock",
    "gevent.monkey",
    "gevent.os",
    "gevent.pool",
    "gevent.pywsgi",
    "gevent.queue",
    "gevent.select",
    "gevent.selectors",
    "gevent.server",
    "gevent.signal",
    "gevent.socket",
    "gevent.ssl",
    "gevent.subprocess",
    "gevent.thread",
    "gevent.threading",
    "gevent.threadpool",
    "gevent.time",
    "gevent.timeout",
    "gevent.util",
)

# Cooperative stdlib modules: which of their names are the stdlib's own is recorded too, so the
# test can tell a name a Python version lacks from a name only gevent adds (wait_read, nb_read).
STDLIB = {
    "gevent.os": "os",
    "gevent.select": "select",
    "gevent.selectors": "selectors",
    "gevent.signal": "signal",
    "gevent.socket": "socket",
    "gevent.ssl": "ssl",
    "gevent.subprocess": "subprocess",
    "gevent.thread": "_thread",
    "gevent.time": "time",
}

OUT = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "gevent_names.json"
)


def main() -> None:
    import gevent

    modules = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in MODULES:
            module = importlib.import_module(name)
            modules[name] = sorted(set(getattr(module, "__all__", ())))
    stdlib = {}
    for name, std in STDLIB.items():
        std_module = importlib.import_module(std)
        stdlib[name] = [n for n in modules[name] if hasattr(std_module, n)]
    data = {
        "gevent_version": gevent.__version__,
        "stdlib_modules": STDLIB,
        "stdlib_names": stdlib,
        "python": "{}.{}".format(*sys.version_info[:2]),
        "generated_by": "tools/gevent_names.py",
        "modules": modules,
    }
    with open(OUT, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{OUT}: gevent {gevent.__version__}, {sum(map(len, modules.values()))} names")


if __name__ == "__main__":
    main()
