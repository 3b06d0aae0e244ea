"""The Django app that holds every behaviour of the suite."""
