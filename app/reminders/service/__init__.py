"""Reminder digests, snoozes, retro nudges and calendar invitations.

The parts: `digests`, `snoozes`, `nudges`, `invitations` and `failures` (what admins
see of mail not sent yet). Their public names are importable from here.
"""

from app.reminders.service.digests import (
    REASON_TITLES, DIGEST_CLAIM, digest_day, DigestRun, send_digests,
)
from app.reminders.service.snoozes import (
    get_snooze, snooze_item, end_snooze,
)
from app.reminders.service.nudges import (
    send_nudges,
)
from app.reminders.service.invitations import (
    calendar_uid, invitation_ics, retro_schedule_changed,
)
from app.reminders.service.failures import (
    mail_failures,
)
