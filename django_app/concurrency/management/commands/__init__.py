"""`python -m django_app heartbeat`; `task_worker`: django-tasks-db's `db_worker`, recovering."""
