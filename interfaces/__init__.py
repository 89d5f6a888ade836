"""Interfaces: MCP tools, the HTTP app, the CLI; thin edges over the use cases."""
