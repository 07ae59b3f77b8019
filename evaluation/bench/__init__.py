"""Benchmarks behind the figures README.md and docs/EVALUATION.md quote.

Run one with `rag bench NAME [ARGS...]` or `python -m evaluation.bench.NAME [ARGS...]`;
`rag bench --list` names them. Every public module here is a benchmark exposing
`main(argv: list[str] | None = None) -> int` with a one-line docstring; modules whose name
starts with `_` are helpers they share.
"""
