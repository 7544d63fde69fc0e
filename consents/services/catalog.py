"""Loading purposes and scopes; a purpose version in use is never edited."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from audit.actors import Actor
from audit.services import record_event
from consents.errors import ValidationError
from consents.models import Purpose, PurposeVersion, Scope

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


def _load_scopes(items: list[Mapping[str, Any]], changes: CatalogChanges) -> None:
    for item in items:
        defaults = {
            "name_ko": item["name_ko"],
            "name_en": item["name_en"],
            "sensitive": bool(item.get("sensitive", False)),
        }
        scope, created = Scope.objects.get_or_create(
            code=item["code"], defaults=defaults
        )
        if created:
            scope.full_clean()
            changes.scopes_created += 1
        elif any(getattr(scope, key) != value for key, value in defaults.items()):
            Scope.objects.filter(pk=scope.pk).update(**defaults)
            changes.scopes_updated += 1


def _publish_terms(
    purpose: Purpose, terms: Mapping[str, Any], actor: Actor, changes: CatalogChanges
) -> None:
    """A new version when the terms changed and the current one is in use."""
    current = purpose.versions.order_by("-version").first()
    if current and all(getattr(current, key) == terms[key] for key in _TERMS):
        return
    if current and not current.consents.exists():
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


def load_catalog(*, catalog: Mapping[str, Any], actor: Actor) -> CatalogChanges:
    """Create or update scopes and purposes from a catalog document, idempotently."""
    changes = CatalogChanges()
    try:
        with transaction.atomic():
            _load_scopes(catalog.get("scopes", []), changes)
            for item in catalog.get("purposes", []):
                purpose, created = Purpose.objects.get_or_create(
                    code=item["code"],
                    defaults={"name_ko": item["name_ko"], "name_en": item["name_en"]},
                )
                if created:
                    purpose.full_clean()
                    changes.purposes_created += 1
                terms = {
                    key: item[key] for key in _TERMS if key != "requires_reconsent"
                }
                terms["requires_reconsent"] = bool(
                    item.get("requires_reconsent", False)
                )
                _publish_terms(purpose, terms, actor, changes)
    except KeyError as exc:
        raise ValidationError(
            f"catalog entry lacks {exc}", fields={"catalog": [str(exc)]}
        ) from exc
    return changes
