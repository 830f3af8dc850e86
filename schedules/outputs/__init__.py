"""A booking's live outputs: where its program goes out (RTMP, SRT, HLS), validated, stored
with their secrets, and shown with those secrets masked."""
