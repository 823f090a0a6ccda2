"""Core: build a Plan from the desired state, show it, apply it."""
