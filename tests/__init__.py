"""The parity suite and each framework's own test idioms."""
