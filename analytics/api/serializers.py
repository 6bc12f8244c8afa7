from __future__ import annotations

from datetime import date

from rest_framework import serializers

EARLIEST, LATEST = date(1970, 1, 1), date(2999, 12, 31)


class DashboardQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First day (YYYY-MM-DD). Default: 29 days before end.")
    end = serializers.DateField(required=False, help_text="Last day, included (YYYY-MM-DD). Default: today.")

    def _plausible(self, value: date) -> date:
        if not EARLIEST <= value <= LATEST:
            raise serializers.ValidationError(f"Use a day from {EARLIEST} to {LATEST}.")
        return value

    validate_start = _plausible
    validate_end = _plausible


class DashboardStageSerializer(serializers.Serializer):
    stage = serializers.CharField()
    leads = serializers.IntegerField()


class DashboardStatusSerializer(serializers.Serializer):
    status = serializers.CharField()
    orders = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)


class DashboardOutcomesSerializer(serializers.Serializer):
    sale = serializers.IntegerField(help_text="The conversation's lead has an order paid in the range.")
    lead = serializers.IntegerField(help_text="Not a sale; an open order created in the range or a qualified lead.")
    support = serializers.IntegerField(help_text="None of the others: questions answered, handoffs, no lead.")
    lost = serializers.IntegerField(
        help_text="Not a sale; the lead is lost, or its order of the range was cancelled/expired with none open."
    )


class DashboardUsageSerializer(serializers.Serializer):
    agent_id = serializers.IntegerField(allow_null=True)
    agent = serializers.CharField()
    provider = serializers.CharField()
    model = serializers.CharField()
    calls = serializers.IntegerField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=16, decimal_places=6)


class DashboardDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    conversations = serializers.IntegerField()
    messages = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    handoffs = serializers.IntegerField()


class DashboardSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    timezone = serializers.CharField(help_text="Days are days of this time zone.")
    conversations = serializers.IntegerField(help_text="Conversations with a message in the range.")
    messages_in = serializers.IntegerField()
    messages_out = serializers.IntegerField()
    first_response_median_seconds = serializers.FloatField(
        allow_null=True,
        help_text="Median, over conversations, from the first inbound message of the range to the "
        "first reply that did not fail.",
    )
    answered = serializers.IntegerField(help_text="Conversations with an inbound message and a reply.")
    unanswered = serializers.IntegerField(help_text="Conversations with an inbound message and no reply.")
    handoffs = serializers.IntegerField(help_text="Conversations handed to a person in the range.")
    handoff_rate = serializers.FloatField(help_text="0..1, of the range's conversations.")
    new_leads = serializers.IntegerField()
    leads_by_stage = DashboardStageSerializer(many=True, help_text="Leads created in the range, by stage now.")
    orders = serializers.IntegerField(help_text="Orders created in the range.")
    orders_by_status = DashboardStatusSerializer(many=True)
    paid_orders = serializers.IntegerField(help_text="Orders paid in the range and not refunded.")
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    converted_conversations = serializers.IntegerField()
    conversion_rate = serializers.FloatField(help_text="0..1: conversations whose lead paid an order in the range.")
    outcomes = DashboardOutcomesSerializer()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=16, decimal_places=6)
    usage = DashboardUsageSerializer(many=True, help_text="Token usage by agent, provider and model.")
    days = DashboardDaySerializer(many=True)
