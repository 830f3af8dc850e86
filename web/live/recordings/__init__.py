"""A node's recordings: when rooms record and what is filed (control), what a crash left
(recovery), and what dead nodes left, finished from the object store (left_behind)."""
