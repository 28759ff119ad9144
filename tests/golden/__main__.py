"""``python -m tests.golden``: regenerate the golden files (review the diff before committing)."""

from tests.golden import main

main()
