"""Stackwise knowledge core: pure, typed logic shared by the bot, the actions, the web app and the CLI.

Nothing here imports Rasa, and nothing heavy happens at import time.
"""
