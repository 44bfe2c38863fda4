"""Rasa SDK action server for Stackwise: thin adapters over knowledge/, split by concern."""
