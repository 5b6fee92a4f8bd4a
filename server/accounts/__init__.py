"""People who open the bureau's pages: users and roles, signing in, access checks and the audit log."""
