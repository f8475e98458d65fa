"""Why each DMARC source passes or fails, and exactly what to change.

The explaining layer of `diagnostics.dmarc`. `explain(records, resolver=...)` takes the record table
the parser (or the store) gives and returns one `Diagnosis` per (domain, sending service, category),
worst first, each with its evidence, how sure it is (`Confidence`) and `Action`s; `providers=` and
`hosts=` (the account's connections) are evidence too. `readiness` says whether the domain can
move to a stricter DMARC policy; `selectors_seen` lists the DKIM selectors a domain's reports show
passing, per provider, for `diagnostics.health` to check. DNS goes through the `resolver` passed in; no SQL, no parsing of files.

    diagnoses = explain(load_reports(["reports/"]).records, resolver=resolver)
"""

from diagnostics.dmarc.explain._actions import Action, ActionCode
from diagnostics.dmarc.explain._categories import Category
from diagnostics.dmarc.explain._diagnosis import Confidence, Diagnosis, Evidence
from diagnostics.dmarc.explain._explain import explain
from diagnostics.dmarc.explain._policy import DmarcPolicy, reported_policies
from diagnostics.dmarc.explain._readiness import NOT_LEGITIMATE, Readiness, readiness
from diagnostics.dmarc.explain._selectors import selectors_seen
from diagnostics.dmarc.explain._sources import NAMED_BY_CATALOGUE, NAMED_BY_OWNER, offline_names

__all__ = [
    "NAMED_BY_CATALOGUE",
    "NAMED_BY_OWNER",
    "NOT_LEGITIMATE",
    "Action",
    "ActionCode",
    "Category",
    "Confidence",
    "Diagnosis",
    "DmarcPolicy",
    "Evidence",
    "Readiness",
    "explain",
    "offline_names",
    "readiness",
    "reported_policies",
    "selectors_seen",
]
