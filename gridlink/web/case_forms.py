"""Forms of the case pages. They parse input into the shapes the case services take
(`Report`, transition `inputs`); every rule stays in `gridlink.cases.services`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from gridlink.cases.models import Card, CategoryAttribute, Channel, Datatype, Satisfaction
from gridlink.cases.services.hotline import HotlineOrder
from gridlink.cases.services.intake import Report
from gridlink.cases.workflow import Action, State
from gridlink.web.forms import WebForm

ATTRIBUTE_PREFIX = "attr_"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the photo service checks each one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class IntListField(forms.Field):
    """A list of ids from a multiple select (the choices are checked by the service)."""

    widget = forms.SelectMultiple

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            return [int(v) for v in value]
        except (TypeError, ValueError):
            raise forms.ValidationError(_("Choose from the list."), code="invalid") from None


def _decimal(label: Any) -> forms.FloatField:
    return forms.FloatField(
        label=label,
        required=False,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )


class ReportForm(WebForm):
    """A resident's report (居民随手拍). Extra fields follow the chosen sub-class."""

    category_code = forms.CharField(
        label=_("Category"), required=False, max_length=10, widget=forms.HiddenInput
    )
    title = forms.CharField(label=_("Title (optional)"), required=False, max_length=100)
    description = forms.CharField(
        label=_("What is the problem?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    photos = MultipleFileField(label=_("Photos"))
    lat = _decimal(_("Latitude"))
    lon = _decimal(_("Longitude"))
    address = forms.CharField(
        label=_("Or a standard address"),
        required=False,
        max_length=200,
        help_text=_("Used only when no point is given."),
    )
    anonymous = forms.BooleanField(label=_("Report anonymously"), required=False)
    reporter_name = forms.CharField(label=_("Your name"), required=False, max_length=50)
    reporter_phone = forms.CharField(
        label=_("Mobile phone"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    reporter_email = forms.CharField(
        label=_("E-mail"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    channel = Channel.RESIDENT_WEB

    def __init__(
        self, *args: Any, attributes: list[CategoryAttribute] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.attributes = attributes or []
        for attribute in self.attributes:
            self.fields[ATTRIBUTE_PREFIX + attribute.code] = attribute_field(attribute)

    def attribute_fields(self) -> list[forms.BoundField]:
        return [self[ATTRIBUTE_PREFIX + a.code] for a in self.attributes]

    def attribute_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for attribute in self.attributes:
            value = self.cleaned_data.get(ATTRIBUTE_PREFIX + attribute.code)
            if value in (None, "", []):
                continue
            if attribute.datatype == Datatype.DATETIME:
                value = value.isoformat()
            values[attribute.code] = value
        return values

    def report(self, photo_keys: list[str]) -> Report:
        data = self.cleaned_data
        return Report(
            channel=self.channel,
            category_code=data.get("category_code") or "",
            description=data.get("description") or "",
            title=data.get("title") or "",
            lat=data.get("lat"),
            lon=data.get("lon"),
            address=data.get("address") or "",
            attributes=self.attribute_values(),
            photo_keys=photo_keys,
            anonymous=bool(data.get("anonymous")),
            reporter_name=data.get("reporter_name") or "",
            reporter_phone=data.get("reporter_phone") or "",
            reporter_email=data.get("reporter_email") or "",
        )

    def service_field(self, name: str | None) -> str | None:
        """The form field a service error names (`attributes.x` → `attr_x`)."""
        if not name:
            return None
        if name.startswith("attributes."):
            name = ATTRIBUTE_PREFIX + name.removeprefix("attributes.")
        if name == "photo_keys":
            name = "photos"
        return name if name in self.fields else None


class PatrolForm(ReportForm):
    """A grid worker's patrol report (网格员巡查), optionally handled on the spot."""

    on_the_spot = forms.BooleanField(label=_("Handled on the spot"), required=False)
    evidence = MultipleFileField(
        label=_("Photos after handling"), help_text=_("Needed when handled on the spot.")
    )

    channel = Channel.GRID_PATROL

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("anonymous", "reporter_name", "reporter_phone", "reporter_email", "title"):
            del self.fields[name]


class HotlineForm(ReportForm):
    """A 12345 work order taken down by the hotline operator (热线工单录入). The order number
    is entered once: it fills the sub-class's `hotline_order_no` attribute too."""

    order_number = forms.CharField(
        label=_("12345 order number"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    caller_name = forms.CharField(label=_("Caller's name"), required=False, max_length=50)
    caller_phone = forms.CharField(
        label=_("Caller's number"),
        max_length=20,
        help_text=_("A mobile number: the callback goes to it."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )

    channel = Channel.HOTLINE
    # Filled from the order number, so not asked for again.
    NUMBER_ATTRIBUTE = "hotline_order_no"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attributes = [a for a in self.attributes if a.code != self.NUMBER_ATTRIBUTE]
        self.fields.pop(ATTRIBUTE_PREFIX + self.NUMBER_ATTRIBUTE, None)
        for name in ("anonymous", "reporter_name", "reporter_phone", "reporter_email", "title",
                     "photos"):  # fmt: skip
            del self.fields[name]

    def order(self) -> HotlineOrder:
        data = self.cleaned_data
        return HotlineOrder(
            order_number=data.get("order_number") or "",
            category_code=data.get("category_code") or "",
            description=data.get("description") or "",
            caller_name=data.get("caller_name") or "",
            caller_phone=data.get("caller_phone") or "",
            lat=data.get("lat"),
            lon=data.get("lon"),
            address=data.get("address") or "",
            attributes=self.attribute_values(),
        )

    def service_field(self, name: str | None) -> str | None:
        renamed = {"external_number": "order_number", "reporter_name": "caller_name",
                   "reporter_phone": "caller_phone",
                   f"attributes.{self.NUMBER_ATTRIBUTE}": "order_number"}  # fmt: skip
        return super().service_field(renamed.get(name or "", name))


class CallbackForm(WebForm):
    """The operator's callback (回访): what the reporter said when called back."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    satisfaction = forms.ChoiceField(
        label=_("Satisfaction the reporter stated"),
        choices=Satisfaction.choices,
        widget=forms.RadioSelect,
    )
    solved = forms.TypedChoiceField(
        label=_("Solved, in the reporter's words?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Notes of the call (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def inputs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"satisfaction": data["satisfaction"], "solved": data["solved"],
                "comment": data.get("comment") or ""}  # fmt: skip


def attribute_field(attribute: CategoryAttribute) -> forms.Field:
    """A form field for a sub-class's extra attribute (the service checks the value)."""
    english = (get_language() or "").startswith("en")
    common: dict[str, Any] = {
        "label": (attribute.name_en if english else "") or attribute.name_zh,
        "required": False,
        "help_text": (attribute.help_en if english else "") or attribute.help_zh,
    }
    name = "name_en" if english else "name_zh"
    choices = [(v["key"], v.get(name) or v.get("name_zh") or v["key"]) for v in attribute.values]
    match attribute.datatype:
        case Datatype.NUMBER:
            return forms.FloatField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
        case Datatype.DATETIME:
            picker = forms.DateTimeInput(attrs={"type": "datetime-local"})
            return forms.DateTimeField(widget=picker, **common)
        case Datatype.TEXT:
            return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
        case Datatype.SINGLE_VALUE_LIST:
            return forms.ChoiceField(choices=[("", "—"), *choices], **common)
        case Datatype.MULTI_VALUE_LIST:
            boxes = forms.CheckboxSelectMultiple
            return forms.MultipleChoiceField(choices=choices, widget=boxes, **common)
    return forms.CharField(**common)


class CategorySearchForm(WebForm):
    category_q = forms.CharField(label=_("Find a category"), required=False, max_length=50)


class TrackForm(WebForm):
    code = forms.CharField(
        label=_("Tracking code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class RateForm(WebForm):
    """The reporter's rating of a closed case (评价)."""

    satisfaction = forms.ChoiceField(
        label=_("How satisfied are you?"),
        choices=Satisfaction.choices,
        widget=forms.RadioSelect,
    )
    solved = forms.TypedChoiceField(
        label=_("Was the problem solved?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    rating_key = forms.CharField(
        label=_("Rating key"),
        help_text=_("The rating key you were given when you reported (not the tracking code)."),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def inputs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "satisfaction": data["satisfaction"],
            "solved": data["solved"],
            "comment": data.get("comment") or "",
        }


class UnmaskForm(WebForm):
    """Why the reporter's contact details are needed (logged with the access)."""

    purpose = forms.CharField(
        label=_("Purpose"),
        help_text=_("For example: callback on this case."),
        max_length=200,
    )


class CaseFilterForm(WebForm):
    """Filters of the staff work list; `after` is the keyset cursor (a case id)."""

    TABS = ("mine", "all")

    tab = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[("mine", _("My queue")), ("all", _("All I can see"))],
    )
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("Any")), *State.choices]
    )
    card = forms.ChoiceField(
        label=_("Card"),
        required=False,
        choices=[("", _("Any")), *[(c, label) for c, label in Card.choices if c]],
    )
    supervised = forms.BooleanField(label=_("Supervised only"), required=False)
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    after = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class ActionForm(WebForm):
    """The inputs any action may take; `inputs()` keeps those the action uses."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
    unit_id = forms.CharField(label=_("Responsible unit"), required=False, max_length=40)
    department_ids = IntListField(label=_("Departments to summon"), required=False)
    lead_department_id = forms.IntegerField(label=_("Lead department"), required=False)
    parent_case_id = forms.IntegerField(label=_("Parent case"), required=False)
    duration = forms.CharField(
        label=_("Extra time"),
        required=False,
        max_length=8,
        help_text=_("Working days like 2d, or hours like 4h."),
    )
    evidence = MultipleFileField(label=_("Photos"))
    result = forms.CharField(
        label=_("Result"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )
    verifier_id = forms.IntegerField(label=_("Verifier"), required=False)
    satisfaction = forms.ChoiceField(
        label=_("Satisfaction"), required=False, choices=[("", "—"), *Satisfaction.choices]
    )
    solved = forms.TypedChoiceField(
        label=_("Solved"),
        required=False,
        choices=[("", "—"), ("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda v: v == "yes",
        empty_value=None,
    )

    # Inputs an action takes besides its required ones (`workflow_table` `requires`).
    OPTIONAL: dict[str, tuple[str, ...]] = {
        Action.SUBMIT_RESULT: ("result",),
        Action.VERIFY_PASS: ("evidence",),
        Action.VERIFY_FAIL: ("evidence",),
        Action.HANDLE_ON_THE_SPOT: ("result",),
    }

    def inputs(
        self, action: str, requires: frozenset[str], photo_keys: list[str]
    ) -> dict[str, Any]:
        names = set(requires) | set(self.OPTIONAL.get(action, ()))
        out: dict[str, Any] = {}
        for name in names:
            if name == "evidence":
                if photo_keys or "evidence" in requires:
                    out[name] = photo_keys
                continue
            value = self.cleaned_data.get(name)
            if value not in (None, "", []):
                out[name] = value
        return out


class TaskForm(WebForm):
    """Joint-handling task steps: report in, complete (with a result), rate."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    result = forms.CharField(
        label=_("What your department did"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    rating = forms.TypedChoiceField(
        label=_("Participation rating"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(str(n), str(n)) for n in range(5, 0, -1)],
    )
