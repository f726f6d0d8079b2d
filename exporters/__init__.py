"""Markdown to HTML, DOCX and Confluence storage format. Never imports `app`."""
