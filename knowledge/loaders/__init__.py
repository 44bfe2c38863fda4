"""Loaders turn source files (catalog YAML, O*NET, ESCO, BLS) into plain typed records."""
