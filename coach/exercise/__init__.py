"""The exercise language: definition models, YAML loading with line numbers, conditions, the library."""
