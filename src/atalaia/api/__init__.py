"""The HTTP API (FastAPI): control endpoints, and later cameras, events, live view and UI."""
