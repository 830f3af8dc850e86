"""The producer's direction of a show: cues to a studio and the booking's chat."""
