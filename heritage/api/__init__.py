"""The JSON API researchers pull the register with, at /api/v1/: a module per job."""
