"""Data evaluation pipeline: validate, redact PII, profile bias, publish (one function per step)."""
