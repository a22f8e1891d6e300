"""Marshmallow schemas: shape checks only, never database look-ups."""
