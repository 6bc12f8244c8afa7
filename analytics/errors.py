"""Analytics errors, with the stable code and field the API's error body carries."""

from __future__ import annotations


class AnalyticsError(Exception):
    code = "analytics_error"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidRange(AnalyticsError):
    """The end is before the start, or the range is longer than the dashboard allows."""

    code = "invalid_range"
