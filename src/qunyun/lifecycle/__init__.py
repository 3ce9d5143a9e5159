"""Lifecycle: stage and segment rules, the refresh action, the clean-up list."""

from qunyun.lifecycle.refresh import RefreshReport, refresh
from qunyun.lifecycle.rules import Decision, Previous, decide

__all__ = ["Decision", "Previous", "RefreshReport", "decide", "refresh"]
