"""The booking domain's rules, each in one place: a booking's lifecycle (the transition table),
its timeline (join window, due room, phase, the clock's lifecycle steps), weekly recurrence on a
zone's wall clock, who may do what (access), and which bookings collide (conflicts, with the
query that finds them under the studios' locks)."""
