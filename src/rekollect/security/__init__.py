"""Who may call what: credentials, IAM-style policies, rate limits, and the request guard."""
