"""Orders' configuration: a Django setting if the project defines it, else the
environment variable of the same name, else the default. These are the platform's;
a store's gateway secrets live in its credentials vault (see ``payments.abacatepay``)."""

from __future__ import annotations

import os

from django.conf import settings

DEFAULTS: dict[str, str] = {
    "ABACATEPAY_BASE_URL": "https://api.abacatepay.com",
    "ABACATEPAY_RETURN_URL": "https://atendo.local/",
    "ABACATEPAY_TIMEOUT_SECONDS": "10",
    "ORDERS_UNPAID_EXPIRY_MINUTES": "60",
}


def get(name: str) -> str:
    value = getattr(settings, name, None)
    if value is None or value == "":
        value = os.environ.get(name) or DEFAULTS[name]
    return str(value)
