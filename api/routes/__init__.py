"""The API's routers, grouped by what the caller is doing."""
