"""docs/configuration.md stays true: every setting is documented with its environment variable."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _env_names():
    data = tomllib.loads((ROOT / "config" / "defaults.toml").read_text())
    for key, value in data.items():
        if isinstance(value, dict):
            for sub in value:
                yield f"HINDSIGHT_{key}_{sub}".upper()
        else:
            yield f"HINDSIGHT_{key}".upper()


def test_every_setting_is_in_the_configuration_doc():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in _env_names() if f"`{name}`" not in doc]
    assert missing == []


def test_the_fixed_names_of_the_contract_exist():
    names = set(_env_names())
    for name in ["HINDSIGHT_DATABASE_URL", "HINDSIGHT_SECRET_KEY", "HINDSIGHT_BASE_URL", "HINDSIGHT_TIMEZONE",
                 "HINDSIGHT_JIRA_URL", "HINDSIGHT_JIRA_USER", "HINDSIGHT_JIRA_TOKEN", "HINDSIGHT_JIRA_PROJECT",
                 "HINDSIGHT_JIRA_WEBHOOK_SECRET", "HINDSIGHT_CONFLUENCE_URL", "HINDSIGHT_CONFLUENCE_USER",
                 "HINDSIGHT_CONFLUENCE_TOKEN", "HINDSIGHT_CONFLUENCE_SPACE", "HINDSIGHT_CONFLUENCE_PARENT_ID",
                 "HINDSIGHT_SMTP_HOST", "HINDSIGHT_SMTP_PORT", "HINDSIGHT_SMTP_USER", "HINDSIGHT_SMTP_PASSWORD",
                 "HINDSIGHT_MAIL_FROM"]:
        assert name in names
