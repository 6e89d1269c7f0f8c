from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class Participant(models.Model):
    """A person enrolled in the study; their account is activated from an invitation."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="participant"
    )
    study_id = models.CharField("study ID", max_length=64, unique=True)
    language = models.CharField(max_length=10, default="en")
    date_of_birth = models.DateField(null=True, blank=True)
    enrolled_at = models.DateTimeField(default=timezone.now)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["study_id"]

    def __str__(self) -> str:
        return self.study_id
