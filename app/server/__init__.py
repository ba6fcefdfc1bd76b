"""What the service needs to face the internet: API keys, rate limits, request ids and logs, browser headers."""
