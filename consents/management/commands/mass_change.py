"""Change many consents at once, with a progress bar; resumable after any stop."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    no_translations,
)
from django.utils import timezone

from audit.actors import Actor
from cmp_common.commands.progress import progress
from consents import services
from consents.errors import ConsentError
from consents.models import Consent, MassChange
from consents.services.mass import BATCH_SIZE
from consents.services.organizations import change_organization_status

ACTOR = Actor("staff", "mass_change")


class Command(BaseCommand):
    help = (
        "Change many consents in batched transactions, each consent with its "
        "audit event and notices: revoke or suspend a recipient, retire a "
        "purpose, expire what is due, or go on with a job that stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument("--reason", default="")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
        commands = parser.add_subparsers(dest="action", required=True)
        for name, what in (
            ("revoke-recipient", "revoke every live consent given to an organization"),
            ("suspend", "suspend an organization and pause its consents"),
            (
                "reactivate",
                "reactivate it and resume the consents its suspension paused",
            ),
        ):
            commands.add_parser(name, help=what).add_argument("code")
        commands.add_parser(
            "retire-purpose", help="take no new consents; expire the live ones"
        ).add_argument("code")
        commands.add_parser("expire-due", help="expire live consents past their end")
        commands.add_parser("run", help="run (or go on with) one job").add_argument(
            "job", type=UUID
        )
        commands.add_parser("resume", help="go on with every unfinished job")
        commands.add_parser("list", help="jobs, newest first, with their progress")

    @no_translations  # operators read one language: messages as written
    def handle(self, *args: Any, action: str, **options: Any) -> None:
        self.options = options
        try:
            if action == "list":
                self._list()
            elif action == "expire-due":
                now = timezone.now()
                due = Consent.objects.filter(
                    status__in=Consent.LIVE_STATUSES, expires_at__lte=now
                ).count()
                with self._progress(due, "expire-due") as step:
                    done = services.expire_due_consents(
                        now=now, batch_size=options["batch_size"], on_batch=step
                    )
                self.stdout.write(f"expired {done} consents")
            elif action == "resume":
                jobs = MassChange.objects.filter(status=MassChange.Status.RUNNING)
                for job_id in list(
                    jobs.order_by("created_at").values_list("pk", flat=True)
                ):
                    self._run(job_id)
            elif action == "run":
                self._run(options["job"])
            else:
                job = self._start(action, options["code"], options["reason"])
                if job is None:
                    self.stdout.write(f"{options['code']}: its status is already so")
                else:
                    self._run(job.pk)
        except ConsentError as exc:
            raise CommandError(exc.sentence()) from exc

    def _start(self, action: str, code: str, reason: str) -> MassChange | None:
        if action == "revoke-recipient":
            return services.revoke_all_recipient_consents(
                code=code, actor=ACTOR, reason=reason
            )
        if action == "retire-purpose":
            return services.retire_purpose(code=code, actor=ACTOR, reason=reason)
        status = "suspended" if action == "suspend" else "active"
        return change_organization_status(
            code=code, status=status, actor=ACTOR, reason=reason
        ).job

    def _run(self, job_id: UUID) -> None:
        job = MassChange.objects.filter(pk=job_id).first()
        if job is None:
            raise CommandError(f"no mass change {job_id}")
        with self._progress(job.total, job.kind, initial=job.changed) as step:
            job = services.run_mass_change(
                job.pk, batch_size=self.options["batch_size"], on_batch=step
            )
        self.stdout.write(
            f"{job.pk} {job.kind}: {job.changed}/{job.total} {job.status}"
        )

    def _list(self) -> None:
        for job in MassChange.objects.select_related("organization", "purpose")[:50]:
            target = job.organization or job.purpose
            self.stdout.write(
                f"{job.pk} {job.created_at:%Y-%m-%d %H:%M} {job.kind} {target} "
                f"{job.changed}/{job.total} {job.status}"
            )

    def _progress(self, total: int, label: str, initial: int = 0):
        return progress(
            total, label, unit="consent", initial=initial, quiet=self.options["quiet"]
        )
