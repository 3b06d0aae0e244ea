"""The suite's pytest plugins, listed in tests/conftest.py's pytest_plugins."""
