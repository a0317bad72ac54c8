"""The insight store: ingest, embeddings, the Chroma index, search, saved lists and digest selection.

Plain Python over strings and ids; it knows nothing of Discord, so the bot and the command line are
two thin fronts over the same code.
"""
