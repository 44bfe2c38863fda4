"""Custom Rasa NLU components for Stackwise."""
