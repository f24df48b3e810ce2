"""Configuration: process settings, feed contracts and the helpers their TOML shares."""
