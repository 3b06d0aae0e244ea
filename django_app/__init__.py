"""The behaviours of the suite, written in Django async views and Channels consumers."""
