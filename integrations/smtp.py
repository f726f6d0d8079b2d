"""Outgoing mail over SMTP: plain data in, an email on the wire out.

`mail_on(config)` is the one place that decides "not configured": mail is off,
logged once. A `Mailer` keeps one connection for a run of messages and
reconnects after the server dropped it; `send_all` sends many over a few
connections at once. Every failure is a `MailError`, with the SMTP reply code
when the server gave one.
"""

from __future__ import annotations

import logging
import queue
import secrets
import smtplib
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import charset
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import formatdate, make_msgid
from types import TracebackType
from typing import Any, TypeVar

from integrations.off import say_off_once

log = logging.getLogger(__name__)
K = TypeVar("K")
_MAX_7BIT_LINE = 990
_UTF8_QP = charset.Charset("utf-8")
_UTF8_QP.header_encoding = charset.QP
_UTF8_QP.body_encoding = charset.QP


class _Policy(Compat32):
    """compat32, minus the Header round trip for short ASCII headers, which need no folding.

    Folding every header through email.header.Header is the largest cost of a digest run's
    thousands of messages; the bytes on the wire are the same.
    """

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        if (isinstance(value, str) and value.isascii() and len(name) + len(value) + 2 <= 78
                and "\n" not in value and "\r" not in value):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


_POLICY = _Policy()


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    starttls: bool = False
    ssl: bool = False
    timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class CalendarPart:
    """An iCalendar object sent as `text/calendar; method=...` and as an .ics attachment."""

    ics: str
    method: str  # REQUEST or CANCEL
    filename: str = "invite.ics"


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str | None = None
    calendar: CalendarPart | None = None
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)


class MailError(Exception):
    """SMTP refused a message or could not be reached.

    `code` is the SMTP reply code when the server answered; `connection` is true
    when no conversation was possible, so later messages of the run would fail too.
    """

    def __init__(self, message: str, *, code: int | None = None, connection: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.connection = connection

    @property
    def temporary(self) -> bool:
        return self.code is None or 400 <= self.code < 500


def build_message(email: Email, mail_from: str) -> Message:
    """The MIME message: plain text, an HTML alternative, and the calendar part and attachment if any.

    Built with the stdlib's compat32 MIME classes: digests go out by the thousand, and these
    are several times faster than EmailMessage's header registry for the same bytes on the wire.
    """
    body: Message = _text_part(email.text, "plain")
    if email.html is not None or email.calendar is not None:
        alternative = MIMEMultipart("alternative", boundary=_boundary())
        alternative.attach(body)
        if email.html is not None:
            alternative.attach(_text_part(email.html, "html"))
        if email.calendar is not None:
            calendar = _text_part(email.calendar.ics, "calendar")
            calendar.set_param("method", email.calendar.method)
            alternative.attach(calendar)
        body = alternative
    if email.calendar is not None:
        # Mail clients show the invitation from the text/calendar alternative; the
        # attachment is for those that only offer files.
        mixed = MIMEMultipart("mixed", boundary=_boundary())
        mixed.attach(body)
        attachment = MIMEApplication(email.calendar.ics.encode("utf-8"), "ics")
        del attachment["MIME-Version"]
        attachment.add_header("Content-Disposition", "attachment", filename=email.calendar.filename)
        mixed.attach(attachment)
        body = mixed
    del body["MIME-Version"]
    body["MIME-Version"] = "1.0"
    body["From"] = mail_from
    body["To"] = email.to
    # A subject is one line whatever its parts held: a line break would start a new header.
    subject = " ".join(email.subject.split())
    body["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    body["Date"] = formatdate(usegmt=True)
    body["Message-ID"] = make_msgid(domain=mail_from.rpartition("@")[2] or "localhost")
    for name, value in email.headers:
        body[name] = value
    body.policy = _POLICY
    return body


def _text_part(content: str, subtype: str) -> MIMEText:
    # Plain ASCII with short lines travels as 7bit; anything else as quoted-printable UTF-8.
    if content.isascii() and all(len(line) <= _MAX_7BIT_LINE for line in content.splitlines()):
        part = MIMEText(content, subtype, "us-ascii")
    else:
        part = MIMEText(content, subtype, _UTF8_QP)
    del part["MIME-Version"]  # only the top level carries it
    return part


def _boundary() -> str:
    # Random and long enough never to occur in a body, so the generator need not search for it.
    return f"=_hindsight_{secrets.token_hex(16)}"


class Mailer:
    """Sends emails over one SMTP connection, opened on first use."""

    def __init__(self, config: SmtpConfig, mail_from: str) -> None:
        self.config = config
        self.mail_from = mail_from
        self._connection: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *_exc: object | TracebackType) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        try:
            if config.ssl:
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    config.host, config.port, timeout=config.timeout, context=ssl.create_default_context()
                )
            else:
                connection = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
            if config.starttls and not config.ssl:
                connection.starttls(context=ssl.create_default_context())
            if config.user:
                connection.login(config.user, config.password)
        except smtplib.SMTPResponseException as exc:
            raise MailError(_reply_text(exc.smtp_code, exc.smtp_error), code=exc.smtp_code, connection=True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(
                f"cannot reach SMTP server {config.host}:{config.port}: {exc}", connection=True
            ) from exc
        return connection

    def send(self, email: Email) -> None:
        """Send one email; raises MailError if the server refuses it or cannot be reached."""
        try:
            message = build_message(email, self.mail_from)
        except (ValueError, TypeError, LookupError) as exc:
            # This one message cannot be built (a bad header): fail it alone, never the run.
            raise MailError(f"the message to {email.to} could not be built: {exc}") from exc
        if self._connection is None:
            self._connection = self._connect()
        try:
            self._connection.send_message(message, from_addr=self.mail_from, to_addrs=[email.to])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise MailError(f"{email.to} refused: {_reply_text(code, reply)}", code=code) from exc
        except smtplib.SMTPResponseException as exc:
            # Covers sender refused and DATA refused; smtplib has reset the transaction.
            if exc.smtp_code in (421,):
                self._drop()
            raise MailError(_reply_text(exc.smtp_code, exc.smtp_error), code=exc.smtp_code) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise MailError(f"SMTP connection to {self.config.host}:{self.config.port} failed: {exc}",
                            connection=True) from exc

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except OSError:
                pass  # already gone: nothing left to release

    def close(self) -> None:
        """Say goodbye to the server if a connection is open."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()


def mail_on(config: SmtpConfig) -> bool:
    """Whether SMTP is configured; when it is not, mail is off (logged once per process)."""
    if not config.enabled:
        say_off_once(log, "smtp", "SMTP is not configured (smtp.host is empty): mail is off")
    return config.enabled


def mailer(config: SmtpConfig, mail_from: str) -> Mailer | None:
    """A Mailer, or None when mail is off."""
    return Mailer(config, mail_from) if mail_on(config) else None


_STOP = object()


def send_all(
    config: SmtpConfig, mail_from: str, emails: Iterable[tuple[K, Email]], *, connections: int = 1
) -> dict[K, MailError]:
    """Send every (key, email), over up to `connections` SMTP connections at once.

    Returns the MailError of each email that was not sent, by key. `emails` is consumed in
    the caller's thread (so it may render templates lazily); the sending happens in worker
    threads, each with its own connection, so the server's round trips overlap the
    rendering. Once the server cannot be reached, the rest fail at once with that error.
    """
    jobs: queue.Queue[Any] = queue.Queue(maxsize=max(connections, 1) * 8)
    failures: dict[K, MailError] = {}
    crashes: list[BaseException] = []
    lock = threading.Lock()
    unreachable: list[MailError] = []

    def work() -> None:
        with Mailer(config, mail_from) as mailer:
            while True:
                job = jobs.get()
                if job is _STOP:
                    return
                key, email = job
                try:
                    if unreachable:
                        raise unreachable[0]
                    mailer.send(email)
                except MailError as exc:
                    with lock:
                        failures[key] = exc
                        if exc.connection and not unreachable:
                            unreachable.append(exc)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
                    with lock:
                        crashes.append(exc)

    workers = [threading.Thread(target=work, name=f"smtp-{n}", daemon=True) for n in range(max(connections, 1))]
    for worker in workers:
        worker.start()
    try:
        for item in emails:
            jobs.put(item)
    finally:
        for _ in workers:
            jobs.put(_STOP)
        for worker in workers:
            worker.join()
    if crashes:
        raise crashes[0]
    return failures


def _reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"SMTP {code} {text}".strip()
