"""What a job's progress bar polls (static/js/job_progress.js reads these fields), and the
page of a job that opens what it made once done (``core.jobs.Job``)."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render


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


def job_status(job) -> JsonResponse:
    """A ``core.jobs.Job``'s payload, as its bar polls it."""
    return progress_response(progress_payload(job, finished=job.finished))


def job_page(request, job, template: str, made_url: str | None):
    """A ``core.jobs.Job``'s page: what it made (``made_url``, with the job's message) once it
    made it, else its progress card (``template``, which reloads the page when it settles)."""
    if made_url is not None:
        messages.success(request, job.message)
        return redirect(made_url)
    return render(request, template, {"job": job})
