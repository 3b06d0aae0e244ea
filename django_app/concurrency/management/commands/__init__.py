"""`python -m django_app heartbeat` and `python -m django_app worker`."""
