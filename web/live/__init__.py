"""What runs while shows are on: the autopilot and open rooms, the consoles' and WHIP
signalling, the recording policy, master control's sampler, alerts and metrics."""
