"""HTML views of the access app, one module per kind of user (urls.py names each)."""
