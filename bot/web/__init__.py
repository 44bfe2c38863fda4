"""The web app (port 8000): the chat page, a JSON API over the knowledge core, a chat proxy to Rasa."""
