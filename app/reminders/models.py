"""Reminder and notification bookkeeping (issue: scheduled jobs)."""
