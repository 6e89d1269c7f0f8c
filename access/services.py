"""Writes on access requests, reviews and grants."""

from __future__ import annotations
