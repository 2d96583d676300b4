"""Serving a trained detector behind an HTTP endpoint: ``request`` (one scoring request,
checked before any model runs; TensorFlow-free)."""
