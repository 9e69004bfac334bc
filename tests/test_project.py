"""Project-wide promises: migrations match the models, every setting is documented."""

import re
from io import StringIO
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


def test_models_and_migrations_agree(db):
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_every_environment_variable_is_in_env_example():
    settings_text = (ROOT / "gridlink" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r'_env_\w+\("([A-Z_]+)"', settings_text))
    documented = set(
        re.findall(r"^#? ?([A-Z_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M)
    )
    assert read, "no environment variables found in settings"
    assert read == documented


def test_nothing_else_reads_the_environment():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "gridlink").rglob("*.py")
        if p.name not in {"settings.py", "wsgi.py", "cli.py"}
        and "os.environ" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_the_chinese_catalogue_is_complete_and_compiled():
    po = (ROOT / "gridlink" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text(
        encoding="utf-8"
    )
    mo = ROOT / "gridlink" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
    assert "#, fuzzy" not in po
    untranslated = re.findall(r'\nmsgid "(.+)"\nmsgstr ""\n\n', po)
    assert untranslated == []
    assert mo.stat().st_size > 1000


def test_our_catalogue_does_not_change_djangos_own_translations():
    """Our catalogue comes first, so a msgid Django also translates (form errors, admin
    buttons) must keep Django's Chinese, or every form and admin page would change."""
    import gettext

    import django

    ours = gettext.GNUTranslations(
        (ROOT / "gridlink" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo").open("rb")
    )
    base = Path(django.__file__).parent
    theirs = [
        gettext.GNUTranslations(path.open("rb"))
        for path in [
            *base.glob("conf/locale/zh_Hans/LC_MESSAGES/django.mo"),
            *base.glob("contrib/*/locale/zh_Hans/LC_MESSAGES/django.mo"),
        ]
    ]
    assert theirs
    clashes = {}
    for msgid in ours._catalog:  # type: ignore[attr-defined]
        if not isinstance(msgid, str) or not msgid or "\x04" in msgid:
            continue
        for catalogue in theirs:
            translated = catalogue.gettext(msgid)
            if translated != msgid:
                if translated != ours.gettext(msgid):
                    clashes[msgid] = (ours.gettext(msgid), translated)
                break
    assert clashes == {}
