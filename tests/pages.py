"""Helpers for page tests: the CSRF token a page's form carries, and signing in with it."""

import re

from tests.factories import PASSWORD


def csrf_token(client, path="/login", **kwargs):
    """Return the CSRF token in the form of the page at path (this client's session)."""
    html = client.get(path, **kwargs).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, username, password=PASSWORD, **kwargs):
    """Post the sign-in form as a browser would; return the response."""
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token}, **kwargs)
