"""The fixes for each diagnosis, from DNS asked once per call: which actions a category gets.

`Advisor.actions(draft)` picks the actions for one (domain, source, category) group and builds them
with `actions`; SPF recommendations and analyses are cached per domain for the call, so twenty
sources missing includes on one domain cost one `spf.recommend`. All providers missing on one
envelope domain go into one recommended record: publishing one per source would undo the others.
The set-up records are filled from what is known: the region from the account's SMTP host (or the
envelope domain SES reported), the DKIM selectors the provider's addresses signed with for the
domain, and the CNAMEs DNS already holds for them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from diagnostics import providers as catalogue
from diagnostics.dmarc.explain import _actions as fixes
from diagnostics.dmarc.explain._actions import Action
from diagnostics.dmarc.explain._categories import Category
from diagnostics.dmarc.explain._combos import Combination
from diagnostics.dmarc.explain._setup import SendingSetup
from diagnostics.dmarc.explain._sources import SourceId
from diagnostics.dns import Resolver, Status
from diagnostics.findings import Severity
from diagnostics.providers import Provider
from diagnostics.spf.analyze import analyze
from diagnostics.spf.recommend import SpfRecommendation, recommend

__all__ = ["NOTHING", "Advisor", "Draft", "Group"]


@dataclass
class Group:
    """The combinations (`Combination`s) of one diagnosis."""

    rows: list[Combination] = field(default_factory=list)

    def messages(self) -> int:
        return sum(r.messages for r in self.rows)

    def count(self, key: Callable[[Combination], str]) -> Counter[str]:
        counter: Counter[str] = Counter()
        for row in self.rows:
            counter[key(row)] += row.messages
        return counter


class Advisor:
    """The DNS-backed fixes, each asked once per call: recommendations and analyses per domain."""

    def __init__(
        self,
        resolver: Resolver,
        platform: str,
        setup: SendingSetup | None = None,
        selectors: dict[tuple[str, str], list[str]] | None = None,
    ) -> None:
        self.resolver = resolver
        self.platform = platform
        self.setup = setup or SendingSetup()
        # (domain, provider key) -> DKIM selectors its addresses signed with for the domain.
        self.selectors = selectors or {}
        self.missing: dict[str, list[str]] = {}  # envelope domain -> providers whose include lacks
        self.in_use: dict[str, list[str]] = {}  # policy domain -> providers seen sending for it
        self._recs: dict[tuple[str, tuple[str, ...]], SpfRecommendation] = {}

    def recommendation(
        self, domain: str, keys: list[str], *, from_domain: str
    ) -> SpfRecommendation:
        # The platform's include belongs on the From domain (the platform sends as it), not on a
        # return-path subdomain that only one provider bounces to; so do the includes of the
        # providers the account is configured with (recommend leaves out those that never go
        # there): the record is then the one every other surface recommends for this account.
        own = [self.platform, *(k for k, _ in self.setup.hosts)] if domain == from_domain else []
        wanted = tuple(dict.fromkeys([*own, *keys]))
        if (domain, wanted) not in self._recs:
            self._recs[(domain, wanted)] = recommend(
                domain,
                wanted,
                resolver=self.resolver,
                platform=self.platform,
                return_path=domain != from_domain,
            )
        return self._recs[(domain, wanted)]

    def actions(self, d: Draft) -> list[Action]:
        provider = catalogue.get(d.provider) if d.provider else None
        category = d.category
        out: list[Action] = []
        if category is Category.SPF_INCLUDE_MISSING and provider is not None:
            keys = self.missing.get(d.envelope, [provider.key])
            rec = self.recommendation(d.envelope, keys, from_domain=d.domain)
            if rec.record is None:
                # Nothing was added to a record that could not be read: name every provider
                # missing there, and its include, for the customer to add by hand.
                wanted = [catalogue.get(k) for k in keys]
                names = [p.name for p in wanted]
                includes = tuple(p.spf_include for p in wanted if p.spf_include)
                out.append(fixes.add_spf_include(rec, names, includes))
            else:
                names = [catalogue.get(k).name for k in rec.added] or [provider.name]
                out.append(fixes.add_spf_include(rec, names))
            if not d.dkim_pass:
                out.append(self._setup_dkim(provider, d.domain))
        elif category is Category.SPF_BROKEN:
            out.append(self._spf_broken(d))
        elif category in (Category.SPF_NOT_ALIGNED, Category.DKIM_NOT_ALIGNED):
            if provider is not None:
                out.append(self._setup_dkim(provider, d.domain))
                path = fixes.custom_return_path(provider, d.domain, self._region(provider, d))
                if path is not None:
                    out.insert(0 if category is Category.SPF_NOT_ALIGNED else 1, path)
        elif category is Category.DKIM_MISSING:
            if provider is not None:
                out.append(self._setup_dkim(provider, d.domain))
        elif category is Category.DKIM_ONLY and provider is not None:
            path = fixes.custom_return_path(provider, d.domain, self._region(provider, d))
            if path is not None:
                out.append(path)
        elif category is Category.SPF_ONLY and provider is not None:
            out.append(self._setup_dkim(provider, d.domain))
        if not out:
            out.append(fixes.no_action(_no_action_message(d)))
        return out

    def _region(self, provider: Provider, d: Draft) -> str | None:
        """The provider's region for this account: its SMTP host's, else the one its default
        envelope domain shows in the reports (SES's eu-west-1.amazonses.com)."""
        return self.setup.region(provider.key) or _region(d.envelope)

    def _setup_dkim(self, provider: Provider, domain: str) -> Action:
        """`setup_dkim` with the selectors the provider signed with for `domain` in the reports
        and, for keys it hosts, the CNAMEs DNS already holds for them."""
        seen = self.selectors.get((domain, provider.key), [])
        cnames: dict[str, str] = {}
        if provider.dkim.record_type == "CNAME":
            literal = [s for s in provider.dkim.selectors if _LITERAL.fullmatch(s)]
            for selector in dict.fromkeys([*seen, *literal]):
                answer = self.resolver.query(f"{selector}._domainkey.{domain}", "CNAME")
                if answer.status is Status.OK and answer.records:
                    cnames[selector] = answer.records[0]
        return fixes.setup_dkim(provider, domain, seen, cnames)

    def _spf_broken(self, d: Draft) -> Action:
        analysis = analyze(d.envelope, resolver=self.resolver)
        errors = [f for f in analysis.findings if f.severity is Severity.ERROR]
        if not errors:
            return fixes.no_action(
                f"{d.envelope}'s SPF record reads without errors today: the receivers' "
                f"'{d.spf_result}' was most likely a temporary DNS failure on their side, or the "
                "record has been fixed since. Watch the next reports."
            )
        keys = [k for k in self.in_use.get(d.domain, []) if k != self.platform]
        readable = analysis.record is not None or analysis.has("multiple_records")
        rec = self.recommendation(d.envelope, keys, from_domain=d.domain) if readable else None
        return fixes.fix_spf_record(analysis, rec)


_LITERAL = re.compile(r"[a-z0-9-]+")


def _region(envelope: str) -> str | None:
    """The SES region in an envelope domain such as eu-west-1.amazonses.com."""
    if envelope.endswith(".amazonses.com"):
        label = envelope.removesuffix(".amazonses.com").rpartition(".")[2]
        return label if label.count("-") >= 2 else None
    return None


NOTHING = "Nothing to change for this source."


def _no_action_message(d: Draft) -> str:
    if d.category is Category.FORWARDED:
        return "Nothing to change: forwarded mail is not yours to authorize."
    if d.category is Category.UNDETERMINED and d.provider is not None:
        # A mailbox provider's address whose domain's MX could not be read (see explain).
        name = catalogue.get(d.provider).name
        return (
            "Nothing to change yet: run this again when DNS answers. Until then, neither add "
            f"{name}'s include to your SPF record for it nor write it off as a forward."
        )
    if d.category is Category.UNDETERMINED:
        return (
            "Nothing to change yet: run this again when DNS answers. Until then, neither add "
            "this address to your SPF record nor treat it as spoofing."
        )
    if d.category is Category.UNAUTHORIZED:
        return (
            "Do not authorize this source. Once your own senders pass, a stricter DMARC policy "
            "(quarantine, then reject) stops this mail."
        )
    if d.fixed:
        return "Nothing to change: already fixed in DNS; the next reports will show it passing."
    return NOTHING


@dataclass
class Draft:
    """One diagnosis being built: its key (domain, source, category), its rows, and what the
    actions need to know of them (the envelope domain and SPF result seen most, whether DKIM
    aligned anywhere, messages already fixed)."""

    domain: str
    category: Category
    source: SourceId
    group: Group
    envelope: str = ""
    spf_result: str = ""
    dkim_pass: bool = False
    fixed: int = 0

    @property
    def provider(self) -> str | None:
        return self.source.provider
