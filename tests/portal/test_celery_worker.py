from __future__ import annotations

import pytest
from django_celery_results.models import TaskResult

from portal.tasks import health_check_task
from tests.conftest import WorkerProcess, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_health_task_runs_in_worker_process_and_result_lands_in_database(
    celery_worker: WorkerProcess,
) -> None:
    async_result = health_check_task.delay()

    row = wait_for(
        lambda: TaskResult.objects.filter(task_id=async_result.id, status="SUCCESS").first()
    )

    assert row is not None, "".join(celery_worker.log[-30:])
    assert row.task_name == "portal.tasks.health_check_task"
    assert '"database": true' in row.result
    assert row.worker.startswith("test-")


def test_health_task_called_directly_reports_database(db: None) -> None:
    assert health_check_task()["database"] is True
