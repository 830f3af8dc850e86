"""The program's graphics of a booking: lower-third texts per studio and language, what the
producer has on screen, and the site's logo."""
