"""Queueing background jobs, the one way: ``enqueue_on_commit`` sends a Celery task once the
job row it names is committed. When the broker (Redis) cannot take the message, nothing is
queued: the caller's ``on_failure`` records that on the job row (so that it is neither left
"waiting" forever nor half-created, and the user can simply try again), and
``QueueUnavailable`` reaches the view, where ``QueueUnavailableMiddleware`` turns it into
the Chinese message "后台任务服务暂时不可用，请稍后再试。" (pages: back to the page the user came
from, with the message; API: 503 with ``{"detail": …}``) instead of a 500.

With ``REDIS_URL`` unset (the embedded default), tasks run eagerly in-process and this path
is never taken."""

import logging
from collections.abc import Callable

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)

QUEUE_UNAVAILABLE = "后台任务服务暂时不可用，请稍后再试。"


class QueueUnavailable(Exception):
    """The broker refused or could not be reached; the task was not queued."""

    def __init__(self, message: str = QUEUE_UNAVAILABLE):
        self.message = message
        super().__init__(message)

    def __str__(self):
        return self.message


def enqueue(task, *args):
    """``task.apply_async(args)``; QueueUnavailable when the broker cannot take it. The
    connection and publish retries are bounded by the CELERY_BROKER_* settings (a few
    seconds at most), so a request never hangs on a dead Redis."""
    try:
        return task.apply_async(args)
    except BrokerError as exc:
        logger.error("cannot queue %s%r: broker unavailable (%s)", task.name, args, exc)
        raise QueueUnavailable() from exc


def requeue(batches, what: str) -> None:
    """A sweeper's second chance: each ``(task, job ids)`` of ``batches`` queued again (jobs
    waiting so long that their message may have been lost; a duplicate is skipped by the
    job's claim). With the broker down it logs and leaves them for the next sweep."""
    try:
        for task, job_ids in batches:
            for job_id in job_ids:
                enqueue(task, job_id)
    except QueueUnavailable:
        logger.warning("%s sweep: broker unavailable, waiting jobs not queued again", what)


def enqueue_on_commit(task, *args, on_failure: Callable[[str], object] | None = None):
    """Queue ``task(*args)`` once the current transaction commits (at once outside one).
    If the broker is down, ``on_failure(message)`` runs first (after the commit, in
    autocommit: it updates the job row so that it is not left queued), then
    QueueUnavailable is raised to whoever committed — the service's caller."""

    def send():
        try:
            enqueue(task, *args)
        except QueueUnavailable as exc:
            if on_failure is not None:
                on_failure(exc.message)
            raise

    transaction.on_commit(send)


class QueueUnavailableMiddleware:
    """A view whose job could not be queued answers with the message, never a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, QueueUnavailable):
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": exception.message}, status=503)
        back = request.META.get("HTTP_REFERER", "")
        safe = url_has_allowed_host_and_scheme(
            back, {request.get_host()}, require_https=request.is_secure()
        )
        if back and safe and back != request.build_absolute_uri():
            messages.error(request, exception.message)
            return HttpResponseRedirect(back)
        message = escape(exception.message)
        page = (
            '<!DOCTYPE html><html lang="zh-hans"><head><meta charset="utf-8">'
            f"<title>请稍后再试</title></head><body><h1>请稍后再试</h1><p>{message}</p>"
            '<p><a href="/">返回首页</a></p></body></html>'
        )
        return HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
