"""The long-running service: the BackgroundManager and how the app starts and stops it."""
