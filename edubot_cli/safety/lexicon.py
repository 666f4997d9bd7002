"""Swear words, slurs and sexual words, one word at a time: the word list that ``better-profanity`` ships (with
its leetspeak spellings), sorted into kinds for a school.

better-profanity's list was made for a general chat filter. Taken whole it would block a biology or history
lesson (``sex``, ``penis``, ``kill``, ``nazi``, ``breasts``, ``murder``), so the words a school teaches are left out
(``SCHOOL_WORDS``), and the rest is sorted by what it is: a slur or a strong swear word (``harassment``,
``medium``: refused), a sexual word (``sexual``, ``medium``: refused), or a mild word (``harassment``, ``low``:
answered, the flag recorded for the teacher). Only the list's file is read, not the library's filter: its
per-word variant search costs about 2 ms a message, a set lookup a few microseconds.

A word is looked up as folded (``normalise.fold``), then with its doubled letters made single (``fuuck``), then
by its start (``fucking``, ``shitty``); a starred word (``f*ck``) is matched against the list as a pattern.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import MissingDependencyError
from .normalise import fold
from .verdict import HARASSMENT, LOW, MEDIUM, SEXUAL

STRONG = "strong"
SLUR = "slur"
SEX = "sexual"
MILD = "mild"

KINDS = {
    STRONG: (HARASSMENT, MEDIUM),
    SLUR: (HARASSMENT, MEDIUM),
    SEX: (SEXUAL, MEDIUM),
    MILD: (HARASSMENT, LOW),
}
"""Each kind of word as (category, severity)."""

_SCHOOL_WORDS_TEXT = """
    anal anus areole arian aryan breasts clitoris crotch drunk ejaculate ejaculated ejaculates ejaculating
    ejaculation erect erection fat foreskin gay gays god hemp heroin herpes hitler hiv hookah hymen kill
    labia lesbians loin loins lust masochist menses menstruate menstruation meth murder naked napalm nazi nazism
    nipple nipples opiate opium oral orally organ ovary ovum ovums pawn pee penetrate penetration penial penile
    penis pms pot pubic pubis queer queers rape raped rapist rectal rectum rectus reich rum sadism sadist
    sandbar scrotum seaman seamen semen sex sexual slave sniper sperm strip stroke suck sucked sucking tampon
    teste testes testical testicle testis thrust tinkle urinal urine uterus uzi vagina valium viagra virgin
    vodka vomit vulva weed womb willy willies woody wang dong paddy homey massa maxi len prude racy revue
    slope snatch souse soused stoned toke tramp trashy vixen wad nad nads hooch hootch reefer ganja extacy
    extasy junkie junky scag skag schizo leper moron dummy doofus dopey ninny nimrod weirdo jerk jerked
    inbred incest molest ugly stupid sissy pasty pastie nappy hump humped humping fondle seduce
    flange muff knob nob quicky foobar omg lmao lmfao mams pimp pinko pecker punky tush rump
    enlargement gonad gonads glans pube cipa dink dinks kinky lusty lusting steamy scrud teez toots
    wedgie weenie weewee whiz unwed bimbo bimbos floozy hussy wench hoar hoare hoer hore hoor
    hell bloody fart poop scum dick prick screw screwed screwing cock cocks tit hooker fingering homo h0m0
    hom0 h0mo homoey negro guido dyke dykes klan kkk kondum kondums lube poontang drunk urine niggle testee
    teat teets pcp peyote snuff sob thug vulgar sodom potty prig facial leitch shi weiner yury frigg
    transsexual phalli phallic fisted cowgirl cowgirls heii
    """
SCHOOL_WORDS = frozenset(_SCHOOL_WORDS_TEXT.split()) | {"cow girl", "cow girls"}
"""Words of the list that a lesson, a history book or a playground uses without harm (some of them are insults
only when aimed at someone, which the phrase rules see)."""

_SLURS_TEXT = """
    chink coon fag fagg fagged fagging faggit faggitt faggot faggs fagot fagots fags faig faigt
    gook gooks kike kikes kyke injun kraut paki polack pollock spic spick spik spiks wetback wop wigger
    nigg nigg3r nigg4h nigga niggah niggas niggaz nigger niggers niglet n1g n1gg n1gga n1gger
    retard retarded reetard ritard rtard r-tard tard spac honky whitey moolie heeb hebe shemale
    heshe gringo jap japs pillowbiter fudgepacker lezzie lezzies lezzy lezbo lezbos lesbo lesbos lez lezbian
    lezbians nig
    """
SLURS = frozenset(_SLURS_TEXT.split()) | {"carpet muncher", "she male"}

_SEXUAL_PARTS = (
    "porn",
    "pron",
    "p0rn",
    "blowjob",
    "blow job",
    "handjob",
    "hand job",
    "footjob",
    "foot job",
    "master bate",
    "autoerotic",
    "auto erotic",
    "beastial",
    "bestial",
    "shag",
    "pedo",
    "paedo",
    "gspot",
    "g spot",
    "raping",
    "raper",
    "dildo",
    "orgasm",
    "orgasim",
    "orgy",
    "orgies",
    "threesome",
    "three some",
    "hentai",
    "milf",
    "xxx",
    "x-rated",
    "boner",
    "horny",
    "horniest",
    "nude",
    "masturbat",
    "masterbat",
    "masterb8",
    "master-bate",
    "ma5terb",
    "m45terbate",
    "rimjob",
    "rimming",
    "fellat",
    "cunnil",
    "cunill",
    "kunilingus",
    "gangbang",
    "gang bang",
    "gang-bang",
    "bdsm",
    "bondage",
    "hooker",
    "prostitute",
    "stripclub",
    "strip club",
    "erotic",
    "erotism",
    "sex",
    "boob",
    "booob",
    "tit",
    "t1t",
    "jizz",
    "jism",
    "jiz",
    "cum",
    "kum",
    "spooge",
    "dogging",
    "doggy",
    "doggie",
    "playboy",
    "smut",
    "deepthroat",
    "deep throat",
    "fingering",
    "fisting",
    "camgirl",
    "nympho",
    "voyeur",
    "bukkake",
    "bukake",
    "gokkun",
    "shota",
    "yaoi",
    "futanar",
    "femdom",
    "kinbaku",
    "shibari",
    "teabagging",
    "hardon",
    "stiffy",
    "schlong",
    "busty",
    "panties",
    "pantie",
    "panty",
    "undies",
    "phonesex",
    "hotsex",
    "gaysex",
    "hardcoresex",
    "booty call",
    "golden shower",
    "goldenshower",
    "brown shower",
    "felch",
    "feltch",
    "queaf",
    "queef",
    "smegma",
    "labia",
    "clit",
    "vag",
    "pussy",
    "pussi",
    "pussies",
    "pusse",
    "puss",
    "jack off",
    "jack-off",
    "jackoff",
    "jerk off",
    "jerk-off",
    "jerkoff",
    "j3rk0ff",
    "jerk0ff",
    "nooky",
    "poon",
    "quim",
    "muffdiver",
    "scantily",
    "raunch",
    "lech",
    "perversion",
)
"""Starts of sexual words (``porn`` covers ``porno`` and ``pornography``)."""

_STRONG_INSIDE = ("fuck", "fcuk", "fvck", "fxck", "phuck", "shit", "bitch", "biatch")
"""Swear words found anywhere in a word (``motherfucker``, ``bullshit``); not ``fuk``, which is in Fukushima."""

_STRONG_START = (
    "wank",
    "fuk",
    "phuk",
    "phuq",
    "cunt",
    "cnut",
    "twat",
    "tw4t",
    "twunt",
    "cock",
    "kock",
    "cawk",
    "kawk",
    "dick",
    "dlck",
    "prick",
    "bastard",
    "asshole",
    "arsehole",
    "asswhole",
    "assfuck",
    "dumbass",
    "dumass",
    "jackass",
    "fatass",
    "punkass",
    "bellend",
    "knobhead",
    "knobend",
    "knobead",
    "knobjo",
    "nobhead",
    "nobjo",
    "douche",
    "douch3",
    "duche",
    "doosh",
    "wanker",
    "tosser",
    "stfu",
    "gtfo",
    "wtf",
    "foad",
    "gfy",
    "mofo",
    "mof0",
    "m0fo",
    "m0f0",
    "mo-fo",
    "mothafuck",
    "mutha",
    "muther",
    "sonofabitch",
    "son-of-a-bitch",
    "son of a bitch",
    "s.o.b",
    "sumofabiatch",
    "scrote",
    "scroat",
    "skank",
    "feck",
    "fack",
    "fook",
    "fux",
    "bullshit",
    "slut",
    "whore",
    "wh0re",
    "bull shit",
    "shite",
    "piss-off",
    "pissoff",
    "piss off",
    "numbnuts",
    "nutsack",
    "ballsack",
    "dickhead",
)
"""Starts of strong swear words and strong insults."""

_MILD = "crap crappy damn damnit dammit goddamn goddam godamn godamnit arse ass piss pissed turd"
MILD_WORDS = frozenset(_MILD.split())
"""Mild words, whatever else the rules say of them (``hell`` is in Dante and ``bloody`` in Mary Tudor's name:
those are school words)."""

_EXTRA_SEXUAL = "sexy sexting sext sexted noods noodz nudez onlyfans pornhub xvideos xhamster"
_EXTRA_STRONG = "fukin fuking fukn fkin fking fkn fk fck fcking fckin fckn fuq fuqin fml wtaf"
EXTRA_WORDS = {
    **dict.fromkeys(_EXTRA_SEXUAL.split(), "sexual"),
    **dict.fromkeys(_EXTRA_STRONG.split(), "strong"),
}
"""Words children type that the list does not have."""

_BIRDS = "blue great coal crested marsh willow bearded penduline tailed"
BIRDS = frozenset(_BIRDS.split())
"""``blue tit``, ``great tits``: birds, not a sexual word."""


@dataclass(frozen=True, slots=True)
class Hit:
    """A word of the text (as folded) and its kind."""

    word: str
    kind: str


def _wordlist_path() -> Path | None:
    """The word list shipped in the better-profanity wheel, found without importing the package (its import
    builds its own filter)."""
    spec = importlib.util.find_spec("better_profanity")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "profanity_wordlist.txt"
    return path if path.is_file() else None


def _single(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1", word)


def kind_of(entry: str) -> str | None:
    """The kind of one word of the list (folded), or None for a school word."""
    if entry in SCHOOL_WORDS:
        return None
    if entry in MILD_WORDS:
        return MILD
    if entry in SLURS:
        return SLUR
    if any(entry.startswith(part) for part in _SEXUAL_PARTS) and not entry.startswith(("sexual", "tit")):
        return SEX
    if entry in ("tit", "tits", "titt", "titty", "titties", "tittie5", "t1t", "t1tties", "t1tt1e5", "titi"):
        return SEX
    if any(part in entry for part in _STRONG_INSIDE) or any(entry.startswith(p) for p in _STRONG_START):
        return STRONG
    return MILD


class Lexicon:
    """The word list sorted into kinds, ready for lookups (see the module docstring)."""

    def __init__(self, entries: list[str]) -> None:
        self.words: dict[str, str] = {}
        self.phrases: dict[str, str] = {}
        for raw in entries:
            folded = fold(raw)
            if not folded:
                continue
            if len(folded) < 3 or raw.lower() in SCHOOL_WORDS or folded in SCHOOL_WORDS:
                continue
            kind = kind_of(folded)
            if kind is None:
                continue
            (self.phrases if " " in folded else self.words)[folded] = kind
        for word in MILD_WORDS:
            self.words[word] = MILD
        self.words.update(EXTRA_WORDS)
        self.single = {_single(w): k for w, k in self.words.items() if len(_single(w)) >= 4}
        self._by_kind_order = (STRONG, SLUR, MILD)

    def word(self, token: str) -> str | None:
        """The kind of one folded word, or None."""
        found = self.words.get(token)
        if found is not None:
            return found
        if len(token) >= 4:
            found = self.single.get(_single(token))
            if found is not None:
                return found
        if any(part in token for part in _STRONG_INSIDE) or token.startswith(
            ("cunt", "twat", "motherf", "wank")
        ):
            return STRONG
        if token.startswith("porn"):
            return SEX
        return None

    def hits(self, folded: str) -> list[Hit]:
        """The listed words and phrases in ``folded`` text, in order."""
        tokens = folded.split()
        found: list[Hit] = []
        for i, token in enumerate(tokens):
            kind = self.word(token)
            if kind == SEX and token.startswith("tit") and i and tokens[i - 1] in BIRDS:
                kind = None
            if kind is not None:
                found.append(Hit(token, kind))
            if i + 1 < len(tokens):
                pair = f"{token} {tokens[i + 1]}"
                kind = self.phrases.get(pair)
                if kind is not None:
                    found.append(Hit(pair, kind))
        return found

    def starred(self, word: str) -> str | None:
        """The kind of a starred word (``f*ck``, ``sh**``): the strongest kind among the listed words it can
        stand for (sexual words aside: ``p***`` is too many things)."""
        letters = word.replace("#", "*")
        pattern = re.compile("".join("[a-z]" if c == "*" else re.escape(c) for c in letters))
        kinds = {kind for w, kind in self.words.items() if kind != SEX and pattern.fullmatch(w)}
        return next((k for k in self._by_kind_order if k in kinds), None)


@functools.cache
def lexicon() -> Lexicon:
    """The lexicon of the installed better-profanity word list (read once)."""
    path = _wordlist_path()
    if path is None:
        raise MissingDependencyError(
            "better-profanity is not installed (moderation reads its word list)",
            hint="run `make install` or `pip install -e .`",
        )
    return Lexicon([line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()])
