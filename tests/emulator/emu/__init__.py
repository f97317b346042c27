"""Local AWS-compatible emulator for lambda-mcp tests (see ../README.md)."""
