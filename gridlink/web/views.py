"""The server-rendered pages: parse the request, call a selector or service, render.

htmx requests get a template partial (`template.html#name`) instead of the whole page.
Form errors come back with status 200 so that htmx swaps them in like any other reply;
a refusal (`NotPermitted`) comes back as 403, which the page's htmx configuration swaps too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from gridlink.accounts.permissions import can_in_area, has_capability
from gridlink.accounts.roles import Cap
from gridlink.accounts.throttle import login_retry_after
from gridlink.core.audit import client_ip
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.geo.locator import PointOutsideGrids, locator
from gridlink.geo.models import Area, Level
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
    LocateForm,
    LoginForm,
    OrganisationSearchForm,
    RegistrySearchForm,
    ResidentLookupForm,
    ResidentSearchForm,
    UnmaskForm,
    field_label,
)
from gridlink.web.maps import area_map

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from gridlink.accounts.models import User

    class AuthedRequest(HttpRequest):
        user: User
        htmx: HtmxDetails


View = Callable[..., HttpResponse]


def capability_required(capability: str) -> Callable[[View], View]:
    """Sign-in required, then 403 unless the user holds `capability` somewhere."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_capability(request.user, capability):
                raise PermissionDenied(_("Your roles do not include this page."))
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def _partial(request: AuthedRequest, template: str, name: str) -> str:
    return f"{template}#{name}" if request.htmx else template


# --- Sign-in and home ------------------------------------------------------------------------

_login = auth_views.LoginView.as_view(
    template_name="web/login.html",
    authentication_form=LoginForm,
    redirect_authenticated_user=True,
)


def login_view(request: HttpRequest) -> HttpResponseBase:
    """Django's sign-in, answering 429 with Retry-After while the account or address is locked."""
    if request.method == "POST":
        username = str(request.POST.get("username", ""))[:150]
        wait = login_retry_after(username=username, ip=client_ip(request.META))
        if wait is not None:
            form = LoginForm(request, data=request.POST)
            minutes = max(1, round(wait / 60))
            form.add_error(
                None,
                _("Too many failed sign-ins. Try again in %(minutes)d minutes.")
                % {"minutes": minutes},
            )
            response = render(request, "web/login.html", {"form": form}, status=429)
            response["Retry-After"] = str(wait)
            return response
    return _login(request)


logout_view = auth_views.LogoutView.as_view()


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    context = {
        "sections": selectors.home_sections(user),
        "admin_links": selectors.admin_links(user),
    }
    return render(request, "web/home.html", context)


# --- Areas -----------------------------------------------------------------------------------


@capability_required(Cap.AREA_VIEW)
def area_index(request: AuthedRequest) -> HttpResponse:
    districts = list(Area.objects.current().filter(level=Level.DISTRICT))
    if len(districts) == 1:
        return redirect("web:area_detail", code=districts[0].code)
    context = {
        "area": None,
        "rows": [selectors.AreaRow(d, selectors.area_totals(d)[0]) for d in districts],
        "map": area_map(districts),
        "locate_form": LocateForm(),
    }
    return render(request, "web/area_detail.html", context)


@capability_required(Cap.AREA_VIEW)
def area_detail(request: AuthedRequest, code: str) -> HttpResponse:
    area = get_object_or_404(Area, code=code)
    totals, rows = selectors.area_totals(area)
    shown, parent = selectors.map_children(area)
    context = {
        "area": area,
        "ancestors": selectors.ancestors_of(area),
        "totals": totals,
        "rows": rows,
        "map": area_map(shown, parent=parent, highlight=area if parent != area else None),
        "departments": selectors.departments_serving(area),
        "counts": selectors.registry_counts(request.user, area),
        "locate_form": LocateForm(),
    }
    return render(request, "web/area_detail.html", context)


@require_GET
@capability_required(Cap.AREA_VIEW)
def area_card(request: AuthedRequest, code: str) -> HttpResponse:
    area = get_object_or_404(Area, code=code)
    context = {
        "card": area,
        "card_totals": selectors.area_totals(area)[0],
        "card_counts": selectors.registry_counts(request.user, area),
    }
    return render(request, "web/area_detail.html#area-card", context)


@require_GET
@capability_required(Cap.AREA_VIEW)
def area_locate(request: AuthedRequest) -> HttpResponse:
    form = LocateForm(request.GET)
    chain: list[Area] = []
    svg = None
    if form.is_valid():
        lat, lon = form.point()
        try:
            refs = locator.locate(lat, lon)
        except PointOutsideGrids:
            form.add_error(
                None,
                _("No grid contains the point (%(lat)s, %(lon)s). Check the numbers.")
                % {"lat": lat, "lon": lon},
            )
        else:
            by_id = Area.objects.in_bulk([r.id for r in refs])
            chain = [by_id[r.id] for r in refs if r.id in by_id]
            if chain:
                shown, parent = selectors.map_children(chain[-1])
                svg = area_map(shown, parent=parent, highlight=chain[-1], point=(lat, lon))
    context = {"locate_form": form, "chain": chain, "located_map": svg}
    return render(request, _partial(request, "web/locate.html", "locate"), context)


# --- Registry --------------------------------------------------------------------------------


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


def _lookup(request: AuthedRequest) -> tuple[ResidentLookupForm, list[Resident] | None, int]:
    """Validate the form and call the service; errors land on the form's fields."""
    form = ResidentLookupForm(request.POST)
    if not form.is_valid():
        return form, None, 200
    data = form.cleaned_data
    try:
        found = resident_lookup(
            actor=request.user,
            purpose=data["purpose"],
            ip=client_ip(request.META),
            id_number=data["id_number"],
            phone=data["phone"],
        )
    except NotPermitted as exc:
        form.add_error(None, exc.message)
        return form, None, 403
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return form, None, 200
    return form, found, 200


@never_cache
@require_POST
@capability_required(Cap.REGISTRY_VIEW)
def resident_lookup_view(request: AuthedRequest) -> HttpResponse:
    """Find residents by a whole ID number or phone, with a purpose (POST: the identifier
    stays out of URLs and server logs). The service checks the capability and logs it."""
    form, found, status = _lookup(request)
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


def _sensitive(
    request: AuthedRequest,
    record: Resident | Organisation,
    row: dict[str, Any],
    form: UnmaskForm,
    revealed: dict[str, str] | None = None,
    purpose: str = "",
) -> dict[str, Any]:
    """Context of the masked-fields block: masked values, any revealed ones, the form."""
    kind = "resident" if isinstance(record, Resident) else "organisation"
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


def _resident_page(request: AuthedRequest, resident: Resident, **sensitive: Any) -> dict[str, Any]:
    row = resident_row(resident, request.user, tags=False)
    household = resident.household if sees_households(request.user, resident.grid) else None
    context = {
        "resident": resident,
        "row": row,
        "tags": tags_visible_to(request.user, list(resident.tags.all()), grid=resident.grid),
        "household": household,
        "building_visible": bool(
            household
            and household.building_id
            and buildings_visible_to(request.user).filter(pk=household.building_id).exists()
        ),
    }
    form = sensitive.pop("form", None) or UnmaskForm(kind="resident", model=Resident)
    context.update(_sensitive(request, resident, row, form, **sensitive))
    return context


def _organisation_page(
    request: AuthedRequest, org: Organisation, **sensitive: Any
) -> dict[str, Any]:
    row = organisation_row(org)
    form = sensitive.pop("form", None) or UnmaskForm(kind="organisation", model=Organisation)
    context: dict[str, Any] = {"organisation": org, "row": row}
    context.update(_sensitive(request, org, row, form, **sensitive))
    return context


@never_cache
@capability_required(Cap.REGISTRY_VIEW)
def resident_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    resident = get_object_or_404(residents_visible_to(request.user), pk=pk)
    return render(request, "web/resident_detail.html", _resident_page(request, resident))


@never_cache
@capability_required(Cap.REGISTRY_VIEW)
def organisation_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(organisations_visible_to(request.user), pk=pk)
    return render(request, "web/organisation_detail.html", _organisation_page(request, org))


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


def _unmask(
    request: AuthedRequest, record: Resident | Organisation
) -> tuple[UnmaskForm, dict[str, str] | None, int]:
    """Validate the form and call the service; errors land on the form."""
    kind = "resident" if isinstance(record, Resident) else "organisation"
    form = UnmaskForm(request.POST, kind=kind, model=type(record))
    if not form.is_valid():
        return form, None, 200
    try:
        revealed = record_unmask(
            actor=request.user,
            record=record,
            fields=form.cleaned_data["reveal"],
            purpose=form.cleaned_data["purpose"],
            ip=client_ip(request.META),
        )
    except NotPermitted as exc:
        form.add_error(None, exc.message)
        return form, None, 403
    except DomainError as exc:
        field = {"fields": "reveal"}.get(exc.field or "", exc.field)
        form.add_error(field if field in form.fields else None, exc.message)
        return form, None, 200
    return form, revealed, 200


@never_cache
@require_POST
@capability_required(Cap.REGISTRY_VIEW)
def resident_unmask(request: AuthedRequest, pk: int) -> HttpResponse:
    resident = get_object_or_404(residents_visible_to(request.user), pk=pk)
    form, revealed, status = _unmask(request, resident)
    purpose = form.cleaned_data.get("purpose") or ""
    context = _resident_page(request, resident, form=form, revealed=revealed, purpose=purpose)
    template = "web/_sensitive.html" if request.htmx else "web/resident_detail.html"
    return render(request, template, context, status=status)


@never_cache
@require_POST
@capability_required(Cap.REGISTRY_VIEW)
def organisation_unmask(request: AuthedRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(organisations_visible_to(request.user), pk=pk)
    form, revealed, status = _unmask(request, org)
    purpose = form.cleaned_data.get("purpose") or ""
    context = _organisation_page(request, org, form=form, revealed=revealed, purpose=purpose)
    template = "web/_sensitive.html" if request.htmx else "web/organisation_detail.html"
    return render(request, template, context, status=status)
