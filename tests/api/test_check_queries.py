"""The check path's round trips are pinned, however many consents exist: one for
the decision (which also confirms the token) and, with the check-event buffer off
as in tests, one to stage the audit event; a token not seen before adds its lookup.
"""

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
    with CaptureQueriesContext(connection) as first:
        api.post("/api/v1/checks/", body, format="json")
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/v1/checks/", body, format="json")
    assert response.json()["allowed"] is True
    sql = [q["sql"] for q in queries]
    assert len(sql) == 2, [q[:80] for q in sql]
    assert "oauth2_provider_accesstoken" in sql[0]  # the token, confirmed again
    assert "audit_pendingevent" in sql[1]
    # The first call also looked the token up and loaded the catalog snapshot.
    assert "oauth2_provider_accesstoken" in first.captured_queries[0]["sql"]
    assert len(first) > len(queries)
