"""`hindsight import slack-export` on a real export layout (zip and folder)."""

import json
import zipfile

import pytest
from click.testing import CliRunner

from app.cli import main


def write_export(root):
    (root / "inc-orders-db").mkdir(parents=True)
    (root / "users.json").write_text(json.dumps([{"id": "U1", "name": "maya", "profile": {"real_name": "Maya Chen"}}]))
    (root / "inc-orders-db" / "2026-11-20.json").write_text(json.dumps([
        {"type": "message", "user": "U1", "ts": "1763647200.000100", "text": "Failover started", "reactions": [{"name": "pushpin", "users": ["U1"], "count": 1}]},
        {"type": "message", "user": "U1", "ts": "1763647260.000200", "text": "chatter", "reactions": [{"name": "eyes", "users": ["U1"], "count": 1}]},
        {"type": "message", "user": "U1", "ts": "1763647320.000300", "text": "Primary promoted", "reactions": [{"name": "timeline", "users": ["U1"], "count": 1}]},
        {"type": "message", "user": "U1", "ts": "1763647380.000400", "text": "no reactions"},
    ]))


@pytest.fixture
def env(tmp_path):
    return {"HINDSIGHT_INSTANCE_PATH": str(tmp_path / "i"), "HINDSIGHT_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}", "HINDSIGHT_SECRET_KEY": "k"}


def test_marked_messages_become_timeline_events_once(tmp_path, env):
    runner = CliRunner()
    assert runner.invoke(main, ["demo"], env=env).exit_code == 0
    export = tmp_path / "export"
    write_export(export)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in export.rglob("*.json"):
            zf.write(file, file.relative_to(export).as_posix())
    args = ["import", "slack-export", str(archive), "--incident", "1", "--reaction", "pushpin", "--reaction", ":timeline:"]
    first = runner.invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    assert first.output.startswith("2 events added, 0 already")
    again = runner.invoke(main, ["import", "slack-export", str(export), "--incident", "1", "--reaction", "pushpin", "--reaction", "timeline"], env=env)
    assert again.output.startswith("0 events added, 2 already")

    from sqlalchemy import create_engine, text

    engine = create_engine(env["HINDSIGHT_DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT text, author, source FROM timeline_events WHERE source = 'slack' ORDER BY occurred_at")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("Failover started", "Maya Chen", "slack"), ("Primary promoted", "Maya Chen", "slack")]


def test_bad_exports_and_incidents_are_named(tmp_path, env):
    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade"], env=env)
    not_export = tmp_path / "notes.txt"
    not_export.write_text("hello")
    result = runner.invoke(main, ["import", "slack-export", str(not_export), "--incident", "1"], env=env)
    assert result.exit_code == 1 and "neither a folder nor a .zip" in result.output
    export = tmp_path / "export"
    write_export(export)
    missing = runner.invoke(main, ["import", "slack-export", str(export), "--incident", "99"], env=env)
    assert missing.exit_code == 1 and "Incident 99 does not exist" in missing.output


def test_a_malformed_message_is_named_not_a_traceback(tmp_path, env):
    runner = CliRunner()
    runner.invoke(main, ["demo"], env=env)
    export = tmp_path / "export"
    (export / "general").mkdir(parents=True)
    (export / "general" / "2026-11-20.json").write_text(json.dumps([{"ts": "abc", "text": "x", "reactions": [{"name": "pushpin"}]}]))
    result = runner.invoke(main, ["import", "slack-export", str(export), "--incident", "1"], env=env)
    assert result.exit_code == 1
    assert "general/2026-11-20.json: a message cannot be read" in result.output


def test_a_malformed_user_list_is_named(tmp_path):
    from integrations.slack_export import SlackExportError, read_marked_messages

    export = tmp_path / "export"
    write_export(export)
    (export / "users.json").write_text(json.dumps([{"id": "U1", "profile": "oops"}]))
    with pytest.raises(SlackExportError, match="users.json: a user cannot be read"):
        read_marked_messages(export, ["pushpin"])


def test_slack_markup_becomes_the_text_a_person_reads(tmp_path):
    """Mentions, channel links, links and Slack's entities are stored as readable, literal text."""
    from integrations.slack_export import read_marked_messages

    export = tmp_path / "export"
    write_export(export)
    (export / "channels.json").write_text(json.dumps([{"id": "C3", "name": "inc-orders-db"}]))
    stored = (
        "<@U1> failed over in <#C2|ops>, see <https://grafana.example.com/d?a=1&amp;b=2|the *dashboard*> "
        "and <https://status.example.com>; &lt;3 &amp; `x &gt; y` <!here> <@U9|ghost> <@U8> <#C3> "
        "<mailto:sre@example.com|sre@example.com> <http://example.com|example.com> &amp;lt; <!subteam^S1|@oncall>"
    )
    (export / "inc-orders-db" / "2026-11-21.json").write_text(json.dumps([
        {"type": "message", "user": "U1", "ts": "1763733600.000100", "text": stored,
         "reactions": [{"name": "pushpin", "users": ["U1"], "count": 1}]},
    ]))
    [*_, message] = read_marked_messages(export, ["pushpin"])
    assert message.text == (
        "Maya Chen failed over in #ops, see the *dashboard* (https://grafana.example.com/d?a=1&b=2) "
        "and https://status.example.com; <3 & `x > y` @here ghost @U8 #inc-orders-db "
        "sre@example.com example.com &lt; @oncall"
    )


def test_a_malformed_channel_list_is_named(tmp_path):
    from integrations.slack_export import SlackExportError, read_marked_messages

    export = tmp_path / "export"
    write_export(export)
    (export / "channels.json").write_text(json.dumps([{"id": "C1", "name": "ops"}, "oops"]))
    with pytest.raises(SlackExportError, match="channels.json: a channel cannot be read"):
        read_marked_messages(export, ["pushpin"])
