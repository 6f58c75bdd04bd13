"""The pipeline as plain functions, used by the CLI, the MCP server and the web viewer.

Stages are imported here and nowhere above: model <- stages <- api <- {cli, mcp_server, web}.
"""

from __future__ import annotations
