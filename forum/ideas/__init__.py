"""Ideas boards: members vote for ideas with a budget of active votes; moderators set statuses."""
