"""OAuth2 as the bank runs it: redirect + authorization code, refresh, revocation."""
