"""The FHIR R4 read API (issue 23, item 2): /fhir/R4/metadata, read by id, search with paging,
the OAuth token endpoint and the SMART configuration (scheduling.fhir.access and .smart).

Every answer is application/fhir+json; every error an OperationOutcome (scheduling.fhir.errors)
except the token endpoint's, which are OAuth 2 errors;
every call by a client is rate limited and audited with the client and the patients it touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from propel.audit import audit_record
from propel.http import client_ip
from propel.ratelimit import ratelimit_hit
from scheduling.fhir import access, smart
from scheduling.fhir.codes import SMART_OAUTH_URIS, SMART_ON_FHIR
from scheduling.fhir.errors import (
    FHIR_JSON,
    FhirError,
    bad_request,
    error_response,
    fhir_response,
    not_found,
)
from scheduling.fhir.kinds import Kind
from scheduling.fhir.registry import REGISTRY
from scheduling.fhir.search import parse_count, parse_offset
from scheduling.fhir.smart import OAuthError, invalid_client
from scheduling.models import FhirClient

FHIR_VERSION = "4.0.1"  # R4; the models are fhir.resources' R4B (the R4 line), see docs/fhir.md
JSON_TYPES = ("application/fhir+json", "application/json", "application/*", "*/*")
JSON_FORMATS = ("json", "application/json", "application/fhir+json")
# Parameters every search takes besides its resource's own.
PAGING = ("_count", "_offset", "_format")
# Failed sign-ins per address a minute before a 429 (slows guessing secrets).
AUTH_FAILURES_PER_MINUTE = 20
WWW_AUTHENTICATE = 'Basic realm="fhir", Bearer realm="fhir"'

# The bulk export's operations (scheduling.fhir.bulk_views), as the Bulk Data Access IG v2 names
# them (https://github.com/HL7/bulk-data, input/fsh/instances/export.fsh and patient-export.fsh).
EXPORT_DEFINITION = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
PATIENT_EXPORT_DEFINITION = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"
BULK_DATA_CAPABILITIES = "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"

# (request, client, **url kwargs) -> (body, ids of the patients it touched); the body is a
# resource as a dict, or a whole HttpResponse (an export's 202, a file's stream).
Handler = Callable[..., tuple[dict[str, Any] | HttpResponseBase, list[int]]]


def accepted_types(request: HttpRequest) -> list[str]:
    """The media types of the Accept header, without their parameters; [] when there is none."""
    accept = request.headers.get("Accept", "")
    return [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]


def _accepts(request: HttpRequest, types: tuple[str, ...]) -> bool:
    kinds = accepted_types(request)
    return not kinds or any(kind in types for kind in kinds)


def query_params(request: HttpRequest) -> dict[str, list[str]]:
    """The query string as lists of values; too many fields is a 400, not Django's error."""
    try:
        return {name: request.GET.getlist(name) for name in request.GET}
    except SuspiciousOperation:  # too many fields
        raise bad_request("too many query parameters") from None


def _query(request: HttpRequest) -> dict[str, list[str]]:
    query = query_params(request)
    for value in query.get("_format", []):
        if value not in JSON_FORMATS:
            raise FhirError(406, "not-supported", "only JSON is served (_format=json)")
    return query


def _authorize(request: HttpRequest) -> FhirClient:
    client = access.authenticate(request)
    if client is None:
        if ratelimit_hit(f"fhir-auth:{client_ip(request)}", AUTH_FAILURES_PER_MINUTE, 60):
            raise FhirError(429, "throttled", "too many failed sign-ins", {"Retry-After": "60"})
        raise FhirError(
            401,
            "login",
            "no or bad credentials: HTTP Basic (client id, secret) or a bearer token",
            {"WWW-Authenticate": WWW_AUTHENTICATE},
        )
    if ratelimit_hit(f"fhir:{client.client_id}", access.RATE_LIMIT, access.RATE_WINDOW):
        raise FhirError(
            429, "throttled", "too many requests", {"Retry-After": str(access.RATE_WINDOW)}
        )
    access.mark_used(client)
    return client


def _audit(
    request: HttpRequest,
    client: FhirClient,
    *,
    interaction: str,
    status: int,
    patient_ids: list[int],
) -> None:
    touched = sorted(set(patient_ids))
    audit_record(
        action=f"fhir.{interaction}",
        request=request,
        actor_label=f"fhir:{client.client_id}",
        patient_id=touched[0] if len(touched) == 1 else None,
        detail={
            "client": client.client_id,
            "client_name": client.name,
            "path": request.path[:200],
            "query": request.META.get("QUERY_STRING", "")[:500],
            "method": request.method,
            "status": status,
            "patient_ids": touched,
        },
    )


def fhir_endpoint(
    interaction: str,
    *,
    methods: tuple[str, ...] = ("GET",),
    public: bool = False,
    content_type: str = FHIR_JSON,
    accepts: tuple[str, ...] = JSON_TYPES,
) -> Callable[[Handler], Callable[..., HttpResponseBase]]:
    """Method, Accept, credentials, rate limit, errors as OperationOutcome, and the audit row.
    A handler returns a resource (answered as `content_type`) or an HttpResponse of its own."""

    def decorate(handler: Handler) -> Callable[..., HttpResponseBase]:
        @csrf_exempt
        def view(request: HttpRequest, **kwargs: str) -> HttpResponseBase:
            client = None
            try:
                if request.method not in (*methods, *(("HEAD",) if "GET" in methods else ())):
                    raise FhirError(
                        405,
                        "not-supported",
                        f"{request.method} is not supported here",
                        {"Allow": ", ".join(methods)},
                    )
                if not _accepts(request, accepts):
                    raise FhirError(
                        406, "not-supported", f"only {accepts[0]} is served at this address"
                    )
                if not public:
                    client = _authorize(request)
                body, patient_ids = handler(request, client, **kwargs)
                if isinstance(body, HttpResponseBase):
                    response = body
                else:
                    response = fhir_response(body)
                    response["Content-Type"] = content_type
            except FhirError as error:
                body, patient_ids, response = {}, [], error_response(error)
            if client is not None:
                _audit(
                    request,
                    client,
                    interaction=interaction,
                    status=response.status_code,
                    patient_ids=patient_ids,
                )
            return response

        return view

    return decorate


def _kind(resource_type: str, client: FhirClient | None) -> Kind:
    kind = REGISTRY.get(resource_type)
    if kind is None:
        raise not_found(f"the resource type '{resource_type[:40]}' is not served")
    if client is not None and not access.allowed(client, kind.type):
        raise FhirError(403, "forbidden", f"the client has no scope {access.scope_for(kind.type)}")
    return kind


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/fhir/R4/")


@fhir_endpoint("read")
def read(
    request: HttpRequest, client: FhirClient | None, *, resource_type: str, fhir_id: str
) -> tuple[dict[str, Any], list[int]]:
    kind = _kind(resource_type, client)
    _query(request)
    found = kind.read(fhir_id)
    if found is None:
        raise not_found(f"no {kind.type} with the id '{fhir_id[:64]}'")
    return found.resources[0], found.patient_ids


@fhir_endpoint("search")
def search(
    request: HttpRequest, client: FhirClient | None, *, resource_type: str
) -> tuple[dict[str, Any], list[int]]:
    kind = _kind(resource_type, client)
    if "search-type" not in kind.interactions:
        raise FhirError(405, "not-supported", f"{kind.type} is read by id only")
    query = _query(request)
    count = parse_count(query.get("_count"))
    offset = parse_offset(query.get("_offset"))
    own_query = {name: values for name, values in query.items() if name not in PAGING}
    page = kind.search(own_query, offset, count)
    base = _base(request)
    own = [(n, v) for n, values in sorted(query.items()) if n not in PAGING for v in values]

    def link(relation: str, at: int) -> dict[str, str]:
        params = [*own, ("_count", str(count)), *([("_offset", str(at))] if at else [])]
        return {"relation": relation, "url": f"{base}{kind.type}?{urlencode(params)}"}

    links = [link("self", offset)]
    if page.has_next:
        links.append(link("next", offset + count))
    if offset:
        links.append(link("previous", max(0, offset - count)))
    entries = [
        {
            "fullUrl": f"{base}{kind.type}/{resource['id']}",
            "resource": resource,
            "search": {"mode": "match"},
        }
        for resource in page.found.resources
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": timezone.now().isoformat(),
        "link": links,
        "entry": entries,
    }
    return bundle, page.found.patient_ids


def _resource_capabilities(kind: Kind) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": kind.type,
        "interaction": [{"code": code} for code in kind.interactions],
        "searchParam": [
            {"name": p.name, "type": p.type, "documentation": p.documentation} for p in kind.params
        ],
    }
    if kind.type == "Patient":
        entry["operation"] = [
            {
                "name": "export",
                "definition": PATIENT_EXPORT_DEFINITION,
                "documentation": "Bulk export of every patient's compartment (docs/fhir.md)",
            }
        ]
    return entry


def capability_statement(base: str, now: dt.datetime) -> dict[str, Any]:
    """Generated from REGISTRY: exactly the types, interactions, parameters and operations
    served (the bulk export: system level, and patient level while Patient is served)."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": now.isoformat(),
        "publisher": "Propel",
        "kind": "instance",
        "instantiates": [BULK_DATA_CAPABILITIES],
        "implementation": {"description": "Propel's FHIR R4 read API", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "extension": [
                        {
                            "url": SMART_OAUTH_URIS,
                            "extension": [{"url": "token", "valueUri": smart.token_url()}],
                        }
                    ],
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": SMART_ON_FHIR.system,
                                    "code": SMART_ON_FHIR.code,
                                    "display": SMART_ON_FHIR.display,
                                }
                            ],
                            "text": "SMART Backend Services (client_credentials)",
                        }
                    ],
                    "description": (
                        "SMART Backend Services: a bearer token from "
                        f"{smart.token_url()} (grant_type=client_credentials) for a JWT client "
                        "assertion signed RS384 or ES384 with a registered key, or for a "
                        "registered client's id and secret; HTTP Basic with the id and secret "
                        "also works. Scopes: system/<type>.read or system/<type>.rs. See "
                        f"{base}.well-known/smart-configuration."
                    ),
                },
                "resource": [_resource_capabilities(kind) for kind in REGISTRY.values()],
                "operation": [
                    {
                        "name": "export",
                        "definition": EXPORT_DEFINITION,
                        "documentation": (
                            "Bulk export (NDJSON files, _since, _type), asynchronous: "
                            "Prefer: respond-async (docs/fhir.md)"
                        ),
                    }
                ],
            }
        ],
    }


@fhir_endpoint("metadata", public=True)
def metadata(request: HttpRequest, client: FhirClient | None) -> tuple[dict[str, Any], list[int]]:
    _query(request)
    return capability_statement(_base(request), timezone.now()), []


def _oauth_response(body: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"  # RFC 6749, section 5.1
    response["Pragma"] = "no-cache"
    return response


def _token_client(request: HttpRequest) -> tuple[FhirClient, str]:
    """The client the token request speaks for and how it proved it, or OAuthError."""
    assertion = request.POST.get("client_assertion", "")
    assertion_type = request.POST.get("client_assertion_type", "")
    if assertion or assertion_type:
        if request.headers.get("Authorization") or request.POST.get("client_secret"):
            raise OAuthError("invalid_request", "use one client authentication method, not two")
        if assertion_type != smart.ASSERTION_TYPE:
            raise OAuthError(
                "invalid_request", f"client_assertion_type must be {smart.ASSERTION_TYPE}"
            )
        if not assertion:
            raise OAuthError("invalid_request", "client_assertion is missing")
        client = smart.verify_assertion(
            assertion,
            client_id=request.POST.get("client_id", ""),
            audience=smart.token_url(),
            now=timezone.now(),
        )
        return client, "private_key_jwt"
    found = access.client_from_basic(request)
    if found is None:
        raise invalid_client("bad client credentials")
    return found, "client_secret"


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    """OAuth 2 client_credentials (SMART Backend Services): a signed JWT client assertion, or
    the client's id and secret (HTTP Basic or form fields). Answers and errors are OAuth 2 JSON
    (RFC 6749, sections 5.1 and 5.2), not OperationOutcomes: token clients are OAuth clients."""
    if request.method != "POST":
        response = _oauth_response(
            {"error": "invalid_request", "error_description": "POST only"}, 405
        )
        response["Allow"] = "POST"
        return response
    client = None
    try:
        grant_type = request.POST.get("grant_type", "")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is missing (client_credentials)")
        if grant_type != "client_credentials":
            raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials")
        try:
            client, method = _token_client(request)
        except OAuthError as error:
            if error.error == "invalid_client" and ratelimit_hit(
                f"fhir-auth:{client_ip(request)}", AUTH_FAILURES_PER_MINUTE, 60
            ):
                raise OAuthError("invalid_client", "too many failed sign-ins", 429) from None
            raise
        grant = access.grant_scopes(client, request.POST.get("scope", ""))
    except OAuthError as error:
        response = _oauth_response(
            {"error": error.error, "error_description": error.description}, error.status
        )
        if error.status == 401 and "client_assertion" not in request.POST:
            response["WWW-Authenticate"] = 'Basic realm="fhir"'
        if error.status == 429:
            response["Retry-After"] = "60"
        known = client or error.client
        if known is not None:
            audit_record(
                action="fhir.token_refused",
                request=request,
                actor_label=f"fhir:{known.client_id}",
                detail={"client": known.client_id, "error": error.error},
            )
        return response
    access.mark_used(client)
    audit_record(
        action="fhir.token",
        request=request,
        actor_label=f"fhir:{client.client_id}",
        detail={
            "client": client.client_id,
            "client_name": client.name,
            "method": method,
            "scope": grant.text,
        },
    )
    return _oauth_response(
        {
            "access_token": access.token_issue(client, grant.scopes),
            "token_type": "bearer",
            "expires_in": access.TOKEN_SECONDS,
            "scope": grant.text,
        }
    )


def smart_configuration(request: HttpRequest) -> HttpResponse:
    """/fhir/R4/.well-known/smart-configuration: public, JSON whatever the Accept header says
    (SMART App Launch 2, conformance: "servers SHALL respond with application/json")."""
    if request.method not in ("GET", "HEAD"):
        return error_response(
            FhirError(
                405, "not-supported", f"{request.method} is not supported here", {"Allow": "GET"}
            )
        )
    types = list(REGISTRY)
    scopes = [
        "system/*.read",
        "system/*.rs",
        *(access.scope_for(t) for t in types),
        *(f"system/{t}.rs" for t in types),
    ]
    body = smart.smart_configuration(token_endpoint=smart.token_url(), scopes=scopes)
    return JsonResponse(body, json_dumps_params={"indent": 2})


@fhir_endpoint("unknown", methods=("GET", "POST", "PUT", "PATCH", "DELETE"), public=True)
def unknown(
    request: HttpRequest, client: FhirClient | None, *, rest: str
) -> tuple[dict[str, Any], list[int]]:
    """Any other address under /fhir/R4/: a 404 OperationOutcome, not the site's HTML page."""
    raise not_found("nothing is served at this address (see /fhir/R4/metadata)")
