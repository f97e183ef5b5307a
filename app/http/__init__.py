"""The HTTP edge: how uvicorn serves the app, how request bodies are read, and what the
OpenAPI document declares for every route."""
