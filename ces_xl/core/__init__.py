"""The scoring core: pandas tables and a model in, tables out. It knows nothing of Excel."""
