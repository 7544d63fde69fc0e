"""The API for organizations (recipients and holders), on client-credentials
tokens."""
