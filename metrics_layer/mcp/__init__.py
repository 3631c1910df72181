"""The metrics for AI assistants over the Model Context Protocol (docs/mcp.md): tools over the
HTTP service's ``Service``. Needs the ``mcp`` extra; nothing here is imported by
``import metrics_layer`` or by the CLI's other commands."""
