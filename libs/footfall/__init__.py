"""footfall: privacy-safe footfall statistics from mobile network events."""

__version__ = "0.1.0"
