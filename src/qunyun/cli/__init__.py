"""The `qunyun` command line: thin commands that parse, call an action, print."""
