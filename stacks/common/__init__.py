"""Building blocks shared by every stack: secure defaults, least-privilege grants, metrics."""
