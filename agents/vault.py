"""The store's credentials vault: secrets encrypted at rest with MultiFernet.

Keys come from ``settings.CREDENTIALS_KEYS`` (the ``CREDENTIALS_KEYS`` environment
variable, comma-separated Fernet keys, the first one encrypts). To rotate: put a new key
first, keep the old ones after it, run ``manage.py rotate_credentials`` (re-encrypts every
store's secrets with the first key), then drop the old keys. When no key is configured a
development key is derived from ``SECRET_KEY`` so a fresh machine works.

The issue's map puts the vault in ``tenants``; it lives here so the agents engineer did
not edit ``tenants``. Every secret is per store (its table is in the store's schema).
"""

from __future__ import annotations

import base64
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import transaction

from agents.errors import CredentialMissing, CredentialUnreadable, VaultMisconfigured
from agents.models import Credential, CredentialCategory

logger = logging.getLogger(__name__)


def _dev_key() -> bytes:
    digest = hashlib.sha256(b"atendo-credentials-vault:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _fernet() -> MultiFernet:
    raw = [k.strip() for k in getattr(settings, "CREDENTIALS_KEYS", []) if k and k.strip()]
    keys = raw or [_dev_key().decode()]
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError) as exc:
            raise VaultMisconfigured(
                f"CREDENTIALS_KEYS entry {position} is not a Fernet key (32 url-safe base64 bytes; "
                "make one with `python -c \"from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())\"`)."
            ) from exc
    return MultiFernet(fernets)


def mask(secret: str) -> str:
    """What staff see of a secret: its last 4 characters at most, never the rest."""
    if len(secret) <= 8:
        return "•" * 8
    return "•" * 8 + secret[-4:]


def set_credential(category: str, name: str, secret: str) -> Credential:
    """Store (or replace) the secret ``category/name``, encrypted with the current key."""
    if category not in CredentialCategory.values:
        raise ValueError(f"unknown credential category {category!r}")
    name = name.strip()
    if not name or not secret:
        raise ValueError("a credential needs a name and a secret")
    token = _fernet().encrypt(secret.encode()).decode()
    credential, _ = Credential.objects.update_or_create(
        category=category, name=name, defaults={"ciphertext": token, "hint": mask(secret)}
    )
    logger.info("agents.credential_set", extra={"category": category, "credential": name})
    return credential


def get_credential(category: str, name: str, *, purpose: str = "") -> str:
    """The plaintext secret ``category/name`` of the current store.

    Raises ``CredentialMissing`` (naming what is missing; ``purpose`` says who needs it)
    and ``CredentialUnreadable`` when no configured key decrypts it.
    """
    token = (
        Credential.objects.filter(category=category, name=name).values_list("ciphertext", flat=True).first()
    )
    if token is None:
        raise CredentialMissing(category, name, purpose)
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise CredentialUnreadable(
            f"Credential {category}/{name} cannot be decrypted with CREDENTIALS_KEYS; "
            "a key still in use was removed. Restore it, or store the secret again.",
            field="credential",
        ) from exc


def delete_credential(category: str, name: str) -> bool:
    deleted, _ = Credential.objects.filter(category=category, name=name).delete()
    return bool(deleted)


def rotate_credentials() -> int:
    """Re-encrypt every secret of the current store with the first key. Idempotent.

    Locks the rows for the duration; raises ``CredentialUnreadable`` (changing nothing)
    when a secret was encrypted with a key no longer configured. Returns the count.
    """
    fernet = _fernet()
    with transaction.atomic():
        rows = list(Credential.objects.select_for_update().order_by("pk"))
        for credential in rows:
            try:
                credential.ciphertext = fernet.rotate(credential.ciphertext.encode()).decode()
            except InvalidToken as exc:
                raise CredentialUnreadable(
                    f"Credential {credential} cannot be decrypted with CREDENTIALS_KEYS; nothing rotated.",
                    field="credential",
                ) from exc
            credential.save(update_fields=["ciphertext", "updated_at"])
    logger.info("agents.credentials_rotated", extra={"count": len(rows)})
    return len(rows)
