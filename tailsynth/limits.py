"""The documented size limits on untrusted input, in one place.

Files are checked against them (``tailsynth.io.loaders``, ``tailsynth.runner.validate``: the dry
run and the real run share the checks), and prompts are cut to them (``CompactAdapter``), so
no value can make a prompt longer than the model's context.
"""

MAX_QUERY_CHARS = 500
"""A search query longer than this is refused (the dry run, ``synthesize`` and ``SynthesisProgram.run``)."""

MAX_ID_CHARS = 256
"""A product or query id longer than this is refused."""

MAX_TITLE_CHARS = 2_000
"""A product title longer than this is refused (a catalog column mapped to the wrong field)."""

MAX_CSV_FIELD_BYTES = 16 << 20
"""The CSV reader's field limit (Python's default is 128 KiB); longer values are refused by the
limits above with a row and column, instead of ``_csv.Error: field larger than field limit``."""

MAX_FIELD_CHARS = 1_000
"""Prompt budget per field value: ``CompactAdapter`` cuts every input value to this many
characters. A character is at most 4 UTF-8 bytes and a byte-level BPE token covers at least one
byte, so a field costs at most 4,000 tokens (about 250 for English text); a prompt of two fields
and the instructions fits an 8,192-token context whatever the data holds."""

QTYPES = ("qa", "knowledge", "alternative", "negative")
"""The query types of the paper (Table 1); a qtype column may also be blank (classified later)."""
