"""Tests of the reference providers: the assembler, the wire decoders, the models."""
