from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class Committee(models.Model):
    """A data-access committee (DAC): it governs datasets and decides access requests."""

    name = models.CharField(max_length=200, unique=True)
    contact_email = models.EmailField()
    chairs = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="chaired_committees", blank=True
    )
    # Chairs are members too: they review and vote, and also record the decision.
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="committees", blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name
