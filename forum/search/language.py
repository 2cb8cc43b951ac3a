"""How words are compared, the same for both backends: spelling variants, stop words, stems.

Text is normalised before either backend analyses it (on indexing and on searching), so
"wi-fi", "wi fi" and "WiFi" are one word, "e-mail" is "email", and British spellings are
read as American ones ("fibre" is "fiber", "cancelled" is "canceled"); stemming then joins
plurals and verb forms. Snippets highlight with the same functions, so a highlighted word
is one the search matched.
"""

from __future__ import annotations

import re
from functools import lru_cache

from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemFilter, StopFilter, Tokenizer
from whoosh.analysis.analyzers import CompositeAnalyzer

# Words joined in some spellings and split in others: each form is read as the joined one.
_COMPOUNDS = {
    "wi fi": "wifi", "e mail": "email", "e mails": "emails", "e sim": "esim", "on line": "online",
    "web site": "website", "web sites": "websites", "log in": "login", "set top": "settop",
    "smart phone": "smartphone", "smart phones": "smartphones", "voice mail": "voicemail",
    "user name": "username", "pass word": "password", "micro filter": "microfilter",
    "micro filters": "microfilters", "head phones": "headphones", "re boot": "reboot",
    "re start": "restart", "re set": "reset", "up load": "upload", "down load": "download",
    "broad band": "broadband", "ether net": "ethernet", "hot spot": "hotspot", "lap top": "laptop",
    "set up": "setup",
}  # fmt: skip
_JOINED = {split.replace(" ", ""): joined for split, joined in _COMPOUNDS.items()}
_COMPOUND = re.compile(
    r"\b(?:"
    + "|".join(re.escape(a).replace(r"\ ", r"[\s\-]?") for a in sorted(_COMPOUNDS, key=len, reverse=True))
    + r")\b",
    re.IGNORECASE,
)

# British spellings read as American ones (whole words; inflected forms are generated).
_BRITISH = {
    "colour": "color", "favour": "favor", "favourite": "favorite", "behaviour": "behavior",
    "honour": "honor", "labour": "labor", "neighbour": "neighbor", "flavour": "flavor",
    "humour": "humor", "rumour": "rumor", "harbour": "harbor", "centre": "center", "fibre": "fiber",
    "metre": "meter", "litre": "liter", "theatre": "theater", "calibre": "caliber", "licence": "license",
    "defence": "defense", "offence": "offense", "programme": "program", "catalogue": "catalog",
    "dialogue": "dialog", "analyse": "analyze", "paralyse": "paralyze", "grey": "gray", "tyre": "tire",
    "aluminium": "aluminum", "mould": "mold", "aeroplane": "airplane", "storey": "story",
    "cheque": "check", "kerb": "curb", "pyjamas": "pajamas", "plough": "plow", "manoeuvre": "maneuver",
    "enrol": "enroll", "fulfil": "fulfill", "instalment": "installment", "jewellery": "jewelry",
}  # fmt: skip
_DOUBLED_L = ("cancel", "travel", "label", "model", "fuel", "signal", "level", "dial", "total", "channel",
              "tunnel", "equal", "marvel", "counsel", "cancel", "pedal", "install")  # fmt: skip
_ISE_ROOTS = ("organ", "recogn", "real", "apolog", "author", "custom", "priorit", "optim", "minim",
              "maxim", "synchron", "categor", "emphas", "summar", "special", "final", "initial",
              "standard", "personal", "util", "visual", "critic", "memor", "local", "normal",
              "central", "digit", "capital", "familiar", "general", "monet", "character", "subsid")  # fmt: skip


def _spelling_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for british, american in _BRITISH.items():
        table[british] = american
        for suffix in ("s", "es", "ed", "ing", "d"):
            table[british + suffix] = american + suffix
        if british.endswith("e") and american.endswith("er"):  # centre -> centred/centring
            table[british[:-1] + "ed"] = american + "ed"
    for root in _DOUBLED_L:  # cancelled -> canceled, travelling -> traveling
        base = root.rstrip("l")
        if root == "install":
            continue
        table[base + "lled"] = base + "led"
        table[base + "lling"] = base + "ling"
        table[base + "ller"] = base + "ler"
        table[base + "llers"] = base + "lers"
    for root in _ISE_ROOTS:  # organise -> organize, realisation -> realization
        for suffix in ("e", "es", "ed", "ing", "er", "ers", "ation", "ations"):
            table[root + "is" + suffix] = root + "iz" + suffix
    return table


_SPELLINGS = _spelling_table()
_WORD = re.compile(r"[A-Za-z]+")

# Words too common in questions to decide anything: never a reason for a result to match.
# Whoosh's and PostgreSQL's English stop words, plus the glue of spoken questions.
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are aren as at be because been before
    being below between both but by can cannot could did didn do does doesn doing don down during
    each few for from further had has have having he her here hers herself him himself his how i
    if in into is isn it its itself just let me more most my myself no nor not now of off on once
    only or other ought our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up
    us very was wasn we were weren what when where which while who whom why will with won would
    yet you your yours yourself yourselves tbd may also im ive id get got getting anyone anybody
    someone somebody please thanks thank hi hello help keep keeps kept still really even every
    any way ll re ve""".split()
)


def normalise(text: str) -> str:
    """Spelling variants replaced by one form, so both sides of a comparison agree."""
    text = _COMPOUND.sub(lambda m: _JOINED[re.sub(r"[\s\-]+", "", m.group(0).lower())], text)
    return _WORD.sub(lambda m: _SPELLINGS.get(m.group(0).lower(), m.group(0)), text)


def normalise_word(word: str) -> str:
    """normalise() of one lower-case word (cheap: no regular expression for plain words)."""
    if "-" in word:
        return normalise(word)
    return _SPELLINGS.get(word, word)


def joined(first: str, second: str) -> str | None:
    """The one word two lower-case words are a spelling of ("wi", "fi" -> "wifi"), if any."""
    return _JOINED.get(first + second)


class NormalisingTokenizer(Tokenizer):
    """Whoosh's word tokenizer over normalised text (positions count the normalised words)."""

    def __init__(self) -> None:
        self.inner = RegexTokenizer()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NormalisingTokenizer)

    def __hash__(self) -> int:
        return hash("NormalisingTokenizer")

    def __call__(self, value, **kwargs):  # noqa: ANN001, ANN204 (Whoosh's signature)
        return self.inner(normalise(value), **kwargs)


def make_analyzer() -> CompositeAnalyzer:
    """What Whoosh indexes: normalised words, lower case, index stop words out, stemmed."""
    return NormalisingTokenizer() | LowercaseFilter() | StopFilter() | StemFilter(lang="en")


_ANALYZER = make_analyzer()


@lru_cache(maxsize=20000)
def stem(word: str) -> str:
    """The stem of one normalised word, as the Whoosh index holds it ('' for a stop word)."""
    tokens = [token.text for token in _ANALYZER(word)]
    return tokens[0] if tokens else ""


def stems(text: str) -> list[str]:
    """The stems of a text, in order (stop words left out)."""
    return [token.text for token in _ANALYZER(text)]


def content_words(text: str) -> list[str]:
    """The normalised words of a query that can decide a match (no stop words)."""
    return [w for w in re.findall(r"\w+", normalise(text).lower()) if w not in STOP_WORDS]
