"""The joint program: layout, compositor, H.264 encoder, audio mix, and the return feed."""
