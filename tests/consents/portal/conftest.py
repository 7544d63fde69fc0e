import html
import re

import pytest

from consents import services
from consents.decisions import ConsentDecision
from tests.factories import OrganizationFactory, Person, ref


def page_text(response) -> str:
    """The page's visible words, one space apart."""
    body = re.sub(r"<style\b.*?</style>", " ", response.content.decode(), flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def check(
    caller, subject, scopes=("bank.deposit",), purpose="spending-analysis", **kwargs
) -> ConsentDecision:
    """The caller checks the person's data, by its own reference for them."""
    return services.check_consent(
        caller=caller,
        subject_ref=ref(caller, subject),
        purpose_code=purpose,
        scope_codes=list(scopes),
        **kwargs,
    )


@pytest.fixture
def minji(catalog):
    return Person("minji")


@pytest.fixture
def jihoon(catalog):
    return Person("jihoon")


@pytest.fixture
def shop(db):
    return OrganizationFactory(code="hanul-shop", name="하늘쇼핑")
