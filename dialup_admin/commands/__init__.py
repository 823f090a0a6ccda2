"""Click commands, one module per area; each exposes COMMANDS for cli.py to register."""
