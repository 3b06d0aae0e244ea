"""`python -m compare bench`: every behaviour on every target, measured side by side."""
