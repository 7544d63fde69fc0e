"""The catalog loader validates every entry and never edits a version in use."""

import copy

import pytest

from consents import services
from consents.errors import ValidationError
from consents.models import Purpose, PurposeVersion
from tests.factories import TESTER


def _with_purpose_change(catalog, **changes):
    document = copy.deepcopy(catalog)
    document["purposes"][0].update(changes)
    return document


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"legal_basis": "whatever"}, "legal_basis"),
        ({"max_duration_days": 0}, "max_duration_days"),
        ({"code": "Not A Code"}, "code"),
    ],
)
def test_invalid_purpose_entries_are_refused_whole(catalog, change, field):
    before = PurposeVersion.objects.count()
    with pytest.raises(ValidationError) as error:
        services.load_catalog(
            catalog=_with_purpose_change(catalog, **change), actor=TESTER
        )
    assert field in error.value.fields
    assert PurposeVersion.objects.count() == before


@pytest.mark.parametrize("document", [[], {"scopes": {}}, {"purposes": ["x"]}])
def test_malformed_catalogs_are_refused(db, document):
    with pytest.raises(ValidationError):
        services.load_catalog(catalog=document, actor=TESTER)


def test_missing_field_is_named(db):
    with pytest.raises(ValidationError) as error:
        services.load_catalog(catalog={"scopes": [{"code": "bank"}]}, actor=TESTER)
    assert "name_ko" in str(error.value.fields)


def test_request_pins_the_version_the_person_is_shown(catalog, subject, recipient):
    request = services.create_consent_request(
        recipient=recipient,
        subject_ref="ml-1",
        purpose_code="spending-analysis",
        scope_codes=["bank.deposit"],
        redirect_uri="https://moneylog.example/cb",
    )
    changed = _with_purpose_change(catalog, notice_en="New terms.")
    assert services.load_catalog(catalog=changed, actor=TESTER).versions_published == 1
    purpose = Purpose.objects.get(code="spending-analysis")
    first, second = purpose.versions.order_by("version")
    assert first.notice_en != "New terms." and second.notice_en == "New terms."
    consent = services.approve_consent_request(request_id=request.id, subject=subject)
    assert consent.purpose_version == first
