"""The API itself: request and response bodies, the routes, the fast lane for the two hot endpoints, and the
handlers that turn a validated request (grounded or not) into an engine call."""
