"""Evidence readers: one module per format, each turning text into model objects."""
