"""The document formats the sandbox reads and writes: JSON bodies and lines, and JSON Schema validation."""
