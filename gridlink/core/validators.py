"""Validators for the identifiers of the base registry.

- Resident ID number (居民身份证号码), GB 11643-1999: 6-digit region code, 8-digit birth
  date, 3-digit sequence (odd = male), and an ISO 7064 MOD 11-2 check character.
- Mainland mobile number: 11 digits starting 1[3-9].
- Unified social credit code (统一社会信用代码), GB 32100-2015: 18 characters from a
  31-character alphabet with a MOD 31 check character.

Each raises `django.core.exceptions.ValidationError` with a `code` and a message that
says what is wrong; callers attach the field name.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"
# Province-level prefixes of GB/T 2260 (incl. Taiwan 71, Hong Kong 81, Macao 82, and 83
# used on residence permits for Hong Kong, Macao and Taiwan residents).
_PROVINCES = {
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "81",
    "82",
    "83",
}
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def id_number_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def birth_date_from_id(value: str) -> dt.date:
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def sex_from_id(value: str) -> str:
    return "M" if int(value[16]) % 2 == 1 else "F"


def normalise_id_number(value: str) -> str:
    return value.strip().upper()


def validate_id_number(value: str) -> None:
    value = normalise_id_number(value)
    if len(value) != 18:
        raise ValidationError(
            _("ID number must have 18 characters, got %(n)d."),
            code="length",
            params={"n": len(value)},
        )
    if not _ID_RE.match(value):
        raise ValidationError(
            _("ID number must be 17 digits followed by a digit or X."), code="format"
        )
    if value[:2] not in _PROVINCES:
        raise ValidationError(
            _("ID number region code %(code)s is not a known province."),
            code="region",
            params={"code": value[:6]},
        )
    try:
        born = birth_date_from_id(value)
    except ValueError:
        raise ValidationError(
            _("ID number birth date %(date)s is not a real date."),
            code="birth_date",
            params={"date": value[6:14]},
        ) from None
    if born.year < 1900 or born > dt.date.today():
        raise ValidationError(
            _("ID number birth date %(date)s is out of range."),
            code="birth_date",
            params={"date": value[6:14]},
        )
    expected = id_number_check_char(value[:17])
    if value[17] != expected:
        raise ValidationError(
            _("ID number check character is %(got)s but should be %(want)s."),
            code="check_char",
            params={"got": value[17], "want": expected},
        )


def validate_mobile(value: str) -> None:
    if not _MOBILE_RE.match(value.strip()):
        raise ValidationError(
            _("Mobile number must be 11 digits starting with 13–19."), code="mobile"
        )


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> None:
    value = value.strip().upper()
    if len(value) != 18:
        raise ValidationError(
            _("Unified social credit code must have 18 characters, got %(n)d."),
            code="length",
            params={"n": len(value)},
        )
    if not _USCC_RE.match(value):
        raise ValidationError(
            _(
                "Unified social credit code has a character outside its alphabet "
                "(digits and A–Y without I, O, S, V, Z) or a non-digit region code."
            ),
            code="format",
        )
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        raise ValidationError(
            _("Unified social credit code check character is %(got)s but should be %(want)s."),
            code="check_char",
            params={"got": value[17], "want": expected},
        )


def make_id_number(region: str, born: dt.date, sequence: int) -> str:
    """Build a valid ID number (for demo data and tests): region, birth date, 3-digit sequence."""
    body = f"{region}{born:%Y%m%d}{sequence % 1000:03d}"
    return body + id_number_check_char(body)


def make_credit_code(body17: str) -> str:
    """Complete a 17-character credit code body with its check character."""
    return body17 + uscc_check_char(body17)


def id_number_disagreements(
    *, id_number: str, sex: str | None, birth_date: dt.date | None
) -> dict[str, str]:
    """Where sex or birth date disagree with a valid ID number (GB 11643), by field name.

    The 17th character of the ID number is odd for men and even for women, and characters
    7–14 are the birth date. Call only with an ID number that passed `validate_id_number`.
    """
    problems: dict[str, str] = {}
    want_sex = sex_from_id(id_number)
    if sex and sex != want_sex:
        problems["sex"] = _(
            "Sex %(sex)s does not match the ID number, whose 17th digit says %(want)s."
        ) % {"sex": sex, "want": want_sex}
    want_birth = birth_date_from_id(id_number)
    if birth_date and birth_date != want_birth:
        problems["birth_date"] = _(
            "Birth date %(date)s does not match the ID number, which says %(want)s."
        ) % {"date": birth_date.isoformat(), "want": want_birth.isoformat()}
    return problems
