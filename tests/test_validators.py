import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from gridlink.core.validators import (
    make_credit_code,
    make_id_number,
    validate_credit_code,
    validate_id_number,
    validate_mobile,
)
from gridlink.registry.masking import mask_id_number, mask_phone


@pytest.mark.parametrize(
    "value",
    [
        "11010519491231002X",
        "11010519491231002x",
        make_id_number("370211", dt.date(2001, 2, 28), 17),
    ],
)
def test_valid_id_numbers(value):
    validate_id_number(value)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1101051949123100", "length"),
        ("11010519491231002Y", "format"),
        ("99010519491231002X", "region"),
        ("110105194902300021", "birth_date"),  # 30 February
        ("110105189912310021", "birth_date"),  # before 1900
        ("110105194912310021", "check_char"),
    ],
)
def test_invalid_id_numbers_say_why(value, code):
    with pytest.raises(ValidationError) as info:
        validate_id_number(value)
    assert info.value.code == code


def test_future_birth_date_is_rejected():
    future = dt.date.today() + dt.timedelta(days=2)
    with pytest.raises(ValidationError) as info:
        validate_id_number(make_id_number("370211", future, 1))
    assert info.value.code == "birth_date"


@pytest.mark.parametrize("value", ["13800138000", "19912345678", "17000000000"])
def test_valid_mobiles(value):
    validate_mobile(value)


@pytest.mark.parametrize(
    "value", ["12800138000", "1380013800", "138001380000", "+8613800138000", "1380013800a"]
)
def test_invalid_mobiles(value):
    with pytest.raises(ValidationError):
        validate_mobile(value)


@pytest.mark.parametrize(
    "value", ["91350100M000100Y43", "91110000802100433B", make_credit_code("52370211MJ1234567")]
)
def test_valid_credit_codes(value):
    validate_credit_code(value)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y4I", "format"),  # I is not in the alphabet
        ("913501A0M000100Y43", "format"),  # region code must be digits
        ("91350100M000100Y44", "check_char"),
    ],
)
def test_invalid_credit_codes_say_why(value, code):
    with pytest.raises(ValidationError) as info:
        validate_credit_code(value)
    assert info.value.code == code


def test_masking_keeps_the_agreed_characters():
    assert mask_id_number("370211199001011234") == "370211********1234"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("") == ""


def test_resident_clean_checks_sex_and_birth_date_against_the_id_number():
    from gridlink.registry.models import Resident

    resident = Resident(id_number="11010519491231002X", sex="M", birth_date=dt.date(1950, 1, 1))
    with pytest.raises(ValidationError) as info:
        resident.clean()
    assert set(info.value.message_dict) == {"sex", "birth_date"}
    Resident(id_number="11010519491231002X", sex="F", birth_date=dt.date(1949, 12, 31)).clean()
