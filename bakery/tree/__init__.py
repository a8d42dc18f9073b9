"""The bake tree: generated sections of bake.hcl, the bake-file client, plans and matrix reports."""
