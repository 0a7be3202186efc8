"""Server- and platform-side code around the shared hashing core (hashing/).

The core, which needs no server package: decode.py (files into hashing.Pixels with the
browser's rules), media.py (a file's hash records: file_record, query_record) and index.py
(the PDQ multi-index). On top of it, each importing only the core: partner/ (the platform's
tool), audit.py (the auditor's tool) and, outside this package, backend/ (the server).
cli.py, the `takeback` command, mounts them all. tests/test_layers.py holds these rules.
"""
