"""What the edges share: result shapes and the error mapping (MCP, web API, CLI)."""
