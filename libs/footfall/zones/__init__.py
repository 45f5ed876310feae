"""Zones: reading and validating zone files, relations between zones, and the spatial join of
events to zones."""
