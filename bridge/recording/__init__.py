"""Crash-safe recording of the program and each studio's own feed, and its finalizing."""
