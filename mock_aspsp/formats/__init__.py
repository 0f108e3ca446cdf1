"""The document formats the sandbox reads and writes: JSON bodies and lines (``jsonio``), JSON Schema
validation (``validation``), and how a message quotes a value it was sent (``quoting``)."""
