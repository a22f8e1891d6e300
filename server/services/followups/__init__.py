"""Follow-ups (整改复查、处罚后复查、投诉举报、案件): what must happen after an inspection or a report.

- `workdays.py`: the working-day calendar, pure (validate a year's file, count working days).
- `calendars.py`: the calendars stored in the database (`flask followups calendar load`).
- `deadlines.py`: the default deadline rules (a data file), pure.
- `transitions.py`: the order state machine (a data file), pure.
- `orders.py`: issue, list, read and move rectification orders.
- `rechecks.py`: rechecks: an inspection limited to an order's findings moves the order.
- `complaints.py`: complaints and reports: intake, routing, verification, feedback.
- `overdue.py`: the registry of due-dated obligations (SOURCES) and the overdue list.
- `escalation.py`: the reminder/escalation rules (a data file) and the sweep.
- `notifications.py`: a user's own notifications: list, mark read.

The data files live in server/followups/ (see its README.md).
"""

from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "followups"
