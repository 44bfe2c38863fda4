"""Alembic revision files (loaded by path; this file only makes them package data)."""
