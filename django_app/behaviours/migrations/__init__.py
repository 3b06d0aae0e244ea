"""Migrations of the behaviours app."""
