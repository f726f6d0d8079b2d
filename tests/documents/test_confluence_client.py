"""The Confluence client against the loopback Confluence: create, update in place, conflicts, limits, failures."""

from datetime import datetime, timedelta, timezone

import pytest

from integrations.confluence import (
    ConfluenceClient, ConfluenceConfig, ConfluenceConflict, ConfluenceError, ConfluenceRateLimited,
    ConfluenceRejected, ConfluenceTimeout, ConfluenceUnavailable, retry_after_seconds,
)
from tests.fakes.confluence import FakeConfluence, parse_storage

BODY = "<h2>Summary</h2><p>It broke &amp; we fixed it.</p>"


@pytest.fixture
def fake():
    with FakeConfluence() as server:
        yield server


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(fake, sleeps):
    parent = fake.add_page("Retrospectives")
    config = ConfluenceConfig(url=fake.url, space=fake.space, user=fake.user, token=fake.token,
                              parent_id=parent.id, timeout_seconds=2, max_retry_after_seconds=10)
    return ConfluenceClient(config, sleep=sleeps.append)


def test_publish_creates_under_the_parent_then_updates_in_place(fake, client):
    page = client.publish("Retro #1", BODY)
    assert page.version == 1 and page.url == f"{fake.url}/spaces/RETRO/pages/{page.id}"
    stored = fake.pages[page.id]
    assert stored.ancestors == [next(p.id for p in fake.pages.values() if p.title == "Retrospectives")]
    parse_storage(stored.body)

    again = client.publish("Retro #1 (renamed)", "<p>v2</p>", page_id=page.id)
    assert (again.id, again.version, again.title) == (page.id, 2, "Retro #1 (renamed)")
    assert fake.pages[page.id].body == "<p>v2</p>" and len(fake.pages) == 2
    put = fake.calls("PUT")[-1]
    assert put[2]["version"] == {"number": 2} and put[2]["body"]["storage"]["representation"] == "storage"


def test_a_version_conflict_rereads_and_retries_once(fake, client):
    page = client.publish("Retro #2", BODY)
    fake.edit_in_confluence(page.id)  # someone saved version 2 in Confluence since our publish
    again = client.publish("Retro #2", "<p>ours</p>", page_id=page.id)
    assert again.version == 3 and fake.pages[page.id].body == "<p>ours</p>"

    fake.edit_in_confluence(page.id)
    original_get = client.get_page
    reads = []

    def stale_first_read(page_id):
        current = original_get(page_id)
        reads.append(current.version)
        if len(reads) == 1:
            fake.edit_in_confluence(page_id)  # lands between our read and our update
        return current

    client.get_page = stale_first_read
    final = client.publish("Retro #2", "<p>ours again</p>", page_id=page.id)
    assert reads == [4, 5] and final.version == 6
    assert [c[0] for c in fake.calls()][-4:] == ["GET", "PUT", "GET", "PUT"]


def test_a_second_conflict_is_raised(fake, client):
    page = client.publish("Retro #3", BODY)
    fake.conflict_next()
    fake.conflict_next()
    with pytest.raises(ConfluenceConflict) as caught:
        client.update_page(page.id, "Retro #3", BODY, version=2)
    assert caught.value.status == 502
    fake.fail_next(409)
    fake.fail_next(409)
    with pytest.raises(ConfluenceConflict):
        client.publish("Retro #3", BODY, page_id=None)  # found by title, then two 409s


def test_rate_limits_wait_as_asked_through_the_injected_sleep(fake, client, sleeps):
    fake.rate_limit_next(2, retry_after="3")
    page = client.publish("Retro #4", BODY)
    assert page.version == 1 and sleeps == [3.0, 3.0]


def test_rate_limits_past_the_cap_or_the_retries_give_up(fake, client, sleeps):
    fake.rate_limit_next(1, retry_after="120")
    with pytest.raises(ConfluenceRateLimited) as caught:
        client.publish("Retro #5", BODY)
    assert caught.value.retry_after == 120 and caught.value.status == 503 and sleeps == []
    fake.rate_limit_next(3, retry_after="1")
    with pytest.raises(ConfluenceRateLimited):
        client.publish("Retro #5", BODY)
    assert sleeps == [1.0, 1.0]
    assert not any(p.title == "Retro #5" for p in fake.pages.values())


@pytest.mark.parametrize("status, error, answer", [
    (500, ConfluenceError, 502), (502, ConfluenceError, 502), (503, ConfluenceUnavailable, 503),
    (504, ConfluenceTimeout, 504), (400, ConfluenceRejected, 502),
])
def test_server_errors_map_to_named_errors(fake, client, status, error, answer):
    fake.fail_next(status)
    with pytest.raises(error) as caught:
        client.publish("Retro #6", BODY)
    assert caught.value.status == answer and caught.value.http_status == status


def test_a_slow_confluence_times_out(fake):
    client = ConfluenceClient(ConfluenceConfig(url=fake.url, space=fake.space, user=fake.user, token=fake.token,
                                               timeout_seconds=0.2))
    fake.delay_next(1.0)
    with pytest.raises(ConfluenceTimeout) as caught:
        client.find_page("anything")
    assert caught.value.status == 504


def test_an_unreachable_confluence_is_unavailable():
    client = ConfluenceClient(ConfluenceConfig(url="http://127.0.0.1:9/wiki", space="X", timeout_seconds=1))
    with pytest.raises(ConfluenceUnavailable):
        client.find_page("anything")


def test_wrong_credentials_are_rejected(fake):
    client = ConfluenceClient(ConfluenceConfig(url=fake.url, space=fake.space, user=fake.user, token="wrong"))
    with pytest.raises(ConfluenceRejected) as caught:
        client.find_page("anything")
    assert caught.value.http_status == 401 and "credentials" in caught.value.message


def test_an_unknown_parent_is_rejected(fake):
    client = ConfluenceClient(ConfluenceConfig(url=fake.url, space=fake.space, user=fake.user, token=fake.token,
                                               parent_id="424242"))
    with pytest.raises(ConfluenceRejected) as caught:
        client.publish("Retro #7", BODY)
    assert caught.value.http_status == 404


def test_a_deleted_page_is_published_again(fake, client):
    page = client.publish("Retro #8", BODY)
    del fake.pages[page.id]
    again = client.publish("Retro #8", BODY, page_id=page.id)
    assert again.id != page.id and again.version == 1


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds((now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT"),
                               now=now) == 30.0
    assert retry_after_seconds("yesterday") is None and retry_after_seconds(None) is None
    assert retry_after_seconds("-5") == 0.0
