"""Retro documents: sections with versions and history, custom templates (issue: documents)."""
