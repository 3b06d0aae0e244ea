"""`python -m django_app heartbeat`; the Tasks worker is django-tasks-db's `db_worker`."""
