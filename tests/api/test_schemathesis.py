"""Schemathesis against the live OpenAPI schema, in-process through WSGI.

Every phase Schemathesis offers runs: examples, coverage and fuzzing for each
operation (one subtest per operation), then stateful sequences over the links it
infers between operations. Every call carries a real bearer token with all scopes.
The checks: no server error, a documented status code, the documented content type
and a body that matches the documented schema. Generation is derandomized and
bounded (`MAX_EXAMPLES`, `STATEFUL_SCENARIOS`), with no deadline.
"""

from contextlib import contextmanager

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction

from config.wsgi import application
from tests.api.conftest import OrgClient, ask_consent, record_consent

SCHEMA_PATH = "/api/v1/schema/?format=json"
SEED = 20260101
MAX_EXAMPLES = 50  # fuzzing examples per operation
STATEFUL_SCENARIOS = 50
STATEFUL_MAX_STEPS = 8
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


@pytest.fixture
def api_schema(committed_catalog, settings, request):
    """The schema the app serves, set up to call the app with a real token.

    Django's WSGI handler closes the database connection at the start and end of
    each request when it is not in autocommit mode (`close_old_connections`), which
    breaks the `db` fixture's test transaction on the first call; so the data here
    is committed (`committed_catalog`) and the test database flushed afterwards.
    """
    # A few thousand calls a minute from one organization: not a throttling test.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"check": "1000000/min", "write": "1000000/min"},
    }
    # schemathesis 4.32.5's `from_fixture` reads `node._nodeid`, which pytest 9.2
    # no longer has (it keeps `_id`); give it the node id it expects.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid

    recipient = OrgClient("moneylog", "머니로그")
    OrgClient("hanbit-bank", "한빛은행")
    api = recipient.api()
    consent = record_consent(
        api,
        subject_identifier="minji@example.kr",
        scopes=["bank.deposit", "card.bills"],
        holders=["hanbit-bank"],
        duration_days=90,
    )
    asked = ask_consent(api)

    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {recipient.token()}"},
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "checks": {
                "enabled": False,
                **{name: {"enabled": True} for name in CHECKS},
            },
            "phases": {"stateful": {"max-steps": STATEFUL_MAX_STEPS}},
            # Real values half of the time, so calls get past validation and lookups
            # and reach the data: the consent and request above, the demo catalog.
            "dictionaries": {
                "consent-ids": {"values": [consent["id"]]},
                "request-ids": {"values": [asked["id"]]},
                "subject-refs": {"values": ["ml-0001", "ml-0002"]},
                "purposes": {
                    "values": [p["code"] for p in committed_catalog["purposes"]]
                },
                "scopes": {"values": [s["code"] for s in committed_catalog["scopes"]]},
                "organizations": {"values": ["moneylog", "hanbit-bank"]},
            },
            "parameters": {
                key: {"dictionary": dictionary, "probability": 0.5}
                for key, dictionary in (
                    ("path.consent_id", "consent-ids"),
                    ("path.request_id", "request-ids"),
                    ("query.subject_ref", "subject-refs"),
                    ("query.purpose", "purposes"),
                    ("body.subject_ref", "subject-refs"),
                    ("body.purpose", "purposes"),
                    ("body.scopes[*]", "scopes"),
                    ("body.holders[*]", "organizations"),
                    ("body.counterparty", "organizations"),
                )
            },
        }
    )
    return schemathesis.openapi.from_wsgi(SCHEMA_PATH, application, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_every_operation_conforms_to_the_schema(case):
    case.call_and_validate()


@contextmanager
def _connection_kept_across_requests():
    """Django's handler closes a connection inside a transaction after each request,
    as the test client avoids too: keep it, so a scenario can be rolled back."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_stateful_sequences_conform_to_the_schema(api_schema):
    inferred = api_schema.as_state_machine()  # links inferred from the schema

    class Workflow(inferred):
        """Every scenario starts from the fixture's data: its writes roll back.

        Without this, a scenario replayed by Hypothesis meets the state an earlier
        one left (a consent already revoked), answers differently, and Hypothesis
        reports the generation as flaky.
        """

        def setup(self) -> None:
            self._scenario = transaction.atomic()
            self._scenario.__enter__()

        def teardown(self) -> None:
            transaction.set_rollback(True)
            self._scenario.__exit__(None, None, None)

    with _connection_kept_across_requests():
        Workflow.run(
            settings=hypothesis.settings(
                max_examples=STATEFUL_SCENARIOS,
                stateful_step_count=STATEFUL_MAX_STEPS,
                phases=[hypothesis.Phase.generate],  # as Schemathesis runs them
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(hypothesis.HealthCheck),
            )
        )
