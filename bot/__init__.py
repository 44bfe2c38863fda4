"""Stackwise adapters: the Rasa NLU component, the domain, the web app and the CLI."""
