"""Chat notices (Slack, Teams): recorded in an outbox with the change, sent after the commit."""
