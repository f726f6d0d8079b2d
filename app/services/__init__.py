"""The catalogue of services and the teams that own them; incidents and action items name services."""
