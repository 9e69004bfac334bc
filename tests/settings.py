"""Settings for the test suite: `gridlink.settings` with explicit, test-only keys.

The suite runs on PostgreSQL too (`DATABASE_URL` set), where gridlink refuses to start
without `GRIDLINK_SECRET_KEY` and `GRIDLINK_AUDIT_KEY`. These keys are set in the
environment (unless the caller set their own), so the processes the tests start (worker,
`gridlink` commands, the server) use the same keys as the test process. They protect only
throw-away test databases; no deployment reads this module.
"""

import os

os.environ.setdefault("GRIDLINK_SECRET_KEY", "test-only-secret-key-" + "s" * 40)
os.environ.setdefault("GRIDLINK_AUDIT_KEY", "test-only-audit-key-" + "a" * 40)

from gridlink.settings import *  # noqa: F403  (the real settings, with the keys above)
