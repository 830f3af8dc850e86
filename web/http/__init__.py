"""The JSON API: routes, the one error shape, and how records become JSON."""
