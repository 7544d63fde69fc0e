"""Transfer-token verification offline, as a data holder runs it with the SDK."""

import json
import time

import pytest

from audit.signing import jwks, sign_jws
from cmp.client import JWKSCache, TokenVerificationError, verify_transfer_token

CLAIMS = {
    "iss": "cmp",
    "jti": "d-1",
    "consent_id": "c-1",
    "recipient": "moneylog",
    "holder": "hanbit-bank",
    "purpose": "spending-analysis",
    "scopes": ["bank.deposit"],
}


def _token(**changes) -> str:
    now = int(time.time())
    return sign_jws({**CLAIMS, "iat": now, "exp": now + 300, **changes})


def test_a_good_token_verifies_and_says_what_it_covers():
    token = verify_transfer_token(_token(), jwks(), consent_id="c-1")
    assert token.decision_id == "d-1" and token.scopes == ["bank.deposit"]


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (lambda: _token(exp=int(time.time()) - 120), "expired"),
        (lambda: _token(iss="someone"), "not_transfer_token"),
        (lambda: _token()[:-4] + "AAAA", "bad_signature"),
        (lambda: "not.a.token", "malformed"),
    ],
)
def test_expired_foreign_or_tampered_tokens_fail(token, code):
    with pytest.raises(TokenVerificationError) as failed:
        verify_transfer_token(token(), jwks())
    assert failed.value.code == code


def test_a_token_for_other_terms_fails():
    with pytest.raises(TokenVerificationError, match="purpose, holder"):
        verify_transfer_token(
            _token(), jwks(), purpose="credit-scoring", holder="byeol-card"
        )
    with pytest.raises(TokenVerificationError, match="scopes"):
        verify_transfer_token(_token(), jwks(), scopes=["insurance.contracts"])


def test_the_jwks_cache_fetches_once_and_again_for_an_unknown_key():
    fetched = []

    class Session:
        def get(self, url, timeout):
            fetched.append(url)
            keys = jwks() if len(fetched) > 1 else {"keys": []}

            class Answer:
                def raise_for_status(self):
                    pass

                def json(self):
                    return json.loads(json.dumps(keys))

            return Answer()

    cache = JWKSCache(
        "https://cmp.example/.well-known/jwks.json", session=Session(), min_refresh=0
    )
    with pytest.raises(TokenVerificationError, match="unknown signing key"):
        verify_transfer_token(_token(), cache)  # keys from before a rotation
    assert verify_transfer_token(_token(), cache)  # unknown kid: fetched again
    assert verify_transfer_token(_token(), cache)  # and now cached
    assert len(fetched) == 2
