"""The answer path, one stage a module, each with a typed result:

question.py  understand: the question, its language (detected once), the standalone question
             searched for a follow-up                                      -> Question
(rag.retrieval) retrieve: passages with their sentence vectors, read once  -> Retrieval
decide.py    every abstention before the model reads, as named decisions   -> Decision | None
read.py      the prompt and the generation                                 -> text pieces
(rag.verify) verify: claims checked and numbered as they stream            -> Verified
present.py   citations and their highlighted sentences                     -> Answer

rag.service.AnswerService runs them in that order, holding a place in the generation queue
for the stages that use the model.
"""
