"""Greenlet-local storage: :class:`local`, the greenlet counterpart of ``threading.local``.

Each greenlet (the main one included) sees its own set of attributes on a ``local`` instance.
A subclass may define ``__init__`` with arguments: it runs in the creating greenlet when the
object is made and again, with the same arguments, the first time each other greenlet touches
the object, exactly as ``threading.local`` does per thread.

How: the instance stores nothing itself. Attribute access looks the name up the way ``object``
does (data descriptors of the class first, then the instance dictionary, then the rest of the
class), only the "instance dictionary" is the one of the current greenlet. Those dictionaries
are kept per local object, keyed by ``id(greenlet)`` and dropped by a weak-reference callback
when the greenlet is freed, so neither a finished greenlet nor a dropped ``local`` leaks.
"""

from __future__ import annotations

import weakref
from functools import partial
from typing import Any

from greenlet import getcurrent

__all__ = ["local"]

_MISSING: Any = object()
_READ_ONLY_DICT = "'{}' object attribute '__dict__' is read-only"


class _LocalImpl:
    __slots__ = ("__weakref__", "args", "dicts", "kwargs")

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.args = args
        self.kwargs = kwargs
        #: id(greenlet) -> (weakref to the greenlet, its attribute dict)
        self.dicts: dict[int, tuple[weakref.ref[Any], dict[str, Any]]] = {}

    def new_dict(self, g: Any) -> dict[str, Any]:
        key = id(g)
        self_ref = weakref.ref(self)

        def forget(ref: weakref.ref[Any]) -> None:
            impl = self_ref()
            if impl is not None:
                entry = impl.dicts.get(key)
                if entry is not None and entry[0] is ref:
                    del impl.dicts[key]

        d: dict[str, Any] = {}
        self.dicts[key] = (weakref.ref(g, forget), d)
        return d


def _dict_of(obj: local) -> dict[str, Any]:
    impl: _LocalImpl = object.__getattribute__(obj, "_local__impl")
    g = getcurrent()
    entry = impl.dicts.get(id(g))
    if entry is not None and entry[0]() is g:
        return entry[1]
    d = impl.new_dict(g)
    init = type(obj).__init__
    if init is not object.__init__:
        init(obj, *impl.args, **impl.kwargs)
    return d


def _class_attr(cls: type, name: str) -> Any:
    for base in cls.__mro__:
        d = base.__dict__
        if name in d:
            return d[name]
    return _MISSING


def _is_data_descriptor(attr: Any) -> bool:
    t = type(attr)
    return hasattr(t, "__set__") or hasattr(t, "__delete__")


def _descriptor_hook(obj: local, name: str, hook: str) -> Any:
    """``obj``'s class attribute ``name`` bound to its ``__set__``/``__delete__`` (``hook``), or
    None when the class defines no such descriptor and the greenlet's own dict is the place.

    What ``__setattr__`` and ``__delattr__`` share, as ``object``'s would: ``__dict__`` itself is
    read-only, and a data descriptor of the class (a property, a slot) wins over the dict.
    """
    cls = type(obj)
    if name == "__dict__":
        raise AttributeError(f"{cls.__name__!r} object attribute '__dict__' is read-only")
    _dict_of(obj)  # the greenlet's dict exists (and __init__ ran for it) before a descriptor runs
    attr = _class_attr(cls, name)
    if attr is _MISSING:
        return None
    method = getattr(type(attr), hook, None)
    return None if method is None else partial(method, attr, obj)


class local:
    """Attributes private to each greenlet; subclass it like ``threading.local``."""

    __slots__ = ("_local__impl",)

    def __new__(cls, *args: Any, **kwargs: Any) -> local:
        if (args or kwargs) and cls.__init__ is object.__init__:
            raise TypeError("Initialization arguments are not supported")
        self = object.__new__(cls)
        impl = _LocalImpl(args, kwargs)
        object.__setattr__(self, "_local__impl", impl)
        # The creating greenlet's attributes: Python calls __init__ on them right after this.
        impl.new_dict(getcurrent())
        return self

    def __getattribute__(self, name: str) -> Any:
        d = _dict_of(self)
        if name == "__dict__":
            return d
        cls = type(self)
        attr = _class_attr(cls, name)
        if attr is not _MISSING and _is_data_descriptor(attr):
            return type(attr).__get__(attr, self, cls)
        if name in d:
            return d[name]
        if attr is not _MISSING:
            get = getattr(type(attr), "__get__", None)
            return attr if get is None else get(attr, self, cls)
        getattr_hook = _class_attr(cls, "__getattr__")
        if getattr_hook is not _MISSING:
            return getattr_hook(self, name)
        raise AttributeError(f"{cls.__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        setter = _descriptor_hook(self, name, "__set__")
        if setter is not None:
            setter(value)
        else:
            _dict_of(self)[name] = value

    def __delattr__(self, name: str) -> None:
        deleter = _descriptor_hook(self, name, "__delete__")
        if deleter is not None:
            deleter()
            return
        try:
            del _dict_of(self)[name]
        except KeyError:
            raise AttributeError(name) from None
