"""The routing rules, pure: the document's schema, CEL conditions, compilation, classification,
business hours, relaxation, the variables conditions see, and explanations."""
