import datetime as dt

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from gridlink.core.models import AuditEvent, PeriodicJob
from gridlink.core.schedule import periodic_jobs, schedule_due
from gridlink.core.tasks import verify_logs


def test_a_due_job_is_enqueued_once_until_its_next_time(db):
    jobs = periodic_jobs()
    assert {"prune_logs", "purge_import_uploads", "verify_logs", "deliver_outbox"} <= set(jobs)
    now = timezone.now()
    assert sorted(schedule_due(now)) == sorted(jobs)
    assert schedule_due(now) == []  # a second worker at the same moment gets nothing
    assert DBTaskResult.objects.count() == len(jobs)
    assert PeriodicJob.objects.get(name="verify_logs").next_run_at == now + dt.timedelta(hours=6)
    six_hours = dt.timedelta(hours=6)
    assert sorted(schedule_due(now + six_hours)) == sorted(
        name for name, (_task, every) in jobs.items() if every <= six_hours
    )


def test_verify_logs_task_records_the_result(db):
    result = verify_logs.call()
    assert result["audit"]["problem"] is None
    event = AuditEvent.objects.get(action="audit.verified")
    assert event.outcome == "success"
