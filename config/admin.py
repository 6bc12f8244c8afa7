"""A store's staff users and groups in the console's look (django-unfold's forms).

The console app comes after django.contrib.auth, so its admin module runs last and
replaces Django's plain registrations on the store console.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.models import Group, User

from config.admin_base import StaffGroupAdmin, StaffUserAdmin

for model, model_admin in ((User, StaffUserAdmin), (Group, StaffGroupAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
