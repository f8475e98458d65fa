"""Domain health at a glance: SPF, DKIM, DMARC, MX, MTA-STS, TLS reporting, BIMI, the MX hosts' TLS
and DNSSEC of a sending domain, for the providers it uses.

    check_domain(domain, *, providers=None, selectors=None, platform="trekmail", resolver=None,
                 hosts=(), tls_reports=None, network=None) -> DomainHealth
    await check_domain_async(...) -> DomainHealth

Each part gets one status (ok / warning / error) and findings in plain words, each with the exact
change to make (the record to publish). The parts:

- SPF: the analysis of the domain's record, and for each provider (and the platform) whether it is
  authorized where its mail is SPF-checked, as the catalogue's `spf_at_from_domain` says: a
  provider whose envelope sender is the From domain (Mailgun, the mailbox providers, the platform)
  must be in its record (an error when missing); one whose mail is checked on its own domain or a
  return path, but whose or the platform's guidance asks for the include (SendGrid), is a warning
  that says why it is not a DMARC failure; one that says never (SES, Postmark) is not asked for:
  its custom return path (MAIL FROM) is what aligns SPF, given as exact records (the region from
  the account's SMTP `hosts`). Resend's include goes on its return-path subdomain. The record to
  publish comes from `diagnostics.spf.recommend`.
- DKIM: the platform's selector (`PLATFORM_SELECTOR`, the key TrekMail signs with), each
  provider's fixed selectors from the catalogue, and the selectors given in `selectors` (those
  seen signing in the domain's DMARC reports, `diagnostics.dmarc.selectors_seen`, key "" for a
  sender no provider names); selectors a provider makes up per customer (SES tokens, Postmark's
  NNNNpm) can only be checked when given. The part is an error only when no key a receiver could
  verify with is published: one working key is enough for DKIM (and DMARC) to pass, so a missing
  second key is a warning.
- DMARC: `diagnostics.dmarc.record.check_dmarc`.
- MX: the domain receives mail (replies, bounces; some receivers distrust From domains that
  cannot), and every exchange has an address.
- MTA-STS (`_mta_sts.py`): the `_mta-sts` record; with the network checks, the policy over HTTPS
  (verified certificate, 64 KiB, no redirect), its mode and max_age, every MX covered by an mx:
  line, and, given the TLS reports' summary, whether a testing policy could be enforced.
- TLS reporting (`_tls_rpt.py`): the `_smtp._tls` record, its rua= destinations, and, given the
  summary, whether reports arrive and what failures they show.
- BIMI (`_bimi.py`): the `default._bimi` record, the DMARC policy it needs (quarantine or reject at
  pct=100), a= present or not; with the network checks, the logo against SVG Tiny PS (`_svg.py`).
- MX TLS (`_mx_tls.py`), only with the network checks: STARTTLS on port 25 of every MX through the
  desk's SMTP probe: the certificate's chain, name and expiry, the TLS version, and whether a
  sender applying the MTA-STS policy would deliver. Without them the part is not `checked`.
- DNSSEC (`_dnssec.py`): DS and DNSKEY, the resolver's AD bit, and which MX hosts publish TLSA
  records (DANE); information, never an error.

A finding that gives a file to publish (an MTA-STS policy) ends with it, on the lines after the
message's first, so a page can show it as a block to copy and the CLI keeps its lines.
Missing MTA-STS, TLS reporting and BIMI are information (each with the records to publish): they
protect or decorate mail to and from the domain, and their absence fails no message.

The DNS part of the check is one DNS flow (diagnostics/_flow.py) made of the flows of its parts, each of which is
also a check of its own (`spf.analyze`, `spf.recommend`, `dkim.check_selector`, `check_dmarc`):
the async driver runs the parts, and the look-ups within a part that do not depend on each other,
concurrently. `check_domain` runs that same async check through the library's sync bridge
(diagnostics/_sync.py), so it keeps the concurrency, also from inside a running event loop (a
notebook). The network checks (`NetworkChecks`, opt-in) run after the flow, all at once, each
under its own time limit; the library never reads the report store (the caller passes the TLS
reports' summary).
"""

from __future__ import annotations

from diagnostics.health._check import NetworkChecks, check_domain, check_domain_async
from diagnostics.health._check import _health as _health
from diagnostics.health._records import PLATFORM_SELECTOR
from diagnostics.health._result import DomainHealth, Part
from diagnostics.health._tls_rpt import TlsReportSummary
from diagnostics.providers import PLATFORM
from diagnostics.verdict import Verdict

__all__ = [
    "PLATFORM",
    "PLATFORM_SELECTOR",
    "DomainHealth",
    "NetworkChecks",
    "Part",
    "TlsReportSummary",
    "Verdict",
    "check_domain",
    "check_domain_async",
]
