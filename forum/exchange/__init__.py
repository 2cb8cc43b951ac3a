"""Export, import, backup and a static archive of the forum (the community owns its data)."""
