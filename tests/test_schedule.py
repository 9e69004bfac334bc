import datetime as dt

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from gridlink.core.models import AuditEvent, PeriodicJob
from gridlink.core.schedule import schedule_due
from gridlink.core.tasks import verify_logs


def test_a_due_job_is_enqueued_once_until_its_next_time(db):
    now = timezone.now()
    assert sorted(schedule_due(now)) == ["prune_logs", "purge_import_uploads", "verify_logs"]
    assert schedule_due(now) == []  # a second worker at the same moment gets nothing
    assert DBTaskResult.objects.count() == 3
    assert PeriodicJob.objects.get(name="verify_logs").next_run_at == now + dt.timedelta(hours=6)
    assert sorted(schedule_due(now + dt.timedelta(hours=6))) == [
        "purge_import_uploads",
        "verify_logs",
    ]


def test_verify_logs_task_records_the_result(db):
    result = verify_logs.call()
    assert result["audit"]["problem"] is None
    event = AuditEvent.objects.get(action="audit.verified")
    assert event.outcome == "success"
