"""What tests/ and bench/ share: waiting for conditions, a server process, its API, Chromium.

Not installed with the app (pyproject's `packages`): pytest finds it through its `pythonpath`
setting, the bench programs through the repository root they put on `sys.path`.
"""
