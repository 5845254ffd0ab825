"""Make the blocking standard library cooperative: ``import monkeypatch; monkeypatch.patch_all()``.

Placeholder until the cooperative socket layer lands: ``patch_all()`` is importable and patches
nothing yet.
"""

from __future__ import annotations

__all__ = ["patch_all"]


def patch_all(**options: bool) -> None:
    """Replace blocking stdlib functions with cooperative ones (nothing yet)."""
