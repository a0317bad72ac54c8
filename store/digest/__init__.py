"""The daily top-five digest: when it is due, which five, and the records that make it post once."""
