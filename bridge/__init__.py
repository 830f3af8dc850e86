"""What happens live: peers, relay, program, recorder, stats (aiortc + av; no web code)."""
