"""Lead state changes: identities, stage, timeline, long-term profile, merge.

Everything runs in the current store's schema; nothing here names a schema.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leads.errors import (
    CannotMergeLeadIntoItself,
    IdentityTaken,
    InvalidIdentity,
    InvalidPhone,
    InvalidStage,
    LeadNotFound,
)
from leads.models import (
    E164_PATTERN,
    EventKind,
    IdentityKind,
    Lead,
    LeadEvent,
    LeadIdentity,
    Stage,
)

logger = logging.getLogger(__name__)

# How much of the timeline goes into a profile summary (the agent reads it every turn).
PROFILE_MAX_CHARS = 1200
PROFILE_RECENT_MESSAGES = 5
_PHONE_KINDS = {IdentityKind.WHATSAPP, IdentityKind.PHONE}


# --- identities -----------------------------------------------------------------------


def normalize_phone(raw: str) -> str:
    """``raw`` in E.164 (``+5511999998888``). Accepts spaces, dashes, dots, parentheses, a
    leading ``00`` and the bare digits WhatsApp uses for a wa_id. Raises ``InvalidPhone``."""
    cleaned = re.sub(r"[\s\-().]", "", raw or "")
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    elif cleaned.isdigit():
        cleaned = "+" + cleaned
    if not re.fullmatch(E164_PATTERN, cleaned):
        raise InvalidPhone(
            f"{raw!r} is not a phone number in E.164 form.", field="phone"
        )
    return cleaned


def normalize_identity(kind: str, value: str) -> str:
    """The canonical form of an identity value, so one person is one row per channel."""
    if kind not in IdentityKind.values:
        raise InvalidIdentity(f"Unknown identity kind {kind!r}.", field="kind")
    value = (value or "").strip()
    if not value:
        raise InvalidIdentity("An identity needs a value.", field="value")
    if kind in _PHONE_KINDS:
        return normalize_phone(value)
    if kind == IdentityKind.EMAIL:
        return value.lower()
    return value


def find_lead(kind: str, value: str) -> Lead | None:
    """The lead behind an identity, or None."""
    value = normalize_identity(kind, value)
    identity = (
        LeadIdentity.objects.select_related("lead")
        .filter(kind=kind, value=value)
        .first()
    )
    return identity.lead if identity else None


def ensure_lead(
    kind: str,
    value: str,
    *,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    source_channel: str | None = None,
) -> Lead:
    """The lead for identity ``(kind, value)``, created with it when new.

    Idempotent and race-safe: the identity's unique constraint decides which of two
    concurrent callers creates the lead; the other one gets that same lead. Details
    (name, e-mail, phone) fill blanks of an existing lead and never overwrite.
    Raises ``InvalidIdentity`` / ``InvalidPhone``.
    """
    value = normalize_identity(kind, value)
    if phone:
        phone = normalize_phone(phone)
    elif kind in _PHONE_KINDS:
        phone = value
    if not email and kind == IdentityKind.EMAIL:
        email = value

    lead = find_lead(kind, value)
    if lead is None:
        try:
            with transaction.atomic():
                lead = Lead.objects.create(
                    name=name or "",
                    email=email or "",
                    phone=phone or "",
                    source_channel=source_channel or kind,
                )
                LeadIdentity.objects.create(lead=lead, kind=kind, value=value)
            logger.info(
                "lead.created", extra={"lead_id": lead.pk, "identity_kind": kind}
            )
            return lead
        except IntegrityError:
            # Another caller created this identity between our read and our insert.
            lead = (
                LeadIdentity.objects.select_related("lead")
                .get(kind=kind, value=value)
                .lead
            )

    blanks = {
        field: given
        for field, given in (("name", name), ("email", email), ("phone", phone))
        if given and not getattr(lead, field)
    }
    if blanks:
        Lead.objects.filter(pk=lead.pk).update(**blanks, updated_at=timezone.now())
        lead.refresh_from_db()
    return lead


def add_identity(lead_id: int, kind: str, value: str) -> LeadIdentity:
    """Attach another channel's identity to a lead. Idempotent for the same lead; raises
    ``IdentityTaken`` when it belongs to another lead (merge them with ``merge_leads``)."""
    value = normalize_identity(kind, value)
    lead = _get_lead(lead_id)
    try:
        with transaction.atomic():
            identity, _ = LeadIdentity.objects.get_or_create(
                kind=kind, value=value, defaults={"lead": lead}
            )
    except IntegrityError:
        identity = LeadIdentity.objects.get(kind=kind, value=value)
    if identity.lead_id != lead.pk:
        raise IdentityTaken(
            f"{kind}:{value} belongs to lead {identity.lead_id}; merge the leads instead.",
            field="value",
        )
    return identity


# --- timeline and stage ---------------------------------------------------------------


def record_event(
    lead_id: int, kind: str, payload: dict[str, Any] | None = None
) -> LeadEvent:
    """Append an event to the lead's timeline (and mark the lead as touched)."""
    if kind not in EventKind.values:
        raise ValueError(f"unknown lead event kind {kind!r}")
    lead = _get_lead(lead_id)
    event = LeadEvent.objects.create(lead=lead, kind=kind, payload=payload or {})
    Lead.objects.filter(pk=lead.pk).update(updated_at=timezone.now())
    return event


def change_stage(lead_id: int, stage: str, *, by: str = "", reason: str = "") -> Lead:
    """Move the lead to ``stage`` and record a ``stage_changed`` event.

    Locks the lead row; a no-op (no event) when the lead is already there.
    Raises ``InvalidStage`` / ``LeadNotFound``.
    """
    if stage not in Stage.values:
        raise InvalidStage(f"Unknown stage {stage!r}.", field="stage")
    with transaction.atomic():
        lead = _get_lead(lead_id, lock=True)
        if lead.stage == stage:
            return lead
        before = lead.stage
        lead.stage = stage
        lead.save(update_fields=["stage", "updated_at"])
        LeadEvent.objects.create(
            lead=lead,
            kind=EventKind.STAGE_CHANGED,
            payload={"from": before, "to": stage, "by": by, "reason": reason},
        )
    logger.info(
        "lead.stage_changed", extra={"lead_id": lead.pk, "from": before, "to": stage}
    )
    return lead


def set_tags(lead_id: int, tags: Sequence[str]) -> Lead:
    """Replace the lead's tags (trimmed, lower-cased, de-duplicated, in order)."""
    clean = list(dict.fromkeys(t.strip().lower() for t in tags if t and t.strip()))
    updated = Lead.objects.filter(pk=lead_id).update(
        tags=clean, updated_at=timezone.now()
    )
    if not updated:
        raise LeadNotFound(f"No lead with id {lead_id}.", field="lead_id")
    return _get_lead(lead_id)


# --- long-term profile ----------------------------------------------------------------


def build_profile_summary(lead: Lead) -> str:
    """A compact, deterministic description of the lead from its fields and timeline, so
    the agent gets the customer's history in a few hundred tokens."""
    events = list(lead.events.order_by("at", "pk"))
    channels = sorted(lead.identities.values_list("kind", flat=True).distinct())
    return _profile_summary(lead, events, channels)


def current_profile_summary(lead_id: int) -> str:
    """The lead's stored profile summary, else the one ``build_profile_summary`` gives now
    (a lead whose profile was never refreshed), read in one query; "" for no such lead."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {profile_summary_sql()}", [lead_id])
        return profile_summary_from(cursor.fetchone()[0])


def profile_summary_sql() -> str:
    """A SQL expression with one parameter, a lead's id, for callers that read a lead's
    profile together with their own rows in one statement: ``profile_summary_from`` of
    its value is ``current_profile_summary`` (the timeline is read only when no summary
    is stored)."""
    events, identities = LeadEvent._meta.db_table, LeadIdentity._meta.db_table
    return (
        "(SELECT jsonb_build_object('id', l.id, 'summary', l.profile_summary, 'name', l.name, "
        "'stage', l.stage, 'tags', l.tags, 'created_at', l.created_at, "
        "'timeline', CASE WHEN l.profile_summary = '' THEN (SELECT coalesce(jsonb_agg(jsonb_build_object("
        "'kind', e.kind, 'payload', e.payload, 'at', e.at) ORDER BY e.at, e.id), '[]') "
        f"FROM {events} AS e WHERE e.lead_id = l.id) END, "
        "'channels', CASE WHEN l.profile_summary = '' THEN (SELECT coalesce(jsonb_agg(DISTINCT i.kind), '[]') "
        f"FROM {identities} AS i WHERE i.lead_id = l.id) END) "
        f"FROM {Lead._meta.db_table} AS l WHERE l.id = %s)"
    )


def profile_summary_from(value: str | dict | None) -> str:
    """The summary a ``profile_summary_sql`` value describes ("" for no such lead)."""
    if value is None:
        return ""
    data = json.loads(value) if isinstance(value, str) else value
    if data["summary"]:
        return data["summary"]
    lead = Lead(
        pk=data["id"], name=data["name"], stage=data["stage"], tags=data["tags"],
        created_at=datetime.fromisoformat(data["created_at"]) if data["created_at"] else None,
    )
    events = [
        LeadEvent(lead_id=lead.pk, kind=e["kind"], payload=e["payload"], at=datetime.fromisoformat(e["at"]))
        for e in data["timeline"]
    ]
    return _profile_summary(lead, events, sorted(data["channels"]))


def _profile_summary(lead: Lead, events: list[LeadEvent], channels: list[str]) -> str:
    counts = Counter(e.kind for e in events)
    lines = [f"Name: {lead.name or 'unknown'}. Stage: {lead.stage}."]
    if channels:
        lines.append(f"Channels: {', '.join(channels)}.")
    if lead.tags:
        lines.append(f"Tags: {', '.join(lead.tags)}.")
    if lead.created_at:
        lines.append(f"Customer since {lead.created_at:%Y-%m-%d}.")

    orders = [e for e in events if e.kind == EventKind.ORDER_CREATED]
    paid = [e for e in events if e.kind == EventKind.ORDER_PAID]
    if orders:
        last = orders[-1].payload
        products = ", ".join(last.get("products", [])[:5])
        lines.append(
            f"Orders: {len(orders)} created, {len(paid)} paid. Last order "
            f"#{last.get('number', '?')} on {orders[-1].at:%Y-%m-%d}"
            + (f" ({products})" if products else "")
            + (
                f", total {last.get('total')} {last.get('currency', '')}".rstrip()
                if last.get("total")
                else ""
            )
            + "."
        )
    if counts[EventKind.HANDOFF]:
        lines.append(f"Handed to a human {counts[EventKind.HANDOFF]} time(s).")
    notes = [
        str(e.payload.get("text", "")).strip()
        for e in events
        if e.kind == EventKind.NOTE
    ]
    notes = [n for n in notes if n]
    if notes:
        lines.append("Notes: " + " | ".join(notes[-3:]) + ".")
    inbound = [
        str(e.payload.get("text", "")).strip()
        for e in events
        if e.kind == EventKind.MESSAGE and e.payload.get("direction", "in") == "in"
    ]
    inbound = [m for m in inbound if m]
    if inbound:
        recent = " | ".join(m[:160] for m in inbound[-PROFILE_RECENT_MESSAGES:])
        lines.append(f"Messages: {len(inbound)}; recent: {recent}")
    summary = " ".join(lines)
    return (
        summary
        if len(summary) <= PROFILE_MAX_CHARS
        else summary[: PROFILE_MAX_CHARS - 1] + "…"
    )


def _profile_embedder():
    """The knowledge app's embedder, or None while it does not exist.

    The seam: ``knowledge.embedders.get_embedder()`` returns an object with
    ``embed_passages(texts) -> list[list[float]]`` and ``dimensions``. Leads keeps
    working (summary only, embedding left empty) without it.
    """
    try:
        from knowledge.embedders import get_embedder
    except ImportError:
        return None
    return get_embedder()


def _embed(text: str) -> list[float] | None:
    embedder = _profile_embedder()
    if embedder is None:
        return None
    if embedder.dimensions != Lead._meta.get_field("profile_embedding").dimensions:
        # e.g. a store on a 1024-d embedder: the column is 384-d, keep the summary only.
        logger.warning(
            "lead.profile_embedding_dimension_mismatch",
            extra={"dimensions": embedder.dimensions},
        )
        return None
    return [float(x) for x in embedder.embed_passages([text])[0]]


def refresh_profile(lead_id: int) -> Lead:
    """Rebuild ``profile_summary`` from the timeline and, when the knowledge embedder is
    available, ``profile_embedding``. Idempotent (same timeline, same summary); the
    embedding is computed outside any lock. Raises ``LeadNotFound``."""
    lead = _get_lead(lead_id)
    summary = build_profile_summary(lead)
    vector = (
        _embed(summary)
        if summary != lead.profile_summary or lead.profile_embedding is None
        else None
    )
    fields: dict[str, Any] = {
        "profile_summary": summary,
        "profile_refreshed_at": timezone.now(),
    }
    if vector is not None:
        fields["profile_embedding"] = vector
    Lead.objects.filter(pk=lead.pk).update(**fields)
    lead.refresh_from_db()
    logger.info(
        "lead.profile_refreshed", extra={"lead_id": lead.pk, "chars": len(summary)}
    )
    return lead


def request_profile_refresh(lead_id: int, *, delay_seconds: int = 0) -> None:
    """Enqueue ``refresh_profile`` once the current transaction commits (e.g. when a
    conversation has gone quiet for ``delay_seconds``)."""
    from leads.tasks import refresh_profile as refresh_profile_task

    transaction.on_commit(
        lambda: refresh_profile_task.apply_async(
            args=[lead_id], countdown=delay_seconds
        )
    )


# --- merge ----------------------------------------------------------------------------


def merge_leads(keep_id: int, merge_id: int, *, by: str = "") -> Lead:
    """Fold lead ``merge_id`` into lead ``keep_id`` and delete it.

    Every identity, event and every row of any other app pointing at the merged lead
    (orders, conversations...) is re-pointed at the kept lead, so nothing is lost. Blank
    fields of the kept lead take the merged lead's values; tags and consents are united.
    Both rows are locked (in id order, so two merges cannot deadlock). Records a note.
    """
    if keep_id == merge_id:
        raise CannotMergeLeadIntoItself(
            "A lead cannot be merged into itself.", field="merge_id"
        )
    with transaction.atomic():
        locked = {
            lead.pk: lead
            for lead in Lead.objects.select_for_update()
            .filter(pk__in=[keep_id, merge_id])
            .order_by("pk")
        }
        for lead_id in (keep_id, merge_id):
            if lead_id not in locked:
                raise LeadNotFound(f"No lead with id {lead_id}.", field="lead_id")
        keep, gone = locked[keep_id], locked[merge_id]

        # Re-point every foreign key to Lead, ours and other apps', without importing them.
        for relation in Lead._meta.related_objects:
            if relation.one_to_many or relation.one_to_one:
                relation.related_model._base_manager.filter(
                    **{relation.field.name: gone}
                ).update(**{relation.field.name: keep})

        for field in ("name", "phone", "email", "source_channel", "profile_summary"):
            if not getattr(keep, field) and getattr(gone, field):
                setattr(keep, field, getattr(gone, field))
        keep.tags = list(dict.fromkeys([*keep.tags, *gone.tags]))
        keep.consent_marketing = keep.consent_marketing or gone.consent_marketing
        keep.consent_whatsapp = keep.consent_whatsapp or gone.consent_whatsapp
        keep.created_at = min(keep.created_at, gone.created_at)
        keep.save()
        LeadEvent.objects.create(
            lead=keep,
            kind=EventKind.NOTE,
            payload={
                "text": f"Merged lead {gone.pk} ({gone}).",
                "merged_lead_id": gone.pk,
                "by": by,
            },
        )
        gone.delete()
    keep.refresh_from_db()
    logger.info("lead.merged", extra={"lead_id": keep.pk, "merged_lead_id": merge_id})
    return keep


def _get_lead(lead_id: int, *, lock: bool = False) -> Lead:
    queryset = Lead.objects.select_for_update() if lock else Lead.objects
    try:
        return queryset.get(pk=lead_id)
    except Lead.DoesNotExist as exc:
        raise LeadNotFound(f"No lead with id {lead_id}.", field="lead_id") from exc


__all__ = [
    "add_identity",
    "build_profile_summary",
    "current_profile_summary",
    "profile_summary_from",
    "profile_summary_sql",
    "change_stage",
    "ensure_lead",
    "find_lead",
    "merge_leads",
    "normalize_identity",
    "normalize_phone",
    "record_event",
    "refresh_profile",
    "request_profile_refresh",
    "set_tags",
]
