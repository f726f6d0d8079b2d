"""Adapters to outside systems (Jira, Confluence, SMTP). They never import `app`: plain data in and out."""
