"""`field__any=[...]` selects what `field__in=[...]` selects, on every database."""

from consents.models import ConsentHolder, Organization
from tests.factories import make_consent, make_subject


def test_any_matches_in_on_keys_and_relations(catalog, recipient, bank, card):
    consents = [
        make_consent(subject=make_subject(), recipient=recipient, holders=[bank, card])
        for _ in range(3)
    ]
    ids = [c.pk for c in consents[:2]]
    by_any = ConsentHolder.objects.filter(consent_id__any=ids)
    by_in = ConsentHolder.objects.filter(consent_id__in=ids)
    assert sorted(by_any.values_list("pk", flat=True)) == sorted(
        by_in.values_list("pk", flat=True)
    )
    assert by_any.count() == 4
    codes = Organization.objects.filter(pk__any=[bank.pk, card.pk])
    assert sorted(codes.values_list("code", flat=True)) == ["byeol-card", "hanbit-bank"]
    assert not Organization.objects.filter(pk__any=[]).exists()
