"""What the export tests need: the `export` extra and the helmet-detector checkpoint.

The helpers and the once-per-session export of the helmet checkpoint live in
tests/fixtures/helmet_model.py (tests/rules and tests/service use the same model); a missing
piece skips a test on a developer's machine and fails it in CI (CI=true).
"""

from tests.fixtures.helmet_model import (  # noqa: F401 (re-exported for the export tests)
    HELMET_PACKAGE,
    helmet_checkpoint,
    needs_export_extra,
    run_atalaia,
)
