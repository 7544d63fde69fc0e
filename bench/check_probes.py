"""The check bodies `bench/check_throughput.py` sends, and the answers they must get.

`build_probes` draws `--bodies` bodies across the whole dataset in the
proportions of `MIX` (80 % allowed, 20 % denied), plus checks on the consents
granted through the services. Before measuring, a sample is sent once and
every answer must match; wrk then sends all of them from a Lua request list.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import check_layout as layout
from bench import harness
from bench.check_servers import BARE_PATH, CHECK_PATH
from bench.harness import BenchError

VERIFY_SAMPLE = 400
# What the check bodies ask, with their weights (per cent) in the mix.
MIX: dict[str, int] = {
    "allow-recipient": 50,
    "allow-recipient-marketing": 15,
    "allow-holder": 15,
    "deny-revoked": 5,
    "deny-unknown-subject": 5,
    "deny-scope-not-granted": 5,
    "deny-paused": 3,
    "deny-expired": 2,
}


def fetch_tokens(base_url: str, clients: list[layout.Client]) -> dict[str, str]:
    """A client-credentials access token with `consents:check` for each client."""
    tokens = {}
    with harness.local_session() as session:
        for client in clients:
            response = session.post(
                base_url + "/o/token/",
                data={"grant_type": "client_credentials", "scope": "consents:check"},
                auth=(client.client_id, client.client_secret),
                timeout=30,
            )
            if response.status_code != 200:
                raise BenchError(f"token for {client.code}: {response.text[:500]}")
            tokens[client.code] = response.json()["access_token"]
    return tokens


@dataclass(frozen=True)
class Probe:
    """One check body, who sends it, and the answer it must get."""

    kind: str
    caller: str
    body: dict[str, Any]
    allowed: bool
    reason: str | None


EXPECTED_REASON = {
    "deny-revoked": "revoked",
    "deny-paused": "paused",
    "deny-expired": "expired",
    "deny-unknown-subject": "unknown_subject",
    "deny-scope-not-granted": "scope_not_granted",
}


def _pick_subject(
    rng: random.Random, dataset: layout.Dataset, slot: int, wanted: str
) -> int:
    """A random bulk subject whose consent in `slot` is in state `wanted`."""
    for _ in range(100_000):
        subject = rng.randrange(dataset.subjects)
        if layout.has_slot(subject, slot, dataset.bulk_consents) and (
            layout.state(subject, slot) == wanted
        ):
            return subject
    raise BenchError(f"no subject with a {wanted} consent in slot {slot}")


def _probe(kind: str, rng: random.Random, dataset: layout.Dataset) -> Probe:
    """A body of `kind` (a key of MIX) for a random subject that fits it."""
    sa, mk = layout.SLOT_TERMS[0]["purpose"], layout.SLOT_TERMS[1]["purpose"]
    reason = EXPECTED_REASON.get(kind)
    if kind == "deny-unknown-subject":
        caller = rng.choice(layout.RECIPIENTS)
        ref = f"s-x{rng.randrange(10**9)}"
        body = {"subject_ref": ref, "purpose": sa, "scopes": ["bank.deposit"]}
        return Probe(kind, caller, body, False, reason)
    slot = 1 if kind == "allow-recipient-marketing" else 0
    wanted = reason if reason in ("revoked", "paused", "expired") else "active"
    s = _pick_subject(rng, dataset, slot, wanted)
    recipient = layout.recipient_of(s)
    if kind == "allow-holder":
        body = {
            "subject_ref": f"h-{s}",
            "purpose": sa,
            "scopes": ["bank.deposit.transactions"],
            "counterparty": recipient,
        }
        return Probe(kind, layout.HOLDER, body, True, None)
    if kind == "allow-recipient-marketing":
        body = {"subject_ref": f"s-{s}", "purpose": mk, "scopes": ["card.bills"]}
        return Probe(kind, recipient, body, True, None)
    scopes = rng.choice(
        [["bank.deposit.transactions"], ["bank.deposit", "card.approvals"]]
    )
    if kind == "deny-scope-not-granted":
        scopes = [*scopes, "insurance.contracts"]
    body = {"subject_ref": f"s-{s}", "purpose": sa, "scopes": scopes}
    return Probe(kind, recipient, body, reason is None, reason)


def _service_probes(dataset: layout.Dataset) -> list[Probe]:
    """Checks on the consents granted through the services, as recipient and holder."""
    purpose = layout.SLOT_TERMS[0]["purpose"]
    probes = []
    for consent in dataset.service_consents:
        kind = "service-revoked" if consent.revoked else "service-allowed"
        reason = "revoked" if consent.revoked else None
        scopes = ["card.approvals"]
        as_recipient = {"subject_ref": consent.reference, "purpose": purpose}
        as_holder = {
            "subject_ref": consent.holder_reference,
            "purpose": purpose,
            "counterparty": consent.recipient,
        }
        for caller, body in (
            (consent.recipient, as_recipient),
            (layout.HOLDER, as_holder),
        ):
            body = {**body, "scopes": scopes}
            probes.append(Probe(kind, caller, body, not consent.revoked, reason))
    return probes


def build_probes(dataset: layout.Dataset, count: int, seed: int) -> list[Probe]:
    """`count` bodies in the proportions of MIX, shuffled, plus the service ones."""
    rng = random.Random(seed)
    kinds = [kind for kind, weight in MIX.items() for _ in range(weight)]
    probes = [_probe(kinds[i % len(kinds)], rng, dataset) for i in range(count)]
    rng.shuffle(probes)
    return [*_service_probes(dataset), *probes]


def verify_probes(base_url: str, tokens: dict[str, str], probes: list[Probe]) -> int:
    """Send a sample once; every answer must match. Returns how many were sent."""
    by_kind: dict[str, list[Probe]] = {}
    for probe in probes:
        by_kind.setdefault(probe.kind, []).append(probe)
    per_kind = max(10, VERIFY_SAMPLE // len(by_kind))
    sample = [p for group in by_kind.values() for p in group[:per_kind]]
    wrong = []
    with harness.local_session() as session:
        for probe in sample:
            response = session.post(
                base_url + CHECK_PATH,
                json=probe.body,
                headers={"Authorization": f"Bearer {tokens[probe.caller]}"},
                timeout=30,
            )
            answer = response.json() if response.status_code == 200 else {}
            got = (response.status_code, answer.get("allowed"), answer.get("reason"))
            if got != (200, probe.allowed, probe.reason):
                wrong.append(f"{probe.kind} {probe.body}: got {got} {response.text}")
    if wrong:
        details = "\n  ".join(wrong[:10])
        raise BenchError(
            f"{len(wrong)}/{len(sample)} checks answered wrongly:\n  {details}"
        )
    return len(sample)


def verify_bare(base_url: str) -> None:
    with harness.local_session() as session:
        response = session.get(base_url + BARE_PATH, timeout=10)
    if response.status_code != 200 or response.json() != {"ok": True}:
        raise BenchError(f"bare view: {response.status_code} {response.text[:200]}")


def lua_string(text: str) -> str:
    """A Lua long-bracket literal that `text` cannot close early."""
    level = 0
    while "]" + "=" * level + "]" in text:
        level += 1
    return "[" + "=" * level + "[" + text + "]" + "=" * level + "]"


def write_lua_requests(path: Path, probes: list[Probe], tokens: dict[str, str]) -> None:
    lines = ["return {"]
    for probe in probes:
        body = json.dumps(probe.body, separators=(",", ":"))
        token = lua_string(tokens[probe.caller])
        lines.append(f"  {{ token = {token}, body = {lua_string(body)} }},")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")
