"""A bare Django hello: minimal settings, no middleware; the bench's Django baseline."""
