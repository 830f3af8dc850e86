"""How the server keeps live rooms going while the database is down."""
