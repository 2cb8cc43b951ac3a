"""The ranking rules both backends follow, so a query ranks the same on Whoosh and PostgreSQL.

A result matches one deciding word at least and every required one. Its score is the sum of
what each matched clause scores (idf times the field boost; a synonym counts SYNONYM_WEIGHT of
the word it stands for, and never adds to it) times its coverage of the query, squared: the
share of the query's idf it holds. So all words beat some words, and a rarer word counts more.
"""

from __future__ import annotations

import math

TITLE_BOOST = 3.0
SYNONYM_WEIGHT = 0.5
# A word in more than this share of the documents (of an index this big) is too common to make
# a document a match by itself: it still adds to the score of documents other words matched.
COMMON_SHARE = 0.1
COMMON_FROM_DOCUMENTS = 1000


def idf(documents: int, frequency: int) -> float:
    """Whoosh's idf (the Whoosh backend reads it from the index; PostgreSQL computes it here)."""
    return math.log(documents / (frequency + 1)) + 1 if documents else 1.0


def is_deciding(documents: int, frequency: int) -> bool:
    return documents < COMMON_FROM_DOCUMENTS or frequency <= COMMON_SHARE * documents


def coverage_factor(matched: float, total: float) -> float:
    """How much of the query (by idf) a document holds, squared: all words beat some words."""
    share = matched / total if total > 0 else 1.0
    return share * share
