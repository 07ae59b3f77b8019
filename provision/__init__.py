"""Setup-time model provisioning (install, hash check, conversion): never imported at run time."""
