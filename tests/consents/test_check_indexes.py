"""On PostgreSQL the check reads the person from indexes alone (migration 0006):
the reference's unique index carries the subject, and an index on the subject's
id carries the pseudonym. A lost INCLUDE would cost two random reads a check."""

import pytest
from django.db import IntegrityError, connection, transaction

from consents.models import SubjectReference
from tests.conftest import requires_postgres
from tests.factories import make_consent, make_subject, ref

pytestmark = [requires_postgres, pytest.mark.usefixtures("catalog")]


def _definition(index: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [index])
        return cursor.fetchone()[0]


def test_the_reference_index_carries_the_subject(db):
    assert _definition("subjectref_unique_ref").endswith(
        "USING btree (organization_id, reference) INCLUDE (subject_id)"
    )


def test_an_index_carries_the_pseudonym(db):
    assert _definition("subject_pseudonym_cover").endswith(
        "USING btree (id) INCLUDE (pseudonym)"
    )


def test_the_covering_index_still_makes_references_unique(subject, recipient):
    make_consent(subject=subject, recipient=recipient)
    other = make_consent(subject=make_subject(), recipient=recipient).subject
    with pytest.raises(IntegrityError), transaction.atomic():
        SubjectReference.objects.create(
            organization=recipient, subject=other, reference=ref(recipient, subject)
        )
