"""The show's direction while it is live: the producer's controls (program, sound, recording),
the control room's connection and talkback, and the cues and chat on a studio's console."""
