"""Conversations from inbound messages to delivered replies.

The path: ``accept`` (webhook: the delivery stored in the store's inbox; ``inbox``) →
``drain_inbox`` (a worker, in arrival order) → ``record_inbound`` (the message stored,
deduplicated, and the burst's close scheduled; ``ingest``) →
``close_burst`` (after the accumulator window: one ``ConversationTurn`` per burst;
``accumulator``) → ``run_turn`` (the agent, one turn at a time per conversation, a cap
per store; ``turns``) → ``deliver`` (provider API, at most once per message;
``delivery``). ``handoff``, ``sending`` (on the store's behalf), ``channel_setup`` and
``hygiene`` hold the rest. Everything runs in the current store's schema; nothing here
names one. Callers import from ``channels.services``; the modules are its parts.
"""

from channels.services.accumulator import (
    burst_seconds,
    close_burst,
    schedule_burst_close,
)
from channels.services.budget import BudgetState, budget_state, check_budget, set_monthly_tokens, store_budget
from channels.services.channel_setup import (
    check_channel,
    complete_meta_signup,
    create_channel,
    delete_channel,
    get_channel,
    sync_channel_routes,
    webhook_path,
    webhook_url,
)
from channels.services.common import EnqueueOnCommit
from channels.services.delivery import Delivery, deliver, retry_message, split_reply
from channels.services.handoff import handoff, notify_provider_of_handoff, return_to_bot
from channels.services.hygiene import end_idle_conversations
from channels.services.inbox import accept as accept_delivery
from channels.services.inbox import drain_inbox, process_again
from channels.services.ingest import (
    Recorded,
    apply_status,
    conversation_for_external_id,
    ingest_chatwoot_event,
    ingest_messages,
    ingest_meta_batch,
    is_own_outbound,
    messages_of,
    record_inbound,
)
from channels.services.scheduling import dispatch_turns, waiting_turns
from channels.services.sending import (
    CUSTOMER_SERVICE_WINDOW,
    send_message,
    send_to_contact,
)
from channels.services.templates import (
    TemplateCall,
    TemplateSync,
    check_template,
    render_template,
    sync_templates,
    templates_of,
)
from channels.services.turns import (
    HANDOFF_MARKER,
    TurnRunner,
    build_turn_request,
    default_turn_runner,
    fail_turn,
    record_turn_result,
    release_turn,
    run_turn,
)

__all__ = [
    "CUSTOMER_SERVICE_WINDOW", "HANDOFF_MARKER", "Delivery", "EnqueueOnCommit", "Recorded", "TurnRunner",
    "apply_status", "build_turn_request", "burst_seconds", "check_channel", "close_burst",
    "complete_meta_signup", "conversation_for_external_id", "create_channel", "default_turn_runner",
    "delete_channel", "deliver", "end_idle_conversations", "fail_turn", "get_channel", "handoff",
    "ingest_chatwoot_event", "ingest_messages", "ingest_meta_batch", "is_own_outbound", "messages_of",
    "notify_provider_of_handoff", "record_inbound", "record_turn_result", "release_turn",
    "retry_message", "return_to_bot", "run_turn", "schedule_burst_close", "send_message", "send_to_contact",
    "split_reply", "sync_channel_routes", "webhook_path", "webhook_url",
    "BudgetState", "budget_state", "check_budget", "set_monthly_tokens", "store_budget",
    "dispatch_turns", "waiting_turns",
    "accept_delivery", "drain_inbox", "process_again",
    "TemplateCall", "TemplateSync", "check_template", "render_template", "sync_templates", "templates_of",
]
