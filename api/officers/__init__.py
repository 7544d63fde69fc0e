"""The audit API for compliance officers: export, manifests, verification."""
