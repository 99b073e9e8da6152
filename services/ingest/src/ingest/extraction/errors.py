class ExtractionError(Exception):
    """The document cannot be turned into text; the message is shown to the person."""
