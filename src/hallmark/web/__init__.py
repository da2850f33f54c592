"""Web pages on the same services as the API: session cookies, CSRF tokens, server-rendered HTML."""
