"""The ASGI application as daphne serves it: asgi.py's, with the Date daphne does not send."""

from django_app.config.asgi import application as asgi_application
from django_app.dates import with_date

application = with_date(asgi_application)
