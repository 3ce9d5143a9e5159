"""Email over SMTP (smtplib): one message per send, Message-ID derived from the key.

The Message-ID is the idempotency key's hash at the sender's domain, so a
mail system or the recipient's client that deduplicates by Message-ID sees a
resend as the same mail. SMTP replies sort into outcomes by RFC 5321: a
refused connection or a 4xx reply is temporary (retry), a 5xx reply is a
refusal, and a connection lost after the DATA command may have delivered the
mail (in doubt).
"""

import hashlib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from qunyun.connectors.base import Attempt, Channel, OutboundMessage, Outcome, Policy, Recipient, SendLog
from qunyun.connectors.pacing import Pacer, Rate

DEFAULT_RATE = Rate(10, 1.0)  # a modest default; providers publish their own (set it in qunyun.toml)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    sender: str = "qunyun@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = True  # required when true: never send credentials or mail in clear by accident
    timeout: float = 20.0
    rate: Rate = DEFAULT_RATE


class EmailChannel(Channel):
    name = "email"

    def __init__(
        self,
        settings: SmtpSettings,
        send_log: SendLog,
        *,
        pacer: Pacer | None = None,
        policy: Policy | None = None,
    ) -> None:
        super().__init__(send_log, pacer, policy)
        self.settings = settings

    def rates(self, recipient: Recipient) -> list[tuple[str, Rate]]:
        return [("smtp", self.settings.rate)]

    def message_id(self, key: str) -> str:
        domain = self.settings.sender.rpartition("@")[2] or "qunyun"
        return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"

    def _compose(self, recipient: Recipient, message: OutboundMessage, key: str) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.settings.sender
        mail["To"] = recipient.address
        first_line = message.text.strip().splitlines()[0][:60] if message.text.strip() else "Qunyun"
        mail["Subject"] = message.subject or first_line
        mail["Message-ID"] = self.message_id(key)
        mail["Date"] = formatdate(usegmt=True)
        mail["Content-Language"] = message.locale
        mail.set_content(message.text)
        return mail

    def _attempt(self, recipient: Recipient, message: OutboundMessage, key: str) -> Attempt:
        settings = self.settings
        try:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        except OSError as exc:
            return Attempt(Outcome.RETRY, error=f"cannot connect to {settings.host}:{settings.port}: {exc}")
        data_sent = False
        try:
            with smtp:
                if settings.starttls:
                    smtp.ehlo()
                    if not smtp.has_extn("starttls"):
                        error = f"{settings.host} offers no STARTTLS (starttls = true)"
                        return Attempt(Outcome.FAILED, error=error)
                    smtp.starttls(context=ssl.create_default_context())
                if settings.username:
                    smtp.login(settings.username, settings.password or "")
                data_sent = True
                refused = smtp.send_message(self._compose(recipient, message, key))
        except smtplib.SMTPRecipientsRefused as exc:
            return Attempt(Outcome.FAILED, error=f"recipient refused: {exc.recipients}")
        except smtplib.SMTPResponseException as exc:
            temporary = 400 <= exc.smtp_code < 500
            error = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            return Attempt(Outcome.RETRY if temporary else Outcome.FAILED, error=error)
        except (smtplib.SMTPException, OSError) as exc:
            outcome = Outcome.IN_DOUBT if data_sent else Outcome.RETRY
            return Attempt(outcome, error=f"{exc.__class__.__name__}: {exc}")
        if refused:
            return Attempt(Outcome.FAILED, error=f"recipient refused: {refused}")
        return Attempt(Outcome.SENT, platform_id=self.message_id(key))
