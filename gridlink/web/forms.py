"""Forms of the web pages. They parse input; the rules live in services and selectors."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import RegexValidator
from django.db.models import Field, Model
from django.utils.translation import gettext_lazy as _

from gridlink.registry.masking import MASKED_FIELDS
from gridlink.registry.models import OrganisationKind


def field_label(model: type[Model], name: str) -> str:
    """The verbose name of a model field, in the active language."""
    field = model._meta.get_field(name)
    return str(field.verbose_name) if isinstance(field, Field) else name


class WebForm(forms.Form):
    """Labels stand on their own line, so they need no trailing colon in any language."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class LoginForm(AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class LocateForm(WebForm):
    """A point (WGS84) to resolve to its grid."""

    lat = forms.FloatField(
        label=_("Latitude"),
        min_value=-90,
        max_value=90,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    lon = forms.FloatField(
        label=_("Longitude"),
        min_value=-180,
        max_value=180,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )

    def point(self) -> tuple[float, float]:
        return self.cleaned_data["lat"], self.cleaned_data["lon"]


area_code_validator = RegexValidator(
    r"^\d{6}(\d{3}){0,4}$",
    message=_("An area code has 6, 9, 12, 15 or 18 digits."),
    code="area_code",
)


class RegistrySearchForm(WebForm):
    """Search a registry list: free text, a grid (or any area) code, and the keyset cursor."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    grid = forms.CharField(
        label=_("Area or grid code"),
        required=False,
        max_length=18,
        validators=[area_code_validator],
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, search_help: str = "", search_label: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if search_label:
            self.fields["q"].label = search_label
        # The hint sits under the whole form, so that the inputs line up on wide screens.
        self.search_help = search_help
        if search_help:
            self.fields["q"].widget.attrs["aria-describedby"] = "search-hint"


# Four digits in a row or more: no name looks like that, an ID number or phone (whole,
# masked or in part) does.
_DIGITS = re.compile(r"\d{4,}")


class ResidentSearchForm(RegistrySearchForm):
    """Residents are searched by name only.

    Finding someone by ID number or phone is a logged lookup with a purpose (a POST, see
    `ResidentLookupForm`), so an identifier typed here is refused rather than searched, and
    never travels on in the page's links.
    """

    def clean_q(self) -> str:
        text: str = self.cleaned_data["q"]
        if _DIGITS.search(text):
            raise forms.ValidationError(
                _(
                    "Search residents by name. Finding someone by ID number or mobile "
                    "number is a separate lookup with a stated purpose."
                ),
                code="identifier",
            )
        return text


class OrganisationSearchForm(RegistrySearchForm):
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("All kinds")), *OrganisationKind.choices],
    )


_PURPOSE_HELP = _("A case number or a task, e.g. “Case 2025-000123 home visit”.")


class UnmaskForm(WebForm):
    """Which masked fields to reveal, and why. The purpose rule is the service's."""

    reveal = forms.MultipleChoiceField(
        label=_("Fields to reveal"), widget=forms.CheckboxSelectMultiple
    )
    purpose = forms.CharField(
        label=_("Purpose"),
        required=False,
        help_text=_PURPOSE_HELP,
        widget=forms.TextInput(attrs={"maxlength": "200", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, kind: str, model: type[Model], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.MultipleChoiceField, self.fields["reveal"])
        field.choices = [(name, field_label(model, name)) for name in MASKED_FIELDS[kind]]


class ResidentLookupForm(WebForm):
    """An ID number or a mobile number, and why. Which one, its format and the purpose are
    checked by `registry.services.resident_lookup`, which reports the field at fault."""

    id_number = forms.CharField(
        label=_("ID number"),
        required=False,
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    purpose = forms.CharField(
        label=_("Purpose"),
        required=False,
        help_text=_PURPOSE_HELP,
        widget=forms.TextInput(attrs={"maxlength": "200", "autocomplete": "off"}),
    )
