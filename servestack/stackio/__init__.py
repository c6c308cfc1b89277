"""Stack files in and out: the one bounded reader every command uses (:mod:`.stackyaml`), the
editor that changes a stack file keeping its comments and layout (:mod:`.stackfile`), and the
serialized, atomic writes it makes them with (:mod:`.atomic`). The plan engine may use it."""
