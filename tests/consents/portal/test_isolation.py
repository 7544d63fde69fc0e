"""A person never sees or changes another person's consents: it is not found."""

import pytest

from audit.services import seal_pending_events
from consents.models import Consent
from tests.consents.portal.conftest import check
from tests.factories import make_consent

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(jihoon, recipient):
    return make_consent(subject=jihoon.subject, recipient=recipient)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("get", "receipt/"),
        ("get", "revoke/"),
        ("post", "revoke/"),
        ("post", "pause/"),
        ("post", "resume/"),
    ],
)
def test_another_persons_consent_is_not_found(minji, theirs, method, suffix):
    response = getattr(minji.browser, method)(f"/consents/{theirs.id}/{suffix}")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Consent.Status.ACTIVE


def test_revoking_all_for_a_recipient_touches_only_my_consents(
    minji, jihoon, recipient, theirs
):
    assert minji.browser.get("/recipients/moneylog/revoke/").status_code == 404
    assert minji.browser.post("/recipients/moneylog/revoke/").status_code == 404
    assert minji.browser.get("/recipients/nobody/revoke/").status_code == 404
    mine = make_consent(subject=minji.subject, recipient=recipient)
    minji.browser.post("/recipients/moneylog/revoke/")
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("revoked", "active")


def test_lists_and_activity_show_only_my_own(minji, jihoon, recipient, theirs):
    mine = make_consent(subject=minji.subject, recipient=recipient)
    for person in (minji, jihoon):
        check(recipient, person.subject)
    seal_pending_events()
    listing = minji.browser.get("/consents/").content.decode()
    assert str(mine.id) in listing and str(theirs.id) not in listing
    activity = minji.browser.get("/activity/").content.decode()
    assert activity.count("asked whether it may use your data") == 1
    assert f"/consents/{mine.id}/" in activity
    assert f"/consents/{theirs.id}/" not in activity
    history = minji.browser.get(f"/consents/{mine.id}/").content.decode()
    assert history.count("asked whether it may use your data") == 1
