"""Keep the hostname -> store cache true: any domain or store change forgets its hosts."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenants.middleware import forget_hostnames
from tenants.models import Domain, Tenant


@receiver([post_save, post_delete], sender=Domain)
def forget_domain(sender, instance: Domain, **kwargs) -> None:
    hostname = instance.domain
    forget_hostnames([hostname])
    transaction.on_commit(lambda: forget_hostnames([hostname]))


@receiver([post_save, post_delete], sender=Tenant)
def forget_store_domains(sender, instance: Tenant, **kwargs) -> None:
    hostnames = list(Domain.objects.filter(tenant_id=instance.pk).values_list("domain", flat=True))
    if hostnames:
        forget_hostnames(hostnames)
        transaction.on_commit(lambda: forget_hostnames(hostnames))
