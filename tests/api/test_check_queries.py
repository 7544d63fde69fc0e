"""The check path's round trips are pinned: three, however many consents exist."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import make_consent, make_subject


@pytest.mark.django_db
@pytest.mark.parametrize("consents", [1, 6])
def test_queries_per_check_do_not_grow_with_consents(moneylog, hanbit, consents):
    subject = make_subject()
    purposes = ["spending-analysis", "credit-scoring", "order-history-import"]
    for n in range(consents):
        make_consent(
            subject=subject,
            recipient=moneylog.organization if n % 2 == 0 else hanbit.organization,
            holders=[hanbit.organization] if n % 2 == 0 else [],
            purpose=purposes[n % 3],
            scopes=["bank.deposit", "card.bills"],
            reference=f"ref-{n % 2}",
        )
    api = moneylog.api("consents:check")
    body = {
        "subject_ref": "ref-0",
        "purpose": "spending-analysis",
        "scopes": ["bank.deposit.basic"],
        "counterparty": "hanbit-bank",
    }
    api.post("/api/v1/checks/", body, format="json")  # loads the catalog snapshot
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/v1/checks/", body, format="json")
    assert response.json()["allowed"] is True
    # The token with its organization; the decision; the staged audit event.
    assert len(queries) == 3, [q["sql"][:80] for q in queries]
