"""Events the catalog emits for higher apps (channels' outbound webhooks listen)."""

from django.dispatch import Signal

# kwargs: product_id, sku, before, after
stock_changed = Signal()
