"""The words the pages put on numbers: a share of the mail. (Codes have their own plain labels in
the library: `Category.label`, `ActionCode.label`, `Finding.title`.)"""

from __future__ import annotations


def share_text(share: float) -> str:
    """A share of the mail as people say it: "<1 %" rather than a misleading "0 %"."""
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


__all__ = ["share_text"]
