"""The guards at the backend's edge, before any route: connection limits and timeouts, the Host and CORS
allow-lists, security headers, body size, the API key, rate limits and who a request comes from."""
