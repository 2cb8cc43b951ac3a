"""Q&A: accepted solutions, helpful votes, reputation, unsolved and unanswered lists."""
