"""No public default key (issue 10 §1).

- The embedded default (no DATABASE_URL) generates a secret key and a separate audit key on
  first start, keeps them in GRIDLINK_DATA_DIR/keys/ (directory 0700, files 0600) and reuses
  them on the next start.
- With DATABASE_URL set, gridlink refuses to start without explicit keys.
- `check --deploy` is clean under the production settings documented in the README.

Each case starts a real `gridlink` process with an environment of its own (no keys of the
test suite), since settings are read once per process.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

PRINT_KEYS = (
    "from django.conf import settings; print(settings.SECRET_KEY); "
    "print(settings.GRIDLINK_AUDIT_KEY)"
)
DEPLOY_CHECK = ("check", "--deploy", "--fail-level", "WARNING")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GRIDLINK_", "DJANGO_")) and name != "DATABASE_URL"
    }
    env.update(DJANGO_SETTINGS_MODULE="gridlink.settings", GRIDLINK_DATA_DIR=str(tmp_path / "data"))
    env.update(extra)
    return env


def _gridlink(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridlink.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_default_generates_owner_only_keys_once(tmp_path):
    env = _env(tmp_path)
    first = _gridlink(env, "shell", "--no-imports", "-c", PRINT_KEYS)
    assert first.returncode == 0, first.stderr
    secret, audit = first.stdout.split()
    keys = tmp_path / "data" / "keys"
    assert _mode(keys) == 0o700
    assert _mode(keys / "secret_key") == 0o600
    assert _mode(keys / "audit_key") == 0o600
    assert (keys / "secret_key").read_text().strip() == secret
    assert (keys / "audit_key").read_text().strip() == audit
    assert secret != audit
    assert len(secret) >= 50 and len(audit) >= 50
    assert "insecure" not in secret
    again = _gridlink(env, "shell", "--no-imports", "-c", PRINT_KEYS)
    assert again.stdout.split() == [secret, audit]
    other = _gridlink(_env(tmp_path / "elsewhere"), "shell", "--no-imports", "-c", PRINT_KEYS)
    assert set(other.stdout.split()).isdisjoint({secret, audit})


def test_a_key_file_others_can_read_is_refused(tmp_path):
    env = _env(tmp_path)
    assert _gridlink(env, "shell", "--no-imports", "-c", PRINT_KEYS).returncode == 0
    (tmp_path / "data" / "keys" / "audit_key").chmod(0o644)
    refused = _gridlink(env, "shell", "--no-imports", "-c", PRINT_KEYS)
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert "others may read it (mode 0644)" in refused.stderr


def test_explicit_keys_win_over_generated_ones_in_the_embedded_default(tmp_path):
    env = _env(tmp_path, GRIDLINK_AUDIT_KEY="an explicit audit key of enough length, 0123456789")
    result = _gridlink(env, "shell", "--no-imports", "-c", PRINT_KEYS)
    assert result.stdout.splitlines()[1] == "an explicit audit key of enough length, 0123456789"
    assert not (tmp_path / "data" / "keys" / "audit_key").exists()


DB = {"DATABASE_URL": "sqlite:////tmp/gridlink-deploy-check-unused.sqlite3"}
SECRET = "s3cret-" + "k" * 60
AUDIT = "audit-" + "q" * 40


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({}, "GRIDLINK_SECRET_KEY and GRIDLINK_AUDIT_KEY must be set when DATABASE_URL is set"),
        ({"GRIDLINK_SECRET_KEY": SECRET}, "GRIDLINK_AUDIT_KEY must be set when DATABASE_URL"),
        ({"GRIDLINK_AUDIT_KEY": AUDIT}, "GRIDLINK_SECRET_KEY must be set when DATABASE_URL"),
        (
            {"GRIDLINK_SECRET_KEY": "short", "GRIDLINK_AUDIT_KEY": AUDIT},
            "GRIDLINK_SECRET_KEY is too short",
        ),
        (
            {"GRIDLINK_SECRET_KEY": SECRET, "GRIDLINK_AUDIT_KEY": "short"},
            "GRIDLINK_AUDIT_KEY is too short",
        ),
        (
            {"GRIDLINK_SECRET_KEY": SECRET, "GRIDLINK_AUDIT_KEY": SECRET},
            "GRIDLINK_AUDIT_KEY must differ from GRIDLINK_SECRET_KEY",
        ),
    ],
)
def test_a_deployment_refuses_to_start_without_explicit_keys(tmp_path, keys, message):
    result = _gridlink(_env(tmp_path, **DB, **keys), "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
    assert not (tmp_path / "data" / "keys").exists()


# The production settings of README "Deploying" (behind a TLS-terminating proxy).
PRODUCTION = {
    "GRIDLINK_SECRET_KEY": SECRET,
    "GRIDLINK_AUDIT_KEY": AUDIT,
    "GRIDLINK_ALLOWED_HOSTS": "gridlink.example.gov.cn",
    "GRIDLINK_CSRF_TRUSTED_ORIGINS": "https://gridlink.example.gov.cn",
    "GRIDLINK_TRUSTED_PROXIES": "10.0.0.0/24",
    "GRIDLINK_SECURE_COOKIES": "true",
    "GRIDLINK_SSL_REDIRECT": "true",
    "GRIDLINK_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "GRIDLINK_HSTS_SECONDS": "31536000",
    "GRIDLINK_HSTS_PRELOAD": "true",
}


def test_check_deploy_is_clean_under_the_documented_production_settings(tmp_path):
    result = _gridlink(
        _env(tmp_path, **DB, **PRODUCTION), "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_without_https_settings(tmp_path):
    """The check above is not vacuous: without the HTTPS settings it warns."""
    plain = {k: v for k, v in PRODUCTION.items() if "SSL" not in k and "HSTS" not in k}
    result = _gridlink(
        _env(tmp_path, **DB, **plain), "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr  # HSTS
    assert "security.W008" in result.stderr  # SSL redirect


@pytest.mark.django_db
def test_behind_the_proxy_plain_http_is_redirected_but_healthz_is_not(settings):
    from django.test import Client

    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client()
    plain = client.get("/api/v1/departments")
    assert plain.status_code == 301
    assert plain["Location"].startswith("https://")
    assert client.get("/healthz").status_code in (200, 503)  # answered, not redirected
    via_proxy = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert via_proxy["Strict-Transport-Security"].startswith("max-age=31536000")
