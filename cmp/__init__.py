"""What organizations install: `cmp.client`, the SDK for the consent platform.

Nothing of the platform lives here; the SDK speaks the wire formats in
`cmp_common.wire`, which its distribution ships alongside it.
"""
