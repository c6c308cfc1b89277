"""Pure decisions and tables: no Pulumi, no pydantic. Everything above (config, render, the
Pulumi components, plandoc) may import this layer; it imports nothing of theirs."""
