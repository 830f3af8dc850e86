"""Who is asking and what they may do: sessions, bearer tokens, CSRF, the login limiter, signed
join and calendar links, TURN credentials, and the reverse proxy's headers."""
