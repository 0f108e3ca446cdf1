"""The HTTP layer: per-request helpers, the route table, the error shape of each audience, the fault rules
applied to requests, the request journal and the admin API."""
