"""What a job's progress bar polls (static/js/job_progress.js reads these fields)."""

from django.http import JsonResponse


def progress_payload(job, *, finished: bool, **extra) -> dict:
    """The fields every job row shares (status, done/total, percent, message), plus ``extra``."""
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": job.get_status_display(),
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "message": job.message,
        "finished": finished,
        **extra,
    }


def progress_response(payload: dict) -> JsonResponse:
    """The payload as JSON, never cached (the bar polls it every second)."""
    response = JsonResponse(payload, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response
