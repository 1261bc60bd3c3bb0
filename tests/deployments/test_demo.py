"""The demo's people are its own: none shares a name or an address with the catalog's."""

from __future__ import annotations

from deployments.cli import example_scenarios
from deployments.scenario import load_scenario
from storage.catalog import load_catalog


def test_no_demo_hire_shares_a_name_or_address_with_the_companys_people():
    catalog = load_catalog()
    people = [catalog.boss] + [p for d in catalog.departments.values()
                               for p in (d.owner, d.manager)]
    names, emails = {p.name for p in people}, {p.email.lower() for p in people}
    hires = [load_scenario(f).hire for f in example_scenarios()]
    assert len(hires) == 6
    assert not [h.name for h in hires if h.name in names]
    assert not [h.email for h in hires if h.email.lower() in emails]
    assert len({h.name for h in hires}) == len(hires)
