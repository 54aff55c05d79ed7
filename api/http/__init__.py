"""The HTTP surface: the FastAPI app, its routers, pages, middleware and problem documents."""
