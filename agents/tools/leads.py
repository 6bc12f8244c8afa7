"""Lead tools: capture and update the customer's details, collect a form, hand off, and
label the conversation's outcome."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from agents.tools.base import Tool, ToolContext, ToolFailed, actor
from agents.turns import SideEffect

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _lead_data(lead) -> dict[str, Any]:
    return {"lead_id": lead.pk, "name": lead.name, "email": lead.email, "phone": lead.phone, "stage": lead.stage}


def _ensure_lead_of_turn(ctx: ToolContext, *, name=None, email=None, phone=None) -> int:
    """The conversation's lead, created from an e-mail or phone when it has none yet."""
    from leads import services as leads
    from leads.models import IdentityKind

    if ctx.lead_id is not None:
        return ctx.lead_id
    if email:
        lead = leads.ensure_lead(IdentityKind.EMAIL, email, name=name, phone=phone, source_channel=IdentityKind.API)
    elif phone:
        lead = leads.ensure_lead(IdentityKind.PHONE, phone, name=name, email=email, source_channel=IdentityKind.API)
    else:
        raise ToolFailed("No customer is known in this conversation yet: ask for an e-mail or phone number.")
    ctx.lead_id = lead.pk
    return lead.pk


def capture_lead(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    from leads import services as leads
    from leads.models import IdentityKind, Lead

    name, email, phone, stage = (args.get(k) for k in ("name", "email", "phone", "stage"))
    if ctx.dry_run:
        return {"dry_run": True, "would_update": {k: v for k, v in args.items() if v}}
    known = ctx.lead_id is not None
    lead_id = _ensure_lead_of_turn(ctx, name=name, email=email, phone=phone)
    if known:
        if email:
            leads.add_identity(lead_id, IdentityKind.EMAIL, email)
        if phone:
            leads.add_identity(lead_id, IdentityKind.PHONE, phone)
        identity = Lead.objects.get(pk=lead_id).identities.order_by("pk").first()
        if identity is not None and (name or email or phone):
            # Fills the lead's blanks; what the customer told before is never overwritten.
            leads.ensure_lead(identity.kind, identity.value, name=name, email=email, phone=phone)
    if stage:
        leads.change_stage(lead_id, stage, by=actor(ctx), reason="captured in conversation")
    data = _lead_data(Lead.objects.get(pk=lead_id))
    ctx.side_effects.append(SideEffect("lead_updated", data))
    return data


def update_lead(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    """Correct the customer's details (they said their e-mail changed, a typo...): the given
    fields replace the stored ones; tags are added; the stage moves with a reason."""
    from leads import services as leads
    from leads.models import IdentityKind, Lead

    if ctx.lead_id is None:
        raise ToolFailed("No customer is identified in this conversation: use capture_lead first.")
    if ctx.dry_run:
        return {"dry_run": True, "would_update": args}
    changes: dict[str, Any] = {}
    if args.get("name"):
        changes["name"] = args["name"].strip()
    if args.get("email"):
        changes["email"] = args["email"].strip().lower()
        leads.add_identity(ctx.lead_id, IdentityKind.EMAIL, changes["email"])
    if args.get("phone"):
        changes["phone"] = leads.normalize_phone(args["phone"])
        leads.add_identity(ctx.lead_id, IdentityKind.PHONE, changes["phone"])
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=ctx.lead_id)
        if changes:
            Lead.objects.filter(pk=lead.pk).update(**changes, updated_at=timezone.now())
        if args.get("tags"):
            leads.set_tags(lead.pk, sorted({*lead.tags, *(t.strip() for t in args["tags"] if t.strip())}))
        if args.get("stage"):
            leads.change_stage(lead.pk, args["stage"], by=actor(ctx), reason=args.get("reason", "") or "updated in conversation")
    lead = Lead.objects.get(pk=ctx.lead_id)
    data = _lead_data(lead) | {"tags": lead.tags}
    ctx.side_effects.append(SideEffect("lead_updated", data))
    return data


# --- collect_form -----------------------------------------------------------------------


def _cpf_ok(digits: str) -> bool:
    if len(digits) != 11 or digits == digits[0] * 11:
        return False
    for size in (9, 10):
        total = sum(int(d) * w for d, w in zip(digits[:size], range(size + 1, 1, -1), strict=True))
        check = (total * 10) % 11 % 10
        if check != int(digits[size]):
            return False
    return True


def _field_value(field: str, raw: Any) -> str:
    """The field's value, normalised; raises ``ValueError`` with what is wrong."""
    from leads.errors import LeadError
    from leads.services import normalize_phone

    text = " ".join(str(raw).split())
    if not text:
        raise ValueError("empty")
    if field == "name":
        if len(text) < 2 or not re.search(r"[^\W\d_]", text):
            raise ValueError("a person's name, at least 2 letters")
        return text[:200]
    if field == "email":
        if not re.match(EMAIL_PATTERN, text):
            raise ValueError("not an e-mail address")
        return text.lower()
    if field == "phone":
        try:
            return normalize_phone(text)
        except LeadError as exc:
            raise ValueError(exc.message) from exc
    if field == "cpf":
        digits = re.sub(r"\D", "", text)
        if not _cpf_ok(digits):
            raise ValueError("not a valid CPF (11 digits with matching check digits)")
        return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"
    if field == "postal_code":
        digits = re.sub(r"\D", "", text)
        if len(digits) != 8:
            raise ValueError("a CEP has 8 digits")
        return f"{digits[:5]}-{digits[5:]}"
    if field == "address":
        if len(text) < 8 or not re.search(r"\d", text):
            raise ValueError("street, number and city")
        return text[:300]
    if field == "birth_date":
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                day = datetime.strptime(text, fmt).date()
            except ValueError:
                continue
            if not date(1900, 1, 1) <= day <= timezone.localdate():
                raise ValueError("not a plausible birth date")
            return day.isoformat()
        raise ValueError("a date as YYYY-MM-DD or DD/MM/YYYY")
    return text[:500]


FORM_FIELDS = ("name", "email", "phone", "cpf", "address", "postal_code", "birth_date")
FORMS: dict[str, tuple[str, ...]] = {
    "checkout": ("name", "email", "cpf", "address", "postal_code"),
    "contact": ("name", "email", "phone"),
    "registration": ("name", "email", "phone", "cpf", "birth_date"),
}


def collect_form(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    """Validate the values the customer gave for a named form, keep the good ones on the
    lead, and say which are wrong and which are still missing (ask for them one by one)."""
    from agents.models import CollectedForm
    from leads import services as leads
    from leads.models import EventKind

    form = args["form"]
    wanted = FORMS[form]
    saved: dict[str, str] = {}
    invalid: dict[str, str] = {}
    for field, raw in (args.get("values") or {}).items():
        if field not in wanted:
            invalid[field] = f"not a field of the {form} form ({', '.join(wanted)})"
            continue
        try:
            saved[field] = _field_value(field, raw)
        except ValueError as exc:
            invalid[field] = str(exc)
    if ctx.dry_run:
        missing = [f for f in wanted if f not in saved]
        return {"dry_run": True, "form": form, "saved": saved, "invalid": invalid, "missing": missing,
                "complete": not missing}
    if saved or ctx.lead_id is not None:
        _ensure_lead_of_turn(ctx, name=saved.get("name"), email=saved.get("email"), phone=saved.get("phone"))
    if ctx.lead_id is None:
        raise ToolFailed("Nothing valid was given yet; ask the customer for the first field: " + wanted[0] + ".")
    with transaction.atomic():
        record, _ = CollectedForm.objects.select_for_update().get_or_create(lead_id=ctx.lead_id, form=form)
        data = {**record.data, **saved}
        missing = [f for f in wanted if f not in data]
        newly_complete = not missing and not record.complete
        record.data, record.complete = data, not missing
        record.save(update_fields=["data", "complete", "updated_at"])
        # The lead's own fields fill their blanks (never overwrite).
        identity = record.lead.identities.order_by("pk").first()
        if identity is not None and any(saved.get(f) for f in ("name", "email", "phone")):
            leads.ensure_lead(identity.kind, identity.value, name=saved.get("name"), email=saved.get("email"),
                              phone=saved.get("phone"))
        if newly_complete:
            leads.record_event(ctx.lead_id, EventKind.NOTE, {"form": form, "fields": data, "by": actor(ctx)})
    result = {"form": form, "saved": data, "invalid": invalid, "missing": missing, "complete": not missing}
    if missing:
        result["next"] = f"Ask the customer for: {missing[0]}."
    ctx.side_effects.append(SideEffect("form_collected", {"form": form, "complete": not missing, "missing": missing}))
    return result


# --- handoff and outcome ----------------------------------------------------------------


def _handoff(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return handoff(ctx, args["reason"], args.get("summary", ""))


def handoff(ctx: ToolContext, reason: str, summary: str = "") -> dict[str, Any]:
    """Ask for a person: marks the turn, records a ``handoff`` event on the lead's timeline
    (not in a dry run). Also used by the loop's handoff rules, whatever the enabled tools."""
    reason = reason.strip() or "handoff"
    ctx.handoff_reason = reason
    if ctx.lead_id is not None and not ctx.dry_run:
        from leads import services as leads
        from leads.models import EventKind

        leads.record_event(ctx.lead_id, EventKind.HANDOFF, {"reason": reason, "summary": summary, "by": actor(ctx)})
    ctx.side_effects.append(SideEffect("handoff", {"reason": reason, "summary": summary}))
    return {"handed_off": True, "reason": reason}


def report_outcome(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    """Label the conversation (sale, support, lead, lost) with a confidence; the latest
    label of a conversation wins. Read by analytics and shown in the admin."""
    from agents.models import ConversationOutcome

    confidence = Decimal(str(args["confidence"])).quantize(Decimal("0.01"))
    data = {"outcome": args["outcome"], "confidence": float(confidence), "note": args.get("note", "")}
    if ctx.dry_run:
        return {"dry_run": True, **data}
    ConversationOutcome.objects.update_or_create(
        conversation_id=ctx.request.conversation_id,
        defaults={
            "outcome": args["outcome"], "confidence": confidence, "note": args.get("note", ""),
            "agent": ctx.agent if ctx.agent.pk else None, "run": None,
            "channel": ctx.request.channel, "lead_id": ctx.lead_id, "updated_at": timezone.now(),
        },
    )
    ctx.side_effects.append(SideEffect("outcome_reported", data))
    return {"recorded": True, **data}


_CONTACT = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "email": {"type": "string", "pattern": EMAIL_PATTERN},
    "phone": {"type": "string", "minLength": 8, "maxLength": 25},
}

TOOLS = [
    Tool(
        "capture_lead",
        "Save what the customer told about themselves (name, e-mail, phone) and their sales stage. "
        "Fills blanks; never overwrites what the customer said before.",
        {
            "type": "object",
            "properties": {**_CONTACT, "stage": {"type": "string", "enum": ["engaged", "qualified", "lost"]}},
            "additionalProperties": False,
            "minProperties": 1,
        },
        capture_lead,
        writes=True,
    ),
    Tool(
        "update_lead",
        "Correct the customer's details when they change or fix them (replaces name, e-mail or "
        "phone), add tags, or move their sales stage with a reason.",
        {
            "type": "object",
            "properties": {
                **_CONTACT,
                "tags": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 40}, "maxItems": 10},
                "stage": {"type": "string", "enum": ["engaged", "qualified", "customer", "lost"]},
                "reason": {"type": "string", "maxLength": 300},
            },
            "additionalProperties": False,
            "minProperties": 1,
        },
        update_lead,
        writes=True,
    ),
    Tool(
        "collect_form",
        "Gather a named form's fields conversationally (checkout: name, email, cpf, address, "
        "postal_code; contact: name, email, phone; registration: name, email, phone, cpf, "
        "birth_date). Send the values the customer gave so far; it validates each, saves the good "
        "ones on the customer and tells which are invalid or still missing.",
        {
            "type": "object",
            "properties": {
                "form": {"type": "string", "enum": list(FORMS)},
                "values": {
                    "type": "object",
                    "propertyNames": {"enum": list(FORM_FIELDS)},
                    "additionalProperties": {"type": ["string", "number"]},
                },
            },
            "required": ["form", "values"],
            "additionalProperties": False,
        },
        collect_form,
        writes=True,
    ),
    Tool(
        "human_handoff",
        "Pass the conversation to a person of the store's team. Use when the customer asks for "
        "a person, or you cannot help.",
        {
            "type": "object",
            "properties": {
                "reason": {"type": "string", "minLength": 3, "maxLength": 500},
                "summary": {"type": "string", "maxLength": 2000},
            },
            "required": ["reason"],
            "additionalProperties": False,
        },
        _handoff,
    ),
    Tool(
        "report_outcome",
        "Label this conversation for the store's analytics once its purpose is clear: sale (an "
        "order was placed), support (a question answered), lead (a prospect to follow up), lost "
        "(the customer gave up), with your confidence from 0 to 1.",
        {
            "type": "object",
            "properties": {
                "outcome": {"type": "string", "enum": ["sale", "support", "lead", "lost"]},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                "note": {"type": "string", "maxLength": 500},
            },
            "required": ["outcome", "confidence"],
            "additionalProperties": False,
        },
        report_outcome,
        writes=True,
    ),
]
