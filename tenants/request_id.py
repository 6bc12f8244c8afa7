"""A request id for every request: taken from ``X-Request-ID`` when the caller sends a
sane one (a proxy's), otherwise made up; returned in the ``X-Request-ID`` response header
and put on every log record written while the request is served (``%(request_id)s``)."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_request_id: ContextVar[str] = ContextVar("request_id", default="")


def current_request_id() -> str:
    """The id of the request being served ("" outside a request)."""
    return _request_id.get()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(HEADER, "")
        request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to each record ("-" outside a request), for the log format."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get() or "-"
        return True


# --- Celery: a task enqueued while a request is served logs that request's id -------------


def _task_published(headers=None, **kwargs) -> None:
    request_id = _request_id.get()
    if request_id and headers is not None and "request_id" not in headers:
        headers["request_id"] = request_id


def _task_started(task=None, **kwargs) -> None:
    request_id = getattr(getattr(task, "request", None), "request_id", None) or ""
    _request_id.set(request_id if _VALID.match(request_id) else "")


def _task_finished(**kwargs) -> None:
    _request_id.set("")


def _worker_logging(logger=None, format=None, **kwargs) -> None:
    # Celery installs its own handlers in the worker; give them the id too.
    for handler in getattr(logger, "handlers", []):
        handler.addFilter(RequestIdFilter())
        if format and handler.formatter is not None and "%(request_id)s" not in format:
            handler.formatter._style._fmt = format.replace("%(message)s", "[%(request_id)s] %(message)s")
            handler.formatter._fmt = handler.formatter._style._fmt


def connect_celery() -> None:
    from celery.signals import (
        after_setup_logger,
        after_setup_task_logger,
        before_task_publish,
        task_postrun,
        task_prerun,
    )

    before_task_publish.connect(_task_published, dispatch_uid="request_id.published", weak=False)
    task_prerun.connect(_task_started, dispatch_uid="request_id.started", weak=False)
    task_postrun.connect(_task_finished, dispatch_uid="request_id.finished", weak=False)
    after_setup_logger.connect(_worker_logging, dispatch_uid="request_id.logger", weak=False)
    after_setup_task_logger.connect(_worker_logging, dispatch_uid="request_id.task_logger", weak=False)
