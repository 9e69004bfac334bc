"""An e-mail backend for installations without an SMTP server (GRIDLINK_EMAIL_URL empty).

It sends nothing and writes one log line per message with the number of recipients: not
the addresses, the subject or the text, which may hold personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

log = logging.getLogger(__name__)


class LogEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            log.info(
                "e-mail not sent (GRIDLINK_EMAIL_URL is empty): %d recipient(s)",
                len(message.recipients()),
            )
        return len(email_messages)
