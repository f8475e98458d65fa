"""Whose network an address is in (the offline IP data) labels a source and never recognises one:
an Amazon-owned spoofer stays unauthorized and its explanation says why it is not SES; the names
a table gives without DNS (`offline_names`) tell SES's copied networks from the rest of Amazon and
say what each name rests on, the same owner name as explain's evidence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from diagnostics import providers
from diagnostics.dmarc import Category, explain
from diagnostics.dmarc.explain import NAMED_BY_CATALOGUE, NAMED_BY_OWNER, offline_names
from diagnostics.enrich import network_owner
from tests.diagnostics.dmarc.conftest import record_row
from tests.support.nameserver import LoopbackNameserver

PROVIDER_ZONE = yaml.safe_load(
    (Path(__file__).parents[3] / "scenarios" / "_providers.yaml").read_text()
)
Start = Callable[..., LoopbackNameserver]
EC2 = "3.80.10.10"  # Amazon's AS14618 in the bundled IPinfo Lite data, outside SES's networks
SES = "54.240.8.21"  # in SES's published (and catalogue-copied) networks
DOC = "198.51.100.66"  # documentation range: no owner in any data


def _row(ip: str, count: int) -> dict[str, Any]:
    # A sender that passes neither SPF nor DKIM (no signature at all).
    return record_row(ip, count, dkim_aligned="fail", dkim_domains="", dkim_results="")


def test_the_network_owner_and_the_provider_its_company_runs() -> None:
    owner = network_owner(EC2)
    assert owner is not None
    assert owner.asn is not None
    company = providers.by_asn(owner.asn)
    assert company is not None
    assert company.key == "ses"
    assert network_owner(DOC) is None
    assert providers.by_asn(64512) is None  # a private ASN no provider lists


def test_offline_names_say_what_each_name_rests_on() -> None:
    names = offline_names([SES, EC2, DOC, "not an address", SES]).set_index("ip")
    assert list(names.index) == [SES, EC2]  # once each; nothing named, nothing listed
    assert names.loc[SES, "service"] == "Amazon SES"
    assert names.loc[SES, "named_by"] == NAMED_BY_CATALOGUE
    owner = network_owner(EC2)
    assert owner is not None
    assert names.loc[EC2, "service"] == owner.name
    assert names.loc[EC2, "named_by"] == NAMED_BY_OWNER


def test_offline_names_cover_every_copied_network_edge() -> None:
    for provider in providers.all():
        if provider.spf_networks is None:
            continue
        for network in provider.spf_networks.ranges:
            edges = [str(network.network_address), str(network.broadcast_address)]
            named = offline_names(edges)
            assert list(named["named_by"]) == [NAMED_BY_CATALOGUE] * 2, network
            # The first provider in catalogue order that copied the network names it.
            first = next(
                p
                for p in providers.all()
                if p.spf_networks is not None and network in p.spf_networks.ranges
            )
            assert set(named["service"]) == {first.name}, network


def test_an_owner_labels_a_spoofer_and_never_makes_it_legitimate(nameserver: Start) -> None:
    server = nameserver(
        {
            **PROVIDER_ZONE,
            "example.com": {"TXT": ["v=spf1 include:spf.trekmail.net include:amazonses.com -all"]},
        }
    )
    records = pd.DataFrame([_row(EC2, 31), _row(DOC, 5)])

    found = {d.source: d for d in explain(records, resolver=server.resolver())}

    owner = network_owner(EC2)
    assert owner is not None
    amazon, unknown = found[EC2], found[DOC]
    assert amazon.category is Category.UNAUTHORIZED
    assert unknown.category is Category.UNAUTHORIZED
    assert amazon.provider is None
    # The same name the sources table gives the address without DNS.
    assert amazon.evidence.network_owners == (owner.name,)
    assert offline_names([EC2])["service"].tolist() == [owner.name]
    assert amazon.evidence.to_dict()["network_owners"] == [owner.name]
    assert f"in {owner.name}'s network" in amazon.explanation
    assert "not Amazon SES mail" in amazon.explanation
    assert unknown.evidence.network_owners == ()
    assert "network" not in unknown.explanation
