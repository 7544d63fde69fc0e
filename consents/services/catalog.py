"""Loading purposes and scopes; a purpose version in use is never edited."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import record_event
from consents.catalog_cache import clear_catalog_cache
from consents.errors import NotFoundError, ValidationError
from consents.models import (
    ConsentRequest,
    MassChange,
    Purpose,
    PurposeVersion,
    Scope,
)
from consents.services.mass import start_mass_change

_TERMS = (
    "notice_ko",
    "notice_en",
    "legal_basis",
    "retention_days",
    "max_duration_days",
    "requires_reconsent",
)


@dataclass
class CatalogChanges:
    scopes_created: int = 0
    scopes_updated: int = 0
    purposes_created: int = 0
    versions_published: int = 0


def _entries(catalog: Any, key: str) -> list[Mapping[str, Any]]:
    if not isinstance(catalog, Mapping):
        raise ValidationError(
            "a catalog is a JSON object", fields={"catalog": ["object"]}
        )
    entries = catalog.get(key, [])
    if not isinstance(entries, list) or not all(
        isinstance(e, Mapping) for e in entries
    ):
        raise ValidationError(
            f"{key} must be a list of objects", fields={key: ["list"]}
        )
    return entries


def _load_scopes(items: list[Mapping[str, Any]], changes: CatalogChanges) -> None:
    for item in items:
        wanted = Scope(
            code=item["code"],
            name_ko=item["name_ko"],
            name_en=item["name_en"],
            sensitive=bool(item.get("sensitive", False)),
        )
        wanted.clean_fields()
        fields: dict[str, Any] = {"name_ko": wanted.name_ko, "name_en": wanted.name_en}
        fields["sensitive"] = wanted.sensitive
        scope = Scope.objects.filter(code=wanted.code).first()
        if scope is None:
            wanted.save(force_insert=True)
            changes.scopes_created += 1
        elif any(getattr(scope, key) != value for key, value in fields.items()):
            Scope.objects.filter(pk=scope.pk).update(**fields)
            changes.scopes_updated += 1


def _in_use(version: PurposeVersion) -> bool:
    """Shown to someone: granted under it, or asked for in a consent request."""
    return (
        version.consents.exists()
        or ConsentRequest.objects.filter(purpose_version=version).exists()
    )


def _publish_terms(
    purpose: Purpose, terms: Mapping[str, Any], actor: Actor, changes: CatalogChanges
) -> None:
    """A new version when the terms changed and the current one is in use."""
    current = purpose.versions.order_by("-version").first()
    if current and all(getattr(current, key) == terms[key] for key in _TERMS):
        return
    if current and not _in_use(current):
        PurposeVersion.objects.filter(pk=current.pk).update(**terms)
        version_number = current.version
    else:
        version_number = current.version + 1 if current else 1
        PurposeVersion.objects.create(purpose=purpose, version=version_number, **terms)
    changes.versions_published += 1
    record_event(
        action="catalog.purpose_published",
        actor=actor,
        purpose=purpose.code,
        payload={"version": version_number, "legal_basis": terms["legal_basis"]},
    )


def _load_purpose(
    item: Mapping[str, Any], actor: Actor, changes: CatalogChanges
) -> None:
    wanted = Purpose(
        code=item["code"], name_ko=item["name_ko"], name_en=item["name_en"]
    )
    wanted.clean_fields()
    terms = {key: item[key] for key in _TERMS if key != "requires_reconsent"}
    terms["requires_reconsent"] = bool(item.get("requires_reconsent", False))
    PurposeVersion(version=1, **terms).clean_fields(exclude=["purpose"])
    purpose = Purpose.objects.filter(code=wanted.code).first()
    if purpose is None:
        wanted.save(force_insert=True)
        purpose = wanted
        changes.purposes_created += 1
    _publish_terms(purpose, terms, actor, changes)


def load_catalog(*, catalog: Any, actor: Actor) -> CatalogChanges:
    """Create or update scopes and purposes from a catalog document, idempotently."""
    changes = CatalogChanges()
    try:
        with transaction.atomic():
            _load_scopes(_entries(catalog, "scopes"), changes)
            for item in _entries(catalog, "purposes"):
                _load_purpose(item, actor, changes)
        clear_catalog_cache()
    except KeyError as exc:
        raise ValidationError(
            f"catalog entry lacks {exc}", fields={"catalog": [f"missing {exc}"]}
        ) from exc
    except DjangoValidationError as exc:
        raise ValidationError(
            f"invalid catalog entry: {exc.messages}", fields=exc.message_dict
        ) from exc
    return changes


def retire_purpose(*, code: str, actor: Actor, reason: str = "") -> MassChange:
    """Take no more consents for a purpose and let its live ones lapse (expire,
    in batches, each with its event and notices); a second call finds it retired."""
    with transaction.atomic():
        purpose = Purpose.objects.select_for_update().filter(code=code).first()
        if purpose is None:
            raise NotFoundError("purpose not found")
        if purpose.retired_at is not None:
            raise ValidationError(
                "purpose already retired", fields={"purpose": ["already retired"]}
            )
        purpose.retired_at = timezone.now()
        purpose.save(update_fields=["retired_at"])
        record_event(
            action="purpose.retired",
            actor=actor,
            purpose=code,
            payload={"reason": reason[:500]},
        )
        return start_mass_change(
            MassChange.Kind.LAPSE_PURPOSE, actor=actor, purpose=purpose, reason=reason
        )
