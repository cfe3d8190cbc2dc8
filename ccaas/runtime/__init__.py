"""Process plumbing: settings, logging, and the embedded Redis used when none is configured."""
