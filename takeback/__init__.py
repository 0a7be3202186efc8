"""Server- and platform-side tools around the shared hashing core: decoding with Pillow, the `takeback` command."""
