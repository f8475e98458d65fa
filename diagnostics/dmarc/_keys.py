"""What the parse, explain and store layers of `diagnostics.dmarc` share: the verdict columns.

`KEYS` are the columns of a report record that a diagnosis rests on; records equal in all of them
are one combination. `explain` reduces records to them (explain/_combos.py), the store sums its
rollup over them and reads verdicts back grouped by them (store/), so both import them from here
and the store never imports the explainer.

`dkim_selectors` is among them because the selector tells who signed: Microsoft 365's selector1
or Google's google on a signature for the customer's domain means the customer sends through that
provider, where the platform's selector relayed by a mailbox provider means a forward.
"""

from __future__ import annotations

__all__ = ["KEYS"]

KEYS = (
    "policy_domain",
    "header_from",
    "source_ip",
    "spf_domain",
    "envelope_from",
    "spf_result",
    "spf_aligned",
    "dkim_aligned",
    "dkim_domains",
    "dkim_selectors",
    "dkim_results",
    "override_reasons",
    "disposition",
)
