"""The words the pages put on the library's codes and numbers: a fix's title, a share of the mail."""

from __future__ import annotations

ACTION_TITLES = {
    "add_spf_include": "Add the SPF include",
    "custom_return_path": "Set up a custom return path",
    "setup_dkim": "Set up DKIM",
    "fix_spf_record": "Fix the SPF record",
    "no_action": "No action",
    "tighten_policy": "Tighten the DMARC policy",
}


def share_text(share: float) -> str:
    """A share of the mail as people say it: "<1 %" rather than a misleading "0 %"."""
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


__all__ = ["ACTION_TITLES", "share_text"]
