"""The registry pages: residents, organisations and buildings.

Lists are searched through the scoped selectors and paged by key; records outside the
user's scope are 404. Residents and organisations share their record page's masked-fields
block and its unmask form; residents are also found by a whole ID number or phone through
the POST-only lookup panel, so identifiers never reach a URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from gridlink.accounts.permissions import can_in_area, has_capability
from gridlink.accounts.roles import Cap
from gridlink.core.audit import client_ip
from gridlink.core.errors import DomainError
from gridlink.registry.masking import MASKED_FIELDS
from gridlink.registry.models import Organisation, Resident
from gridlink.registry.present import (
    building_row,
    organisation_row,
    resident_row,
    sees_households,
)
from gridlink.registry.selectors import (
    buildings_visible_to,
    households_visible_to,
    organisations_visible_to,
    residents_visible_to,
    tags_visible_to,
)
from gridlink.registry.services import record_unmask, resident_lookup
from gridlink.web import selectors
from gridlink.web.forms import (
    OrganisationSearchForm,
    RegistrySearchForm,
    ResidentLookupForm,
    ResidentSearchForm,
    UnmaskForm,
    field_label,
)
from gridlink.web.views.common import add_refusal, capability_required

if TYPE_CHECKING:
    from gridlink.web.views.common import AuthedRequest


# --- Lists -----------------------------------------------------------------------------------


def _search_page(
    request: AuthedRequest,
    form: RegistrySearchForm,
    search: Callable[..., Any],
    extra_fields: tuple[str, ...] = (),
) -> selectors.KeysetPage | None:
    """Run a registry search if the form is valid; None (and errors on the form) if not."""
    if not form.is_valid():
        return None
    data = form.cleaned_data
    extra = {name: data[name] for name in extra_fields}
    qs = search(request.user, text=data["q"], grid_code=data["grid"], **extra)
    return selectors.keyset_page(qs, after=data["after"])


def _resident_list(request: AuthedRequest, query: QueryDict) -> dict[str, Any]:
    """The residents page: the name search, and the lookup panel for users who may unmask."""
    form = ResidentSearchForm(
        query,
        search_label=pgettext("person", "Name"),
        search_help=_("A name or part of a name."),
    )
    page = _search_page(request, form, residents_visible_to)
    rows = [resident_row(r, request.user, tags=False) for r in page.items] if page else []
    may_lookup = has_capability(request.user, Cap.REGISTRY_UNMASK)
    return {
        "form": form,
        "page": page,
        "rows": rows,
        "registry": "residents",
        "list_url": reverse("web:resident_list"),
        "lookup_form": ResidentLookupForm() if may_lookup else None,
        "may_lookup": may_lookup,
        "lookup_rows": None,
    }


@never_cache
@capability_required(Cap.REGISTRY_VIEW)
def resident_list(request: AuthedRequest) -> HttpResponse:
    return render(request, "web/residents.html", _resident_list(request, request.GET))


@never_cache
@require_POST
@capability_required(Cap.REGISTRY_VIEW)
def resident_lookup_view(request: AuthedRequest) -> HttpResponse:
    """Find residents by a whole ID number or phone, with a purpose (POST: the identifier
    stays out of URLs and server logs). The service checks the capability and logs it."""
    form = ResidentLookupForm(request.POST)
    found: list[Resident] | None = None
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        try:
            found = resident_lookup(
                actor=request.user,
                purpose=data["purpose"],
                ip=client_ip(request.META),
                id_number=data["id_number"],
                phone=data["phone"],
            )
        except DomainError as exc:
            status = add_refusal(form, exc)
    rows = None if found is None else [resident_row(r, request.user, tags=False) for r in found]
    lookup = {
        "lookup_form": form,
        "may_lookup": has_capability(request.user, Cap.REGISTRY_UNMASK),
        "lookup_rows": rows,
        "lookup_purpose": form.cleaned_data["purpose"] if rows is not None else "",
    }
    if request.htmx:
        return render(request, "web/residents.html#lookup", lookup, status=status)
    context = _resident_list(request, QueryDict())
    context.update(lookup)
    return render(request, "web/residents.html", context, status=status)


@never_cache
@capability_required(Cap.REGISTRY_VIEW)
def organisation_list(request: AuthedRequest) -> HttpResponse:
    form = OrganisationSearchForm(
        request.GET, search_help=_("A name, or a whole unified social credit code.")
    )
    page = _search_page(request, form, organisations_visible_to, extra_fields=("kind",))
    rows = [organisation_row(o) for o in page.items] if page else []
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "registry": "organisations",
        "list_url": reverse("web:organisation_list"),
    }
    return render(request, "web/organisations.html", context)


@never_cache
@capability_required(Cap.REGISTRY_VIEW)
def building_list(request: AuthedRequest) -> HttpResponse:
    form = RegistrySearchForm(
        request.GET, search_help=_("An address, a building name or a standard address code.")
    )
    page = _search_page(request, form, buildings_visible_to)
    rows = [building_row(b) for b in page.items] if page else []
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "registry": "buildings",
        "list_url": reverse("web:building_list"),
    }
    return render(request, "web/buildings.html", context)


# --- Records of residents and organisations --------------------------------------------------


def _kind(record: Resident | Organisation) -> str:
    """The record's kind as the masking rules, unmask form and URL names spell it."""
    return "resident" if isinstance(record, Resident) else "organisation"


def _sensitive(
    request: AuthedRequest,
    record: Resident | Organisation,
    row: dict[str, Any],
    form: UnmaskForm,
    revealed: dict[str, str] | None,
    purpose: str,
) -> dict[str, Any]:
    """Context of the masked-fields block: masked values, any revealed ones, the form."""
    kind = _kind(record)
    items = [
        {
            "name": name,
            "label": field_label(type(record), name),
            "masked": row[name],
            "revealed": (revealed or {}).get(name),
        }
        for name in MASKED_FIELDS[kind]
    ]
    return {
        "record": record,
        "kind": kind,
        "sensitive": items,
        "unmask_form": form,
        "may_unmask": can_in_area(request.user, Cap.REGISTRY_UNMASK, record.grid),
        "revealed_purpose": purpose if revealed else "",
        "detail_url": reverse(f"web:{kind}_detail", args=[record.pk]),
        "unmask_url": reverse(f"web:{kind}_unmask", args=[record.pk]),
    }


def _record_page(
    request: AuthedRequest,
    record: Resident | Organisation,
    *,
    form: UnmaskForm | None = None,
    revealed: dict[str, str] | None = None,
    purpose: str = "",
) -> dict[str, Any]:
    """Context of a resident's or an organisation's page, masked-fields block included."""
    context: dict[str, Any]
    if isinstance(record, Resident):
        row = resident_row(record, request.user, tags=False)
        household = record.household if sees_households(request.user, record.grid) else None
        context = {
            "resident": record,
            "row": row,
            "tags": tags_visible_to(request.user, list(record.tags.all()), grid=record.grid),
            "household": household,
            "building_visible": bool(
                household
                and household.building_id
                and buildings_visible_to(request.user).filter(pk=household.building_id).exists()
            ),
        }
    else:
        row = organisation_row(record)
        context = {"organisation": record, "row": row}
    if form is None:
        form = UnmaskForm(kind=_kind(record), model=type(record))
    context.update(_sensitive(request, record, row, form, revealed, purpose))
    return context


def _unmask_reply(
    request: AuthedRequest, record: Resident | Organisation, page_template: str
) -> HttpResponse:
    """Reveal the fields the form asks for: the masked-fields block for htmx, else the whole
    page. The service checks the capability and the purpose, and logs the access."""
    form = UnmaskForm(request.POST, kind=_kind(record), model=type(record))
    revealed: dict[str, str] | None = None
    status = 200
    if form.is_valid():
        try:
            revealed = record_unmask(
                actor=request.user,
                record=record,
                fields=form.cleaned_data["reveal"],
                purpose=form.cleaned_data["purpose"],
                ip=client_ip(request.META),
            )
        except DomainError as exc:
            status = add_refusal(form, exc, field_aliases={"fields": "reveal"})
    purpose = form.cleaned_data.get("purpose") or ""
    context = _record_page(request, record, form=form, revealed=revealed, purpose=purpose)
    template = "web/_sensitive.html" if request.htmx else page_template
    return render(request, template, context, status=status)


@never_cache
@capability_required(Cap.REGISTRY_VIEW)
def resident_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    resident = get_object_or_404(residents_visible_to(request.user), pk=pk)
    return render(request, "web/resident_detail.html", _record_page(request, resident))


@never_cache
@require_POST
@capability_required(Cap.REGISTRY_VIEW)
def resident_unmask(request: AuthedRequest, pk: int) -> HttpResponse:
    resident = get_object_or_404(residents_visible_to(request.user), pk=pk)
    return _unmask_reply(request, resident, "web/resident_detail.html")


@never_cache
@capability_required(Cap.REGISTRY_VIEW)
def organisation_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(organisations_visible_to(request.user), pk=pk)
    return render(request, "web/organisation_detail.html", _record_page(request, org))


@never_cache
@require_POST
@capability_required(Cap.REGISTRY_VIEW)
def organisation_unmask(request: AuthedRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(organisations_visible_to(request.user), pk=pk)
    return _unmask_reply(request, org, "web/organisation_detail.html")


# --- Buildings -------------------------------------------------------------------------------


@never_cache
@capability_required(Cap.REGISTRY_VIEW)
def building_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    building = get_object_or_404(buildings_visible_to(request.user), pk=pk)
    households = selectors.with_member_counts(
        households_visible_to(request.user).filter(building=building)
    ).order_by("number")
    context = {
        "building": building,
        "row": building_row(building),
        "households": households,
        "organisations": organisations_visible_to(request.user).filter(building=building),
    }
    return render(request, "web/building_detail.html", context)
