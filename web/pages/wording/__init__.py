"""Words and numbers as people read them: audit-log sentences, city names and figures in the
page's language."""
