"""FHIR API clients in the Django admin (issue 23, item 4): add one (its secret is shown once, in
the message after saving), choose its read scopes, register its public keys for SMART Backend
Services (then it has no secret), revoke it or give it a new secret."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from propel.audit import audit_record
from scheduling.fhir import access, export, smart
from scheduling.fhir.registry import REGISTRY
from scheduling.models import ExportJob, FhirClient


def scope_choices() -> list[tuple[str, str]]:
    return [(access.scope_for(t), access.scope_for(t)) for t in REGISTRY]


class FhirClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Scopes (read only)"),
        choices=scope_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = FhirClient
        fields = ("name", "scopes", "jwks", "active")
        help_texts = {
            "jwks": _(
                'SMART Backend Services: the client\'s public JSON Web Key Set, {"keys": [...]}, '
                "RSA or EC (P-384) public keys, each with a kid. A client with keys signs its "
                "token requests and has no secret. Leave empty for a client with a secret."
            )
        }

    def clean_jwks(self) -> dict[str, Any]:
        try:
            return smart.clean_jwks(self.cleaned_data.get("jwks"))
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None


def _show_secret(request: HttpRequest, client: FhirClient, secret: str) -> None:
    messages.warning(
        request,
        _(
            "Client id %(id)s, secret %(secret)s. Copy the secret now: it is shown only once "
            "and cannot be recovered (make a new one if it is lost)."
        )
        % {"id": client.client_id, "secret": secret},
    )


def _kids(client: FhirClient) -> list[str]:
    keys = client.jwks.get("keys", []) if isinstance(client.jwks, dict) else []
    return [key.get("kid", "") for key in keys]


@admin.register(FhirClient)
class FhirClientAdmin(admin.ModelAdmin):
    form = FhirClientForm
    list_display = ("name", "client_id", "active", "created_at", "last_used_at")
    readonly_fields = ("client_id", "created_at", "last_used_at")
    actions = ("revoke", "new_secret")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the audit log names the client id

    def save_model(
        self, request: HttpRequest, obj: FhirClient, form: ModelForm, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            if "jwks" in form.changed_data:
                access.fhir_client_set_keys(obj, obj.jwks)
                if not obj.jwks:
                    messages.warning(
                        request,
                        _("Keys removed: give the client a new secret so that it can sign in."),
                    )
            audit_record(
                action="fhir.client_changed",
                request=request,
                obj=obj,
                detail={
                    "client": obj.client_id,
                    "scopes": obj.scopes,
                    "active": obj.active,
                    "kids": _kids(obj),
                },
            )
            return
        jwks = obj.jwks
        new = access.fhir_client_create(name=obj.name, scopes=list(obj.scopes))
        if not obj.active:
            FhirClient.objects.filter(pk=new.client.pk).update(active=False)
        if jwks:
            access.fhir_client_set_keys(new.client, jwks)
        obj.pk, obj.client_id = new.client.pk, new.client.client_id
        obj.secret_hash, obj.created_at = new.client.secret_hash, new.client.created_at
        obj._state.adding = False
        audit_record(
            action="fhir.client_created",
            request=request,
            obj=obj,
            detail={"client": obj.client_id, "scopes": obj.scopes, "kids": _kids(obj)},
        )
        if jwks:
            messages.success(
                request,
                _(
                    "Client id %(id)s. It signs its token requests with its registered keys "
                    "(SMART Backend Services) and has no secret."
                )
                % {"id": obj.client_id},
            )
        else:
            _show_secret(request, obj, new.secret)

    @admin.action(description=_("Revoke the selected clients"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[FhirClient]) -> None:
        for client in queryset.filter(active=True):
            client.active = False
            client.save(update_fields=["active"])
            audit_record(
                action="fhir.client_revoked",
                request=request,
                obj=client,
                detail={"client": client.client_id},
            )
        messages.success(request, _("Revoked: their calls and tokens stop working now."))

    @admin.action(description=_("Give the selected client a new secret"))
    def new_secret(self, request: HttpRequest, queryset: QuerySet[FhirClient]) -> None:
        if queryset.count() != 1:
            messages.error(request, _("Choose exactly one client."))
            return
        client = queryset.get()
        if client.jwks:
            messages.error(
                request,
                _("This client signs with its registered keys: remove its keys first."),
            )
            return
        secret = access.fhir_client_new_secret(client)
        audit_record(
            action="fhir.client_new_secret",
            request=request,
            obj=client,
            detail={"client": client.client_id},
        )
        _show_secret(request, client, secret)


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    """Bulk exports, read only, with their progress; cancel goes through the same service as a
    client's DELETE (scheduling.fhir.export.export_cancel)."""

    list_display = (
        "public_id",
        "client",
        "level",
        "types_list",
        "status",
        "progress",
        "created_at",
        "expires_at",
    )
    list_filter = ("status", "level")
    list_select_related = ("client",)
    readonly_fields = (
        "public_id",
        "client",
        "level",
        "types",
        "since",
        "output_format",
        "request_url",
        "warnings",
        "status",
        "progress",
        "attempt",
        "error",
        "transaction_time",
        "created_at",
        "started_at",
        "finished_at",
        "expires_at",
    )
    fields = readonly_fields
    actions = ("cancel",)

    @admin.display(description="types")
    def types_list(self, job: ExportJob) -> str:
        return ", ".join(job.types)

    @admin.display(description="progress")
    def progress(self, job: ExportJob) -> str:
        return job.progress

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # cancel instead: the files go, the job stays for the record

    @admin.action(description="Cancel the selected exports (their files are deleted)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[ExportJob]) -> None:
        cancelled = 0
        for job in queryset.select_related("client"):
            if export.export_cancel(job=job):
                cancelled += 1
                audit_record(
                    action="fhir.export_cancelled",
                    request=request,
                    obj=job,
                    detail={"client": job.client.client_id, "export": job.public_id},
                )
        messages.success(request, f"Cancelled: {cancelled}.")
