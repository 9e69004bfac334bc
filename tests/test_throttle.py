import pytest
import time_machine
from django.contrib.auth import authenticate
from django.test import RequestFactory

from gridlink.accounts.throttle import login_retry_after
from tests.factories import UserFactory


def _fail(username, ip="10.0.0.9"):
    request = RequestFactory().post("/login/", REMOTE_ADDR=ip)
    assert authenticate(request, username=username, password="wrong") is None


def test_five_failures_lock_the_username_for_the_window(db, settings):
    settings.GRIDLINK_LOGIN_MAX_FAILURES = 5
    settings.GRIDLINK_LOGIN_LOCK_SECONDS = 900
    UserFactory(username="victim")
    with time_machine.travel("2026-03-02 09:00 +0800", tick=False) as traveller:
        for _ in range(4):
            _fail("victim")
        assert login_retry_after(username="victim", ip="10.0.0.8") is None
        _fail("victim")
        wait = login_retry_after(username="victim", ip="10.0.0.8")
        assert wait == 900
        assert login_retry_after(username="someone-else", ip="10.0.0.8") is None
        traveller.shift(901)
        assert login_retry_after(username="victim", ip="10.0.0.8") is None


def test_many_failures_from_one_address_lock_that_address(db, settings):
    settings.GRIDLINK_LOGIN_MAX_FAILURES = 2
    for i in range(10):
        _fail(f"user{i}", ip="10.9.9.9")
    assert login_retry_after(username="fresh", ip="10.9.9.9") is not None
    assert login_retry_after(username="fresh", ip="10.9.9.8") is None


def test_a_locked_username_cannot_sign_in_even_with_the_right_password(db, settings):
    settings.GRIDLINK_LOGIN_MAX_FAILURES = 3
    UserFactory(username="target", password="right-password-1")
    request = RequestFactory().post("/login/", REMOTE_ADDR="10.0.0.1")
    assert authenticate(request, username="target", password="right-password-1") is not None
    for _ in range(3):
        _fail("target")
    assert authenticate(request, username="target", password="right-password-1") is None


def test_sign_in_page_answers_429_with_retry_after_while_locked(client, db, settings):
    settings.GRIDLINK_LOGIN_MAX_FAILURES = 2
    UserFactory(username="clerk", password="right-password-1")
    for _ in range(2):
        r = client.post("/login/", {"username": "clerk", "password": "wrong"})
        assert r.status_code == 200
    r = client.post("/login/", {"username": "clerk", "password": "right-password-1"})
    assert r.status_code == 429
    assert 0 < int(r["Retry-After"]) <= settings.GRIDLINK_LOGIN_LOCK_SECONDS
    assert "_auth_user_id" not in client.session


def test_refused_attempts_while_locked_do_not_extend_the_lock(db, settings):
    from gridlink.core.models import AuditEvent

    settings.GRIDLINK_LOGIN_MAX_FAILURES = 2
    settings.GRIDLINK_LOGIN_LOCK_SECONDS = 900
    UserFactory(username="steady")
    with time_machine.travel("2026-03-02 09:00 +0800", tick=False) as traveller:
        _fail("steady")
        _fail("steady")
        traveller.shift(600)
        for _ in range(5):
            _fail("steady")  # refused: locked
        assert AuditEvent.objects.filter(action="auth.login_refused").count() == 5
        traveller.shift(301)  # 901 s after the second real failure
        assert login_retry_after(username="steady", ip="10.0.0.9") is None


def test_admin_sign_in_answers_429_while_locked(client, db, settings):
    settings.GRIDLINK_LOGIN_MAX_FAILURES = 1
    UserFactory(username="ops", password="right-password-1", is_staff=True)
    client.post("/admin/login/", {"username": "ops", "password": "wrong"})
    r = client.post("/admin/login/", {"username": "ops", "password": "right-password-1"})
    assert r.status_code == 429
    assert int(r["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db(transaction=True)
def test_concurrent_guesses_get_exactly_the_limit_tried(settings):
    """Counting then checking let concurrent guesses slip past the limit; each attempt now
    reserves its failure atomically first, so exactly the limit of them is tried."""
    import threading

    from django.db import connection

    from gridlink.core.models import AuditEvent

    settings.GRIDLINK_LOGIN_MAX_FAILURES = 5
    UserFactory(username="besieged", password="right-password-1")
    barrier = threading.Barrier(8)

    def guess() -> None:
        try:
            barrier.wait(timeout=20)
            for _ in range(2):
                request = RequestFactory().post("/login/", REMOTE_ADDR="10.7.7.7")
                # A refusal (PermissionDenied in the backend) also ends as None here.
                assert authenticate(request, username="besieged", password="wrong") is None
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 5
    assert AuditEvent.objects.filter(action="auth.login_refused").count() == 11
    request = RequestFactory().post("/login/", REMOTE_ADDR="10.7.7.8")
    assert authenticate(request, username="besieged", password="right-password-1") is None
