"""The HTML pages: routes, forms, jinja2 templates and their translations (en, az, tr, kk, ky,
uz, ru)."""
