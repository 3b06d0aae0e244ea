"""`python -m django_app <command>`: Django's manage.py for this project (migrate, check, ...)."""

import os
import sys

from django.core.management import execute_from_command_line


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_app.config.settings")
    execute_from_command_line([f"{sys.executable} -m django_app", *sys.argv[1:]])


if __name__ == "__main__":
    main()
