"""Data sources: embedded (offline) datasets, generators and TFDS loading, all as in-memory arrays."""
