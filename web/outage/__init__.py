"""How the server keeps live rooms going while the database is down.

The rest of `web` goes through one facade, `OutageFallback` (web/outage/fallback.py): the
database's state, the booking and studios now (stored, or as read last), the callers the
database accepted before, and the audit log that waits out an outage. Its parts:
`database_watch` (pings, migrates once the database answers), `schedule_ahead` (the next
hours' bookings as read last), `remembered_callers` and `audit_outbox`.
"""
