"""What is booked, when, and for whom: the booking domain and its storage (no web, no media)."""
