"""`rag eval`: reproducible retrieval, answer and citation metrics on a question set.

- `datasets`: SQuAD-style JSON and simple JSONL loaders (paragraphs + questions with gold ids);
- `metrics`: answer normalisation (fr + en), containment, token F1, recall@k, MRR, citations;
- `runner`: ingest a dataset into its own collection, ask, score (in process or over HTTP);
- `baseline`: the default LlamaIndex pipeline, with the same embedding model and LLM;
- `report`: report.json, report.md and PNG plots;
- `split`: the fixed tuning / checking split by article (`--split`, evaluation/splits/);
- `corpus`: a corpus of article files (`--corpus`) instead of gold passages.
"""
