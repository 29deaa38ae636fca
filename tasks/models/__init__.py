"""Model builders: each returns a list of named blocks and a classifier head (see ``suite.api.Network``)."""
