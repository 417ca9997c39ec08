"""Item pipelines: validate, clean, dedupe, store; one job each."""
