"""Forwarding a studio's RTP packets to its partners as they arrive, without decoding."""
