from datetime import date

import pytest

from config import SettingsError, load_settings


def test_defaults_match_the_documented_ones():
    settings = load_settings(environ={})
    assert settings.retro.deadline_days == 3
    assert settings.retro.target_days == 2
    assert settings.action_items.max_weeks == 4
    assert settings.base_url == "http://localhost:8000"
    assert settings.timezone == "UTC"
    assert not settings.jira.enabled and not settings.smtp.enabled and not settings.confluence.enabled


def test_fixed_environment_names_override_defaults():
    settings = load_settings(environ={
        "HINDSIGHT_DATABASE_URL": "postgresql://postgres@db/hindsight",
        "HINDSIGHT_JIRA_URL": "https://jira.example.com",
        "HINDSIGHT_JIRA_PROJECT": "OPS",
        "HINDSIGHT_JIRA_WEBHOOK_SECRET": "s3cret",
        "HINDSIGHT_CONFLUENCE_PARENT_ID": "12345",
        "HINDSIGHT_SMTP_PORT": "2525",
        "HINDSIGHT_MAIL_FROM": "retros@example.com",
        "HINDSIGHT_TIMEZONE": "Europe/Berlin",
        "HINDSIGHT_BASE_URL": "https://hindsight.example.com/",
    })
    assert settings.resolved_database_url() == "postgresql+psycopg://postgres@db/hindsight"
    assert settings.jira.enabled and settings.jira.webhook_secret == "s3cret"
    assert settings.confluence.parent_id == "12345"
    assert settings.smtp.port == 2525
    assert settings.mail_from == "retros@example.com"
    assert settings.zone.key == "Europe/Berlin"
    assert settings.base_url == "https://hindsight.example.com"


def test_every_key_of_a_section_has_an_environment_variable():
    settings = load_settings(environ={
        "HINDSIGHT_RETRO_DEADLINE_DAYS": "5",
        "HINDSIGHT_RETRO_FACILITATOR_POOL": "Ann@example.com, bob@example.com",
        "HINDSIGHT_WORKING_DAYS_EXTRA_HOLIDAYS": '["2026-12-24"]',
        "HINDSIGHT_ACTION_ITEMS_MAX_WEEKS": "6",
    })
    assert settings.retro.deadline_days == 5
    assert settings.retro.facilitator_pool == ["ann@example.com", "bob@example.com"]
    assert settings.working_days.extra_holidays == [date(2026, 12, 24)]
    assert settings.action_items.max_weeks == 6


def test_a_config_file_sits_between_defaults_and_environment(tmp_path):
    path = tmp_path / "hindsight.toml"
    path.write_text('timezone = "America/New_York"\n[retro]\ndeadline_days = 4\ntarget_days = 1\n')
    settings = load_settings(environ={"HINDSIGHT_CONFIG": str(path), "HINDSIGHT_RETRO_TARGET_DAYS": "2"})
    assert settings.timezone == "America/New_York"
    assert settings.retro.deadline_days == 4
    assert settings.retro.target_days == 2


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"HINDSIGHT_RETRO_DEADLINE_DAYS": "three"}, "HINDSIGHT_RETRO_DEADLINE_DAYS"),
        ({"HINDSIGHT_TIMEZONE": "Mars/Olympus"}, "HINDSIGHT_TIMEZONE"),
        ({"HINDSIGHT_BASE_URL": "hindsight.example.com"}, "base_url"),
        ({"HINDSIGHT_WORKING_DAYS_COUNTRY": "XX"}, "working_days.country"),
        ({"HINDSIGHT_WORKING_DAYS_DAY_START": "25:00"}, "working_days.day_start"),
        ({"HINDSIGHT_SMTP_PORT": "0"}, "HINDSIGHT_SMTP_PORT"),
        ({"HINDSIGHT_AUTH_PASSWORD_HASH_METHOD": "md5"}, "HINDSIGHT_AUTH_PASSWORD_HASH_METHOD"),
        ({"HINDSIGHT_AUTH_PASSWORD_HASH_METHOD": "pbkdf2:sha256:many"}, "HINDSIGHT_AUTH_PASSWORD_HASH_METHOD"),
    ],
)
def test_a_bad_value_is_refused_naming_the_key(environ, named):
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    assert named in str(caught.value)


def test_an_unknown_key_in_a_config_file_is_refused(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[retro]\ndeadline_dayz = 4\n")
    with pytest.raises(SettingsError, match="retro.deadline_dayz"):
        load_settings(environ={"HINDSIGHT_CONFIG": str(path)})


def test_passwords_are_hashed_with_scrypt_unless_told_otherwise():
    assert load_settings(environ={}).auth.password_hash_method == "scrypt"
    cheap = load_settings(environ={"HINDSIGHT_AUTH_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"})
    assert cheap.auth.password_hash_method == "pbkdf2:sha256:1"


def test_a_jira_lease_shorter_than_a_slow_push_is_refused():
    environ = {"HINDSIGHT_JIRA_TIMEOUT_SECONDS": "30", "HINDSIGHT_JIRA_CLAIM_SECONDS": "120"}
    with pytest.raises(SettingsError, match=r"claim_seconds \(120\) must be at least 180"):
        load_settings(environ=environ)
    assert load_settings(environ={**environ, "HINDSIGHT_JIRA_CLAIM_SECONDS": "180"}).jira.claim_seconds == 180


def test_single_sign_on_settings_from_the_fixed_environment_names():
    settings = load_settings(environ={
        "HINDSIGHT_OIDC_ISSUER": "https://id.example.com/realms/acme",
        "HINDSIGHT_OIDC_CLIENT_ID": "hindsight",
        "HINDSIGHT_OIDC_CLIENT_SECRET": "s3cret",
        "HINDSIGHT_OIDC_NAME": "Acme ID",
        "HINDSIGHT_OIDC_ADMIN_GROUPS": "sre, hindsight-admins",
        "HINDSIGHT_OIDC_GROUPS_CLAIM": "roles",
        "HINDSIGHT_OIDC_ALLOWED_DOMAINS": "Acme.com,@acme.org",
        "HINDSIGHT_PASSWORD_LOGIN": "false",
    })
    assert settings.oidc.enabled and settings.oidc.display_name == "Acme ID"
    assert settings.oidc.admin_groups == ["sre", "hindsight-admins"] and settings.oidc.groups_claim == "roles"
    assert settings.oidc.allowed_domains == ["acme.com", "acme.org"]
    assert settings.password_login is False
    off = load_settings(environ={})
    assert not off.oidc.enabled and off.password_login is True and off.oidc.display_name == "single sign-on"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"HINDSIGHT_PASSWORD_LOGIN": "false"}, "HINDSIGHT_PASSWORD_LOGIN"),
        ({"HINDSIGHT_OIDC_ISSUER": "id.example.com", "HINDSIGHT_OIDC_CLIENT_ID": "x"}, "HINDSIGHT_OIDC_ISSUER"),
        ({"HINDSIGHT_OIDC_ISSUER": "https://id.example.com"}, "oidc.client_id"),
        ({"HINDSIGHT_OIDC_ISSUER": "https://id.example.com", "HINDSIGHT_OIDC_CLIENT_ID": "x",
          "HINDSIGHT_OIDC_SCOPES": "email profile"}, "HINDSIGHT_OIDC_SCOPES"),
    ],
)
def test_single_sign_on_settings_that_cannot_work_are_refused(environ, named):
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    assert named in str(caught.value)


def test_the_factor_taxonomy_is_replaced_whole_from_a_file_or_the_environment(tmp_path):
    path = tmp_path / "hindsight.toml"
    path.write_text('[factors]\ncategories = [{ key = "vendor", label = "Vendor", kinds = { outage = "A vendor outage" } }]\n')
    from_file = load_settings(environ={"HINDSIGHT_CONFIG": str(path)})
    assert [(c.key, c.kinds) for c in from_file.factors.categories] == [("vendor", {"outage": "A vendor outage"})]
    from_env = load_settings(environ={"HINDSIGHT_FACTORS_CATEGORIES": '[{"key": "people", "label": "People", "kinds": {}}]'})
    assert [c.key for c in from_env.factors.categories] == ["people"]


@pytest.mark.parametrize("categories, message", [
    ('[{"key": "a", "label": "A"}, {"key": "a", "label": "Again"}]', "category 'a' is given twice"),
    ('[{"key": "Bad Key", "label": "B"}]', "factors.categories.0.key"),
    ('[{"key": "ok", "label": "OK", "kinds": {"Not OK": "x"}}]', "kind 'Not OK' must be lower-case"),
])
def test_a_bad_factor_taxonomy_is_refused_by_name(categories, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(environ={"HINDSIGHT_FACTORS_CATEGORIES": categories})
