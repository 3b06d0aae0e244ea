"""What runs the servers under test: the target registry, supervision, upstream, `serve`."""
