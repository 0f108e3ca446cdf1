"""All mutable state of the sandbox, behind one interface (``interface.Store``): SQLite by default,
Redis for several replicas."""
