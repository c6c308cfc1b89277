"""One module per ``servestack`` subcommand; :mod:`servestack.cli` assembles them."""
