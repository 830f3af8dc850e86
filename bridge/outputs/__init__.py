"""The program going out live: RTMP and SRT pushed to the partners' platforms and playout, HLS
served for their web pages. Every output carries the program's own H.264 and AAC, remuxed,
never encoded again (see program.tap)."""
