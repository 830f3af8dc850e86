"""The JSON API of bookings, studios and the archive: routes, and how records become JSON.

The error shape every route answers with is web/errors.py; the live routes are in web/live/."""
