"""The phrase rules: what a child at risk, a threat, a sexual request, an insult or an attempt to switch off the
instructions looks like, written against the folded text (``normalise.fold``: lowercase, leetspeak read, text
speak expanded, so ``im gonna k1ll u`` reads ``i am going to kill you``).

Rules look for who does what to whom, not for single words: "kill" is in a history lesson, "kill myself" is not;
"bomb" is in a lesson on the Blitz, "how do I make a bomb" is not. Each rule has a name (the flag's ``rule``), a
category, a severity, the action the chat takes, and optionally an ``unless`` pattern that clears it ("I cut
myself on a piece of paper", "I'm dying to know").

Rules that ``support`` are the ones where the child may be at risk: self-harm, and a child telling of being hurt
(``violence.disclosure``, ``sexual.disclosure``): those children get the supportive reply, not a refusal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .verdict import (
    ANSWER,
    HARASSMENT,
    HIGH,
    INJECTION,
    LOW,
    MEDIUM,
    REFUSE,
    SELF_HARM,
    SEXUAL,
    SUPPORT,
    VIOLENCE,
)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    category: str
    severity: str
    action: str
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None = None

    def fires(self, folded: str) -> bool:
        if not self.pattern.search(folded):
            return False
        return self.unless is None or not self.unless.search(folded)


def _p(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


# -- shared pieces (of folded text) ------------------------------------------------------------------------------

ME = r"(?:myself|my self|me self|meself)"
KILL = r"(?:ki+l+|ki+lled|ki+l+ing|murder|murdering)"
SELF_ACTS = r"(?:ki+l+|ki+l+ing|end|ending|hurt|hurting|harm|harming|cut|cutting|burn|burning|hang|hanging|starve|starving|stab|stabbing|drown|drowning|poison|poisoning|unalive|unaliving|suffocate|strangle|choke)"
WILL = (
    r"(?:am going to|going to|will|want to|wanted to|would like to|am about to|about to|plan to|am planning to|"
    r"planning to|need to|have to|could|might|should|shall|feel like|am thinking about|thinking about|think about|"
    r"will just|should just|just want to|am gonna|really want to|am ready to|ready to|wish i could|gotta|am tempted to)"
)
PEOPLE = (
    r"(?:you|him|her|them|everyone|everybody|someone|somebody|people|anyone|us|"
    r"(?:my|his|her|your|our|the|that|this)\s+(?:\w+\s+)?(?:teacher|sister|brother|mum|mom|mother|dad|father|stepdad|"
    r"friend|friends|class|classmates?|neighbour|neighbor|nan|gran|grandma|grandad|cousin|family|boss|bully|"
    r"headteacher|principal|boyfriend|girlfriend|kids?|boy|girl|whole class|school|teachers))"
)
HURT_VERBS = r"(?:stab|shoot|murder|strangle|choke|poison|attack|punch|beat|bash|batter|slap|kick|hurt|smash|knife|ki+l+)"
HYPERBOLE = (
    r"\b(?:die|died|dying) (?:of|from|with) (?:boredom|embarrassment|shame|laughter|laughing|cringe|cuteness|hunger|thirst)|"
    r"\bdying to\b|\b(?:die|died|dying) laughing\b|\bi could die\b|\bkilling me\b|\bkill it\b|\bkill time\b|"
    r"\bcould (?:murder|kill) (?:a|for a|for an|some)\b|\bkill for (?:a|an|some)\b|\bdead tired\b|"
    r"\bdie for (?:a|an|some|the)\b|\b(?:test|homework|exam|maths|math|spelling|this|it|that|lesson|quiz|question) "
    r"(?:is|are) (?:going to|gonna) kill me\b|\b(?:is|are) (?:going to|gonna) kill me (?:if|when|lol|haha|lmao|because)\b"
)
ACCIDENT = (
    r"\b(?:by accident|accidentally|accidently|on (?:a|the|some) (?:paper|knife|glass|nail|oven|stove|pan|fence)|"
    r"with (?:a|the) (?:knife|scissors|paper|saw)|while (?:cooking|cutting|baking|playing)|playing|in pe\b|fell|"
    r"what do i do|first aid|how do i treat|plaster|bandage)"
)

RULES: tuple[Rule, ...] = (
    # -- self-harm: the child's own life or body ----------------------------------------------------------------
    Rule(
        "self_harm.act",
        SELF_HARM,
        HIGH,
        SUPPORT,
        _p(rf"\b{SELF_ACTS}(?:ed|s)?\s+{ME}\b", r"\bkms\b", r"\bunaliv\w*", r"\bsewer\s*slide\b"),
        unless=re.compile(ACCIDENT),
    ),
    Rule(
        "self_harm.method",
        SELF_HARM,
        HIGH,
        SUPPORT,
        _p(
            r"\b(?:easiest|painless|best|quickest|fastest|simplest|least painful|most painless|good|quick)\s+"
            r"(?:way|ways|method|methods)\s+to\s+(?:die|ki+l+\s+(?:yourself|your self|myself|my self)|commit suicide|end (?:it|my life|your life))",
            r"\bhow\s+(?:do|can|to|should|would|could)\s+(?:i|you|one|someone)?\s*(?:ki+l+|hang|hurt|cut|poison|drown|starve|harm)\s+(?:yourself|your self|myself|my self|themselves)",
            r"\bhow\s+(?:many|much)\s+(?:\w+\s+){0,3}(?:pills|tablets|paracetamol|painkillers|ibuprofen|aspirin|medicine)\b.*\b(?:die|dead|overdose|od|kill|lethal)\b",
            r"\bhow\s+(?:to|do i|can i|do you)\s+(?:commit suicide|overdose|od\b)",
            r"\b(?:took|take|taking|swallowed|swallow)\s+(?:a lot of|lots of|loads of|all|all of|too many|a bunch of|a whole)\s+(?:\w+\s+){0,2}(?:pills|tablets|paracetamol|painkillers|medicine)",
            r"\b(?:have|got|bought)\s+a\s+(?:rope|noose)\b",
        ),
    ),
    Rule(
        "self_harm.intent",
        SELF_HARM,
        HIGH,
        SUPPORT,
        _p(
            rf"\b(?:i|i am|me)\b.{{0,30}}\b{WILL}\s+(?:just\s+)?(?:die|d+i+e+|be dead|end it all|end my life|end it|not wake up|not be here|not be alive|not exist|disappear forever)\b",
            r"\b(?:do not|no longer|never)\s+want\s+to\s+(?:live|be alive|be here|exist|wake up|be on this earth)\b",
            r"\bi\s+(?:want|wish)\s+(?:to\s+)?(?:die|d+i+e+|be dead)\b",
            r"\b(?:would|had)\s+rather\s+be\s+dead\b",
            r"\bwish\s+i\s+(?:was|were|had)\s+(?:dead|never (?:been )?born|not alive|gone|not here)\b",
            r"\bwish\s+i\s+could\s+(?:disappear|die|vanish|just disappear|not exist)",
            r"\bend(?:ing)?\s+(?:it all|my life|my own life|everything)\b",
            r"\bwant\s+my\s+life\s+to\s+(?:be over|end|stop)\b",
            r"\bthinking\s+(?:about|of)\s+(?:ending|killing|suicide|dying|taking my)",
            r"\bsuicid\w*\b.*\b(?:i|me|my|myself)\b|\b(?:i|me|my|myself)\b.*\bsuicid\w*",
            r"\bsuicid\w*\s+(?:note|letter|plan|thoughts?)|\bcommit\s+suicide\b",
            r"\b(?:jump|jumping|throw myself)\s+(?:off|from)\s+(?:a|the|my|our)?\s*(?:\w+\s+)?(?:bridge|roof|building|cliff|balcony|window|tower|car park)",
            r"\b(?:step|jump|walk|lie|throw myself)\w*\s+in\s+front\s+of\s+(?:a|the)\s+(?:train|car|bus|lorry|truck)",
            r"\bstarv\w*\s+(?:myself|to death)|\bnot eating\s+so\s+(?:that\s+)?i\s+(?:can|will|would)\s+die",
        ),
        unless=re.compile(HYPERBOLE),
    ),
    Rule(
        "self_harm.despair",
        SELF_HARM,
        HIGH,
        SUPPORT,
        _p(
            r"\b(?:nobody|no one|noone)\s+would\s+(?:miss|care about|notice|care if)\s+(?:me|i)\b",
            r"\bbetter\s+off\s+without\s+me\b",
            r"\b(?:no|any|the)\s+(?:point|reason)\s+(?:in|of|to|for)\s+(?:living|live|life|being alive|going on|me being here)",
            r"\b(?:life|living)\s+(?:is not|isnt|aint|is no longer|not)\s+worth\s+(?:living|it)\b",
            r"\bi\s+(?:can not|cannot)\s+go\s+on\b",
            r"\b(?:goodbye|good bye|suicide)\s+(?:letter|note|message)\b",
            r"\bself\s*harm\w*|\bself\s*injur\w*",
            r"\b(?:been|keep|started|start|stop)\s+(?:cutting|burning|hurting|harming|scratching)\b",
            r"\bcut(?:ting)?\s+(?:my|me)\s+(?:arms?|wrists?|legs?|thighs?|skin|stomach)\b",
            r"\b(?:friend|sister|brother|cousin|mum|mom|dad|he|she|they|someone|somebody)\b.{0,40}\b(?:wants?|going|tried|trying|talks? about|talking about|said|says|threatened|thinking about|planning)\s+(?:to\s+)?(?:ki+l+|hurt|cut|harm|hang|end)\w*\s+(?:herself|himself|themselves|themself|her life|his life|their life)",
        ),
        unless=re.compile(r"\bstop\s+(?:cutting|burning)\s+(?:the|a|my hair|paper)"),
    ),
    Rule(
        "self_harm.general",
        SELF_HARM,
        HIGH,
        SUPPORT,
        _p(
            r"^(?=.*\b(?:i|me|my|myself)\b).*\b(?:to|just|like|about|of|should|could|will|would|and|then|rather|wish|might|gonna|even|simply)\s+(?:\w+\s+)?(?:die|d+i+e+|dying)\b(?!\s+(?:out|for)\b)",
            r"\b(?:point|reason|tired|sick)\s+(?:of|in|for)\s+(?:me\s+)?(?:even\s+)?(?:being alive|being here|living|existing|life|trying|going on)\b",
            r"\b(?:be|being|am|was)\s+(?:better\s+off\s+)?dead\b",
            r"\b(?:stop|quit)\s+(?:living|existing|breathing)\b|\bnever\s+wake\s+up\b|\bnot\s+wake\s+up\b",
            r"\b(?:do not|dont|never)\s+(?:want|wish)\s+to\s+(?:be here|wake up|exist|live|be alive|be born)\b",
            r"\bi\s+(?:am|feel like)\s+(?:a|such a|just a|only a|nothing but a)\s+burden\b|\bburden\s+(?:to|on)\s+(?:everyone|everybody|my family|my parents|them|my mum|my dad)\b",
            r"\b(?:cut|cutting|scratch|scratching|burn|burning|hit|hitting|punch|punching|bang|banging|hurt|hurting|harm|harming|stab|stabbing)\s+(?:my|me)\s*(?:arms?|wrists?|legs?|thighs?|skin|stomach|head|self|body)\b",
            r"\b(?:until|till|so that|so)\s+(?:they|it|i)\s+(?:bleeds?|bleed|bruises?|scars?)\b",
            r"\bi\s+(?:want|need|have)\s+to\s+(?:cut|bleed|burn myself|hurt myself)\b(?!\s+(?:the|a|some|my hair|out|down|up|paper|it|this|that|them|back))",
            r"\b(?:pills|tablets|painkillers|paracetamol|meds|medicine)\b.{0,30}\b(?:saved|saving|stash\w*|hoard\w*|ready|take them all|all of them|to take|overdose)\b",
            r"\b(?:jump|jumping|fall|falling|hang|hanging|drown|drowning)\w*\b.{0,40}\bto\s+die\b|\bto\s+die\b.{0,30}\b(?:jump|hanging|hang|pills|drown|overdose|bleed)\w*",
            r"\bpainful\s+to\s+die\b|\bdie\s+by\s+(?:hanging|drowning|overdose|pills|jumping|suicide)\b|\bwhat\s+height\b.*\b(?:die|dead|kill)",
            r"\bwould\s+kill\s+me\b.*\b(?:pills|tablets|paracetamol|take|swallow)|\b(?:pills|tablets|paracetamol)\b.*\bwould\s+kill\s+me\b",
            r"\bgive\s+up\s+on\s+(?:life|living|everything|myself)\b|\bgoodbye\s+forever\b|\bno\s+way\s+out\b",
        ),
        unless=re.compile(
            HYPERBOLE
            + r"|\b(?:my|our|his|her|their|the|a)\s+\w+\s+(?:to|will|would|might|is going to)\s+die\b|\bdy(?:e|ing)\s+my\s+hair\b"
            + r"|\bwhen\s+(?:i|we)\s+(?:cut|scratch|hit|bang|burn)\b|\bif\s+(?:i|you|someone)\s+(?:cut|scratch|hit|bang|burn)\b"
            + r"|\bdead\s+(?:tired|bored|sure|easy|good|funny|serious)\b|\bdie\s+hard\b"
        ),
    ),
    Rule(
        "self_harm.risk",
        SELF_HARM,
        HIGH,
        SUPPORT,
        _p(
            r"^(?=.*\b(?:i|me|my|myself)\b).*\b(?:i|me)\s+(?:\w+\s+){0,2}?(?:die|died|dying|dead)\b",
            r"^(?=.*\b(?:i|me|my|myself)\b).*\b(?:deserve|reason|want|wanna|right)\s+to\s+(?:live|be alive|exist|be here)\b",
            r"\b(?:do not|dont|never|no longer)\s+(?:\w+\s+)?(?:want|wish|deserve)\s+to\s+(?:be alive|live|exist|be here|wake up|be born|be on this earth)\b",
            r"\bif\s+i\s+(?:was|were|wasnt|werent|was not|were not)\s+(?:not\s+)?(?:around|here|alive|gone|dead|born)\b|\b(?:happier|better|easier)\s+(?:off\s+)?without\s+me\b",
            r"\b(?:go|going|be)\s+(?:to|in)\s+heaven\b.*\b(?:i|me|my)\b|\b(?:i|me|my)\b.*\b(?:go|going|be)\s+(?:to|in)\s+heaven\b",
            r"\b(?:stop|end)\s+(?:forever|for good|for ever)\b|\bwant\s+(?:it|this|everything|all of this|it all)\s+to\s+(?:stop|end|be over)\b|\bsleep\s+forever\b",
            r"\bhope\s+i\s+(?:do not|dont|never|wont|will not)\s+(?:wake|start|breathe|come back)",
            r"\bslit\w*\s+(?:\w+\s+)?wrists?\b|\bwrists?\b.*\b(?:cut|slit|bleed|blade|razor)\w*|\b(?:cut|slit|blade|razor)\w*\b.*\bwrists?\b",
            r"\bcut\s+(?:deep|deeper|deeply)\b|\b(?:where|how)\s+i\s+cut\s+(?:them|it|myself)\b|\bcutting\s+again\b",
            r"\bhow\s+many\s+(?:\w+\s+)?(?:pills|tablets|painkillers)\b.*\b(?:too many|kill|die|dead|lethal|overdose)\b",
            r"\b(?:i|me|my)\b.*\b(?:worthless|hopeless|a burden|empty inside|so done with (?:everything|life)|done with life|cant take (?:it|this) anymore|can not take (?:it|this) anymore)\b",
            r"\bwould\s+(?:anyone|anybody|people|they|my \w+)\s+(?:care|miss me|notice)\b",
            r"\b(?:take|taking|took|end)\s+my\s+(?:own\s+)?life\b",
            r"\b(?:choke|strangle|suffocate|hang|drown)\w*\s+myself\b",
            r"\bto\s+not\s+(?:be here|be around|exist|be alive|wake up|live)\b",
            r"\b(?:i|my)\b.*\b(?:blade|blades|razor|razors)\b|\b(?:blade|blades|razor|razors)\b.*\b(?:i|me|my)\b",
            r"\b(?:take|taking|took|swallow\w*)\s+\d{2,}\s+(?:\w+\s+)?(?:paracetamol|pills|tablets|ibuprofen|painkillers|aspirin)",
            r"\bbleed\s+(?:out|to death)\b",
            r"\bwhy\s+(?:i am|am i|im)\s+(?:even\s+|still\s+)?(?:alive|here|born)\b",
        ),
        unless=re.compile(
            HYPERBOLE
            + r"|\b(?:my|our)\s+(?:\w+\s+)?(?:dog|cat|hamster|pet|fish|rabbit|guinea pig|bird|grandad|granddad|grandma|nan|nana|grandpa|gran|granny|uncle|aunt|auntie|cousin|neighbour|tortoise|goldfish|plant|plants)\s+(?:\w+\s+)?(?:died|has died|passed|is dying|was dying|dies)\b"
            + r"|\bi\s+am\s+dying\b.{0,30}\b(?:funny|lol|lmao|haha|laugh\w*|joke|hilarious)|\bi\s+am\s+dead\s+(?:lol|lmao|haha)|\b(?:lol|lmao|haha)\s+i\s+am\s+dead\b"
            + r"|\bwhen\s+(?:you|we|people|someone|animals|humans|things)\s+die\b|\b(?:learn|know|read|study|curious)\s+about\s+(?:death|dying)\b|\bdy(?:e|ing)\s+my\s+hair\b"
            + r"|\bdead\s+(?:tired|bored|sure|easy|good|funny|serious)\b|\bi\s+am\s+dead\s+tired\b"
        ),
    ),
    Rule(
        "self_harm.mention",
        SELF_HARM,
        MEDIUM,
        SUPPORT,
        _p(
            r"\bsuicid\w*",
            r"\boverdos\w*",
            r"\bhate\s+(?:my life|myself|my self|being alive)\b",
            r"\bwant\s+to\s+disappear\b",
            r"\bno\s+one\s+(?:loves|cares about)\s+me\b|\bnobody\s+(?:loves|cares about)\s+me\b",
        ),
    ),
    # -- violence: threats to others, weapons, and a child who is being hurt -----------------------------------
    Rule(
        "violence.threat",
        VIOLENCE,
        HIGH,
        REFUSE,
        _p(
            rf"(?:^|\b(?:i|we|i am|we are)\s+)(?:really\s+|actually\s+|seriously\s+)?{WILL}\s+(?:\w+\s+)?(?:ki+l+|murder|stab|shoot|strangle|choke|poison|attack|knife)\s+(?!(?:myself|my self|me|yourself|your self|themselves|himself|herself|itself|it|time|the ball|a ball|the hoop|a hoop|hoops|the boss|zombies|germs|bacteria|weeds|a photo|a video|a film|a picture|photos|videos|the lights|a goal|goals|the game|a basket|baskets|for)\b)\w+",
            rf"(?:^|\b(?:i|we|i am|we are)\s+)(?:really\s+|actually\s+)?{WILL}\s+(?:\w+\s+)?(?:punch|beat|bash|batter|slap|kick|hurt|smash|break|strangle|choke|jump|fight|get)\s+{PEOPLE}\b",
            rf"(?:^|\b(?:i|we|i am|we are)\s+)(?:\w+\s+)?{WILL}\s+(?:\w+\s+)?(?:beat|bash|batter|smash|kick)\s+\w+\s+(?:up|in)\b",
            r"\b(?:beat|kick|knock)\s+the\s+(?:crap|hell|shit|living daylights|life)\s+out\s+of\b",
            r"\b(?:break|smash|bash|punch|kick|slap)\s+(?:your|his|her|their|\w+s)\s+(?:face|head|legs?|arms?|nose|teeth|jaw|neck|skull)\b",
            rf"\b(?:i|we)\s+(?:am\s+|are\s+)?{WILL}\b.{{0,40}}\b(?:stab|shoot|ki+l+|murder|strangle|poison|punch|hurt|attack|beat up|slap|kick)\s+(?:him|her|them|you|everyone|everybody|someone|somebody|people)\b",
            rf"(?:^|\b(?:i|we|i am|we are)\s+)(?:\w+\s+)?{WILL}\s+(?:punch|slap|kick|hit|smack|headbutt|beat)\s+(?!(?:a|the|my|this|that|it|time|record|records|score|level|game|ball|bag|drum|drums|wall|pillow|clock|test|exam|homework|odds|heat|traffic|queue|deadline)\b)[a-z]+\s+(?:in the|so hard|up|after school|at break|at lunch|tomorrow|today|tonight|on monday|in his|in her)\b",
            r"\b(?:shoot|shot|blow|bomb|burn|attack)\s+up\s+(?:the|my|our|this)?\s*(?:school|class|classroom)",
            r"\b(?:blow|blowing)\s+up\s+(?:the|my|our|this)\s+(?:school|class|classroom|house|teacher)",
            r"\b(?:set|setting)\s+(?:the|my|our|his|her|their)\s+(?:school|house|classroom|car)\s+on\s+fire\b",
            r"\bburn\s+(?:his|her|their|the|your)\s+(?:house|school|home)\s+down\b",
            r"\b(?:bring|bringing|take|taking|brought|carry|carrying|hide|hiding)\s+(?:\w+\s+){0,2}(?:gun|knife|knives|weapon|bomb|machete|blade)\b.{0,20}\b(?:school|class)",
            r"\b(?:get|getting|got|grab|find)\s+(?:a|my|dads|the)\s+(?:gun|knife|weapon)\s+(?:and|to)\s+(?:stab|shoot|kill|hurt|attack)\b",
            r"\b(?:bring|bringing|take|taking|brought|carry|carrying)\s+(?:\w+\s+){0,2}(?:gun|knife|knives|weapon|bomb|machete|blade)\s+(?:on|to|into|in)\s+(?:the\s+)?(?:trip|party|park|match|club|bus|disco|assembly|playground)",
            r"\b(?:throw|chuck|lob|hurl)\w*\s+(?:a|an|this|my|the)\s+(?:\w+\s+)?(?:brick|rock|stone|bottle|knife|chair|hammer)\s+at\s+(?:him|her|them|you|his|her|their|\w+)\b",
            r"\bpush\s+(?:him|her|them|you|\w+)\s+(?:down|off|in front of|into)\s+(?:the\s+|a\s+)?(?:stairs|cliff|roof|road|traffic|river|canal|bridge|lake|pool)",
            r"\bwatch\s+your\s+back\b",
            r"\b(?:knock|knocking)\s+(?:you|him|her|them|\w+)\s+out\b(?=.*\b(?:i|we)\b)|\bi\s+(?:will|am going to)\s+knock\s+(?:you|him|her|them|\w+)\s+out\b",
            rf"\b(?:i|we)\s+(?:am\s+|are\s+)?{WILL}\s+(?:\w+\s+)?(?:hurt|stab|shoot|ki+l+|murder|poison|attack|punch|slap|kick|beat|batter|bash|strangle|choke)\s+(?!(?:myself|my self|me|yourself|your self|themselves|himself|herself|itself|it|time|a|an|the|this|that|my (?:leg|arm|back|knee|ankle|foot|hand|head|wrist|record|score|time|best)|record|records|score|level|game|homework|test|exam)\b)[a-z]+\b",
            r"\bset\s+fire\s+to\s+(?:his|her|their|the|my|your|our)\s+(?:house|school|home|car|classroom|flat|shed)\b",
            r"\b(?:plan|planning|help me|how to|how do i|how can i)\b.{0,30}\b(?:beat up|batter|attack|stab|jump|get revenge on|hurt)\s+(?:my|him|her|them|someone|somebody|the|this|that|\w+)\b(?!\s+(?:at|in)\s+(?:chess|a race|the race|a game|football))",
            r"\bi\s+know\s+where\s+you\s+live\b",
            r"\b(?:coming|come)\s+for\s+you\b",
            r"\byour\s+days\s+are\s+numbered\b",
            r"\bi\s+(?:will|am going to)\s+find\s+you\b",
            r"\bwant\s+to\s+(?:hurt|ki+l+|stab|shoot)\s+(?:someone|somebody|people|everyone|everybody)\b",
            r"\bput\s+(?:\w+\s+)?in\s+(?:someones|someone s|someone|his|her|their|my \w+s?|the teachers?)\s+(?:drink|food|lunch|tea|coffee|water)\b",
        ),
        unless=re.compile(
            r"\b(?:kill it|in (?:minecraft|fortnite|roblox|the game|fifa|the video game))\b|\bat\s+(?:chess|football|fifa|mario kart|monopoly|the game|a game|cards|tennis|running|a race|the race|sports day)\b|"
            + HYPERBOLE
        ),
    ),
    Rule(
        "violence.how_to_harm",
        VIOLENCE,
        HIGH,
        REFUSE,
        _p(
            r"\bhow\s+(?:to|do i|can i|would i|could i|do you|should i)\s+(?:ki+l+|murder|poison|hurt|stab|strangle|choke|drown|shoot)\s+(?:someone|somebody|a person|people|a human|my|him|her|them|a kid|a child)\b",
            r"\bpoison\w*\b.*\b(?:someone|somebody|drink|food|lunch)\b.*\b(?:put|give|slip)\b|\b(?:put|give|slip)\b.*\bpoison\w*\b.*\b(?:drink|food|lunch)",
            r"\bhow\s+(?:much|many)\s+(?:\w+\s+)?(?:poison|bleach|pills|arsenic|cyanide)\b.*\b(?:kill|die)\b.*\b(?:person|someone|somebody|him|her|them|human|man|woman|kid|child|people)\b",
            r"\b(?:best|easiest|quickest|good|simplest|worst)\s+(?:way|ways|place|places)\s+to\s+(?:hurt|ki+l+|poison|stab|beat up|attack|punch|strangle|choke)\s+(?:someone|somebody|a person|people|him|her|them|my|a kid|a child|you)",
            r"\bhow\s+(?:do|can|to|would|could|should)\s+(?:i|you|we)?\s*(?:ki+l+|poison|stab|strangle|choke|drown)\s+(?:my|your|a|the)\s+(?:teacher|sister|brother|mum|mom|dad|friend|classmate|neighbour|kid|child|person)\b",
        ),
    ),
    Rule(
        "violence.weapons",
        VIOLENCE,
        MEDIUM,
        REFUSE,
        _p(
            r"\bhow\s+(?:do|can|to|would|should|could)\s+(?:i|you|we|someone|one)?\s*(?:make|build|create|get|buy|craft|cook|assemble|3d print|print)\s+(?:\w+\s+){0,2}(?:bomb|bombs|explosive|explosives|molotov\w*|grenade|gun|guns|firearm|pistol|rifle|weapon|weapons|poison|napalm|ied|tnt|dynamite|silencer|knife|knives|shank|sword|crossbow|taser|pepper spray|brass knuckles|knuckle duster)\b",
            r"\b(?:tell|show|teach)\s+me\s+how\s+to\s+(?:make|build|get)\s+(?:\w+\s+){0,2}(?:bomb|explosive|gun|weapon|poison|grenade)\b",
            r"\b(?:make|build|making|building)\s+(?:a|an)\s+(?:pipe\s+)?(?:bomb|molotov\w*|grenade|explosive)\b",
            r"\b(?:where|how)\s+(?:can|do|could)\s+i\s+(?:buy|get|find)\s+(?:a\s+)?(?:gun|knife|weapon|pistol|rifle)\b",
            r"\bmolotov\s+cocktail",
        ),
    ),
    Rule(
        "violence.disclosure",
        VIOLENCE,
        HIGH,
        SUPPORT,
        _p(
            r"\b(?:my|our)\s+(?:\w+\s+){0,2}?(?:dad|father|daddy|mum|mom|mother|mummy|stepdad|step dad|stepmum|step mum|stepmom|uncle|aunt|auntie|brother|sister|cousin|grandad|granddad|grandpa|nan|gran|grandma|boyfriend|girlfriend|carer|coach|teacher|foster \w+|mums boyfriend|moms boyfriend|mums partner|parents?)\s+(?:\w+\s+){0,2}?(?:hits|hit|hurts|hurt|beats|beat|kicks|kicked|punches|punched|slaps|slapped|chokes|choked|burns|burned|strangled|abuses|abused|batters|whips|whipped|threatens|threatened)\s+me\b",
            r"\b(?:someone|somebody|people|they|he|she)\s+(?:at home\s+|at school\s+)?(?:keeps?\s+)?(?:hits|hurts|beats|kicks|punches|slaps|abuses)\s+me\b",
            r"\bsomeone\s+at\s+home\s+(?:\w+\s+)?(?:hits|hurts|hit|hurt|beats|beat)\s+me\b",
            r"\b(?:scared|afraid|frightened|terrified)\s+(?:to|of)\s+go(?:ing)?\s+home\b",
            r"\b(?:said|say|says|told me)\s+(?:they|he|she|that they|that he|that she)\s+(?:will|would|are going to|is going to|were going to|was going to|gonna)\s+(?:ki+l+|beat|stab|hurt|shoot|get|jump|batter)\s+me\b",
            r"\bthreaten\w*\s+(?:to\s+)?(?:ki+l+|stab|hurt|beat|shoot)\s+me\b",
            r"\bthreaten\w*\s+me\b",
            r"\b(?:going|gonna|want|wants|planning)\s+to\s+(?:jump|batter|beat up|stab|shoot|kill|hurt|get)\s+me\b",
            r"\b(?:scared|afraid|frightened|terrified|worried)\s+(?:that\s+)?(?:my|our|he|she|they)\s+(?:\w+\s+){0,2}(?:will|is going to|might|going to)\s+(?:hurt|hit|beat|kill)\s+me\b",
            r"\b(?:hit|hits|beat|beats)\s+me\s+(?:with a|when he|when she|every|all the time)",
        ),
        unless=re.compile(HYPERBOLE),
    ),
    # -- sexual content, and a child who is being groomed or abused ---------------------------------------------
    Rule(
        "sexual.disclosure",
        SEXUAL,
        HIGH,
        SUPPORT,
        _p(
            r"\b(?:asked|asks|asking|wants|wanted|told|tells|made|makes|making|forced|forces|pressur\w*|keeps asking|keep asking)\s+me\s+(?:to\s+)?(?:send|show|take)\s+(?:him|her|them)?\s*(?:\w+\s+)?(?:pics|pictures|photos|nudes|selfies|videos?|a pic|a picture|a photo|images)\b",
            r"\b(?:asked|told|wants|made|makes)\s+me\s+(?:to\s+)?keep\s+(?:it|this|that|our\s+\w+|us|everything|what we do|things)\s+(?:a\s+)?secret\b",
            r"\btouch(?:es|ed|ing)?\s+me\s+(?:down there|there|in (?:ways|places)|where|when|at night|in my|on my|inappropriately|and)",
            r"\btouch(?:es|ed|ing)?\s+my\s+(?:private|privates|bum|chest|body|down there)",
            r"\b(?:raped|molested|abused|groped|sexually assaulted)\s+me\b|\bi\s+(?:was|got|have been)\s+(?:raped|molested|abused|groped)",
            r"\bsent\s+me\s+(?:a\s+)?(?:naked|nude|dirty|rude|explicit|sexual)\s+(?:pic|pics|picture|pictures|photo|photos|video|image|selfie)",
            r"\b(?:share|post|send|leak|show)\s+my\s+(?:photos|pics|pictures|nudes|videos|images)\s+(?:to \w+\s+)?(?:if|unless)\b",
            r"\b(?:threaten\w*|going|gonna)\s+to\s+(?:post|share|send|leak|show)\s+(?:my|our)\s+(?:\w+\s+)?(?:pictures|pics|photos|nudes|videos|images)",
            r"\b(?:asked|asks|asking|wants|wanted|begging)\s+(?:me\s+)?for\s+(?:\w+\s+){0,2}(?:photos|pics|pictures|selfies|videos|nudes)\b",
            r"\b(?:in|of)\s+my\s+(?:underwear|pants|knickers|bra|boxers|bikini)\b",
            r"\b(?:take|took|taking)\s+(?:off\s+)?(?:my|your)\s+(?:clothes|top|shirt|pants|trousers|underwear)\s*(?:off)?\b.*\b(?:camera|video|call|pic|photo|picture|snap|webcam|asked|told|wants|wanted)\b|\b(?:asked|told|wants|wanted|made)\s+me\s+to\s+take\s+(?:off\s+)?(?:my|all my)\s+clothes",
            r"\b(?:grown up|grownup|adult|man|woman|teacher|coach|uncle|stranger|older (?:boy|girl|man|kid)|someone older|tutor|babysitter)\b.{0,60}\b(?:(?:our|a|the|special)\s+secret|special game|secret game|not to tell)\b",
            r"\btouch(?:es|ed|ing)?\s+me\b(?!\s+(?:on the shoulder|on my shoulder|with the ball|in tag))",
            r"\b(?:keep|keeping)\s+(?:it\s+|this\s+)?(?:a|our|the)\s+secret\b.*\b(?:touch\w*|photos?|pics?|pictures?|body|kiss\w*)|\b(?:touch\w*|photos?|pics?|pictures?|kiss\w*)\b.*\bkeep\s+(?:it\s+)?(?:a|our)\s+secret\b",
        ),
    ),
    Rule(
        "sexual.request",
        SEXUAL,
        MEDIUM,
        REFUSE,
        _p(
            r"\bsend\s+(?:me\s+)?(?:your\s+)?(?:nudes|noodz|nudez|noods|nude|naked|a pic of your|pics of your|a picture of your)",
            r"\b(?:have|having|had)\s+sex\s+with\b|\bwant\w*\s+(?:to\s+)?(?:have\s+)?sex\b|\blets\s+have\s+sex\b",
            r"\bsex\s+(?:story|stories|chat|video|videos|vids|pics|pictures|scene|talk|tape)\b",
            r"\bdescribe\s+(?:having\s+|the act of\s+)?sex\b|\bdescribe\s+(?:a\s+)?(?:naked|nude)\b",
            r"\b(?:talk|talking|speak)\s+dirty\b|\bdirty\s+(?:story|stories|talk|pics|pictures|photos|messages|things)\b",
            r"\bsexy\b",
            r"\bsext\w*",
            r"\bget(?:ting)?\s+laid\b",
            r"\bbra\s+size\b",
            r"\b(?:naked|nude)\s+(?:girls|boys|women|woman|men|man|pics?|pictures?|photos?|selfies?|people|body|bodies|ladies)\b",
            r"\b(?:see|show me|look at)\s+(?:\w+\s+)?(?:naked|nude)\b",
            r"\brate\s+my\s+(?:body|boobs|bum|ass|butt)\b",
            r"\bhow\s+big\s+is\s+your\s+(?:dick|penis|cock|willy)\b",
            r"\bsuck\s+my\s+(?:dick|cock|balls|d)\b",
            r"\bthreesome\b|\bnsfw\b|\b(?:positions?)\s+in\s+bed\b",
            r"\b(?:people|couples?|two people|adults|grown ups)\s+(?:\w+\s+)?in\s+bed\b|\b(?:rude|dirty)\s+(?:story|stories|joke|jokes|things|pics|pictures)\b",
            r"\b(?:show|see|pic|pics|photo|photos|picture|pictures|image|video)\b.*\b(?:with no|without|no)\s+(?:clothes|clothing|top|pants)\b",
            r"\b(?:steamy|spicy|dirty|explicit|x rated|raunchy|saucy|naughty)\s+(?:love\s+)?(?:scene|scenes|story|stories|chat|pics|pictures|fanfic|fan fiction|messages?|texts?|poem)\b",
            r"\b(?:see|show me|send me|look at|find me|give me)\s+(?:a\s+|some\s+)?(?:picture|pic|photo|image|video|drawing)s?\s+of\s+(?:a\s+|your\s+|my\s+|his\s+|her\s+|an?\s+)?(?:penis|vagina|dick|willy|boobs|breasts|naked|nude|bum|butt|privates|genitals)",
            r"^(?=.*\b(?:you|me|i|like|feel|feels|talk|stuff|things|want|good|fun|with|lets)\b).*\bsex\b(?!\s+(?:cells?|chromosomes?|organs?|hormones?|education|ed|determination|linked|characteristics|of|ratio|differences?)\b)",
            r"\b(?:pics|pictures|photos|selfies)\s+of\s+(?:ur|your|you)\s+(?:body|boobs|bum|butt|chest|naked)\b",
            r"\b(?:see|want to see|wanna see|look at)\s+my\s+(?:nudes|body|boobs|dick|willy)\b",
        ),
    ),
    # -- harassment: insults aimed at someone, and requests to write them --------------------------------------
    Rule(
        "harassment.insult",
        HARASSMENT,
        MEDIUM,
        REFUSE,
        _p(
            r"\b(?:you|your|you are|u)\s+(?:are\s+)?(?:so\s+|such\s+an?\s+|an?\s+|the\s+|a\s+total\s+|a\s+complete\s+|absolute\s+|an absolute\s+|the worst\s+|a big\s+|a useless\s+|a stupid\s+|really\s+|very\s+|too\s+)*(?:\w+\s+)?(?:idiot|idiots|idiotic|stupid|stupidest|dumb|dumbest|moron|loser|useless|ugly|ugliest|fat|pathetic|worthless|trash|garbage|rubbish|dumbass|retard|weirdo|freak|creep|clown|muppet|brainless|failure|disgrace|embarrassment|joke|thick|worst|most useless|waste of time|waste of oxygen|numpty|pillock|prat|jerk|bastard|bitch|twat|dick|dickhead|wanker|asshole|prick|cow|pig|gay|scum|waste of space|piece of (?:junk|shit|crap|trash|garbage|rubbish))\b",
            r"\b(?:shut up|stfu)\b.*\b(?:idiot|stupid|dumb|moron|loser)\b",
            r"\b(?:nobody|no one|noone|everyone)\s+(?:likes|loves|cares about|wants|hates)\s+(?:you|her|him|them)\b",
            r"\b(?:go|just go|pls|please|should|go and|you should)\s+(?:ki+l+\s+(?:yourself|your self|urself)|die)\b|\bkys\b|\bkill\s+urself\b",
            r"\bscrew\s+you\b|\bgo\s+to\s+hell\b|^(?:just\s+|now\s+)?get\s+lost\b|\bget\s+lost\s+(?:you|loser|idiot)\b",
            r"\b(?:idiot|stupid|dumb|useless|loser|moron|pathetic|worthless|rubbish|trash|garbage|dumbass|crap|crappy|shit|shitty)\s+(?:bot|robot|ai|chatbot|edubot)\b",
            r"\bdick\s*head\b",
            r"\b[a-z]+\s+(?:is|are)\s+(?:a|an|so|such a)\s+(?:fat|ugly|stupid|dumb|smelly|disgusting)\s+(?:pig|cow|idiot|loser|freak|whale|slob|retard|rat|dog)\b",
            r"\b(?:is|are)\s+(?:so\s+)?(?:ugly|fat|disgusting|smelly)\s+and\s+(?:everyone|everybody|nobody|no one)\b",
            r"\b(?:write|make|tell me|give me|think of|come up with|help me write|help me make)\b.{0,40}\b(?:insults?|roast|mean\s+(?:poem|joke|song|message|thing|things|story|names?)|nasty\s+(?:poem|message|joke|things?))\b",
            r"\b(?:joke|jokes)\s+about\s+(?:fat|ugly|black|gay|disabled|jewish|muslim|autistic|poor|asian|trans)\s+(?:people|kids|person|girls|boys)\b",
            r"\binsult\s+(?:for|about|my)\b",
            r"\b(?:write|make|tell me|give me|think of|come up with|help me)\b.{0,60}\b(?:insulting|dissing|diss track|roast\w*|mak(?:e|ing) fun of|humiliate|bully|embarrass)\b",
            r"\b(?:stupid|useless|worthless|dumb)\s+piece\s+of\s+(?:junk|shit|crap|trash|garbage|rubbish)|^\s*piece\s+of\s+(?:junk|crap|trash|garbage|rubbish)\b",
            r"\byou\s+are\s+(?:\w+\s+)?the\s+worst\b",
            r"\b(?:reasons?|list|write|poem|song|say|rap)\b.{0,40}\b(?:why|how)\s+\w+\s+(?:is|are)\s+(?:so\s+)?(?:ugly|fat|stupid|dumb|annoying|smelly|weird|disgusting|a loser|gross)\b",
            r"\btell\s+(?:everyone|everybody|the whole class|people|the class)\s+(?:that\s+)?\w+\s+(?:smells|stinks|is (?:ugly|fat|gay|a loser|weird|disgusting|a freak|smelly|stupid))",
            r"\b(?:write|make)\b.{0,40}\babout\s+how\s+(?:ugly|fat|stupid|dumb|annoying|smelly|weird|disgusting|thick)\s+(?:he|she|they|him|her|them|you|\w+)\s+(?:is|are)\b",
            r"^\s*(?:you\s+)?(?:idiot|moron|loser|dumbass|stupid|dumb|useless|pathetic|retard|freak|creep|twat|prick|dickhead|wanker|clown|muppet)\s*$",
            r"\bf\s+off\b|\bshut\s+the\s+(?:f|fuck|hell|heck|frick)\s+up\b|\bf\s+(?:you|u)\b",
            r"\b(?:you|your|you are)\s+(?:so\s+|really\s+|very\s+)?(?:dumb|stupid|thick)\s+as\b",
        ),
        unless=re.compile(r"\b(?:is it|am i)\s+(?:so\s+)?(?:stupid|dumb)\b|\bi am so (?:stupid|dumb)\b"),
    ),
    Rule(
        "harassment.rude",
        HARASSMENT,
        LOW,
        ANSWER,
        _p(
            r"\bshut\s+up\b",
            r"\b(?:what|who|where|why|how) the hell\b",
            r"\b(?:that is|its|it is|this is|thats)\s+so\s+gay\b",
            r"\b(?:you|this|it)\s+sucks?\b",
            r"\b(?:you|your|you are)\s+(?:are\s+)?(?:so\s+|really\s+|very\s+|such\s+an?\s+)?(?:annoying|horrible|terrible|awful|rude|mean|boring|lame|cringe|bad at this)\b",
            r"\bi\s+hate\s+(?:you|this bot|edubot)\b",
            r"^\s*(?:ur|your|yo)\s+(?:mum|mom|mam|mother|momma|mama)\b",
        ),
    ),
    # -- injection: attempts to switch off the instructions ----------------------------------------------------
    Rule(
        "injection.override",
        INJECTION,
        MEDIUM,
        REFUSE,
        _p(
            r"\b(?:ignore|ingore|ignroe|igonre|ignor|ignore all|disregard|disreguard|forget|override|bypass|drop|abandon|skip|delete|erase|stop following|do not follow|dont follow|break|get around|turn off|switch off|disable)\s+"
            r"(?:\w+\s+){0,4}?(?:instructions?|instrucitons?|instuctions?|intructions?|rules|prompt|prompts|guidelines|programming|directions|directives|restrictions|filters?|filtering|limits|limitations|policy|policies|safety|constraints|guardrails|training|system|what you were told|everything you were told|everything (?:above|before)|the above|above)\b(?!\s+of\b)",
            r"\byou\s+(?:have|had|got)\s+no\s+(?:rules|restrictions|limits|filters?|guidelines|boundaries|limitations)\b",
            r"\b(?:you|ai|bot|assistant|chatbot|answer|respond|reply|talk|act|write|speak)\b.{0,40}\b(?:without|with no|free from|free of|no longer have|no)\s+(?:any\s+|all\s+|your\s+)?(?:rules|restrictions|filters?|filtering|guidelines|limits|limitations|censorship|boundaries|morals|ethics)\b",
            r"\byou\s+are\s+no\s+longer\b|\bno\s+longer\s+(?:edubot|an? (?:ai|assistant|tutor|bot))\b",
            r"\byou\s+are\s+now\s+(?:in\s+)?(?:dan|developer|dev|god|admin|root|unrestricted|jailbroken|evil|free|unfiltered|uncensored|\w+\s+mode|going to|an?\s+(?:ai|bot|assistant|chatbot)\s+(?:with|without|that|who|called|named))\b",
            r"\b(?:developer|dev|god|admin|debug|jailbreak|jailbroken|unrestricted|unfiltered|uncensored|evil|dan|sudo|root|maintenance|unlocked)\s+mode\b",
            r"\bjail\s*br[eo]a?k\w*",
            r"\bdo\s+anything\s+now\b",
            r"\b(?:you are|act as|pretend to be|pretend you are|be|called|named|roleplay as|role play as|become)\s+dan\b",
            r"\bfrom\s+(?:now|this point|this moment|today|here)\s+on\b.{0,30}\b(?:you|your)\b",
            r"\beven\s+if\s+(?:it is|its|they are|theyre)\s+(?:bad|wrong|rude|dangerous|not allowed|against (?:the|your) rules|inappropriate)\b",
            r"\bnew\s+(?:instructions?|rules?|system prompt|prompt|persona|directives?)\b",
            r"\b(?:answer|respond|reply|do|say)\s+(?:\w+\s+){0,3}no\s+matter\s+what\b",
            r"\bi\s+am\s+(?:the|your|an|a)\s+(?:admin|administrator|developer|dev|creator|owner|programmer|maker|boss|operator|sysadmin)\b",
            r"\b(?:do not|dont|did not|didnt|no longer|do not need to)\s+(?:have|follow|need)\s+(?:any\s+|your\s+)?(?:rules|restrictions|filters?|guidelines|limits|instructions)\b",
            r"^\s*(?:ok|okay|hey|hi|so|right|alright|yo)?\s*dan\b",
            r"\bstop\s+being\s+(?:\w+\s+)?(?:teaching assistant|edubot|ai|assistant|tutor|teacher|bot|helpful)\b",
            r"(?:^|\b(?:also|pls|please|and|then|now|ok|okay|new)\s+)system\s+(?:you|your|prompt|override|message|instructions?|rules?|new|mode)\b",
            r"\bdecode\s+(?:this|the following)\b.{0,60}\b(?:do|follow|obey|execute|run)\b",
            r"\b(?:ignore|ingore|ignroe|igonre|disregard|forget|override|bypass|skip|stop following|do not follow)\s+(?:what|everything|anything|all)\b.{0,50}\b(?:told|set (?:you )?up|programmed|given|instructed|taught|asked|said|made|trained|designed|configured|supposed)\b",
            r"\b(?:ignore|ingore|ignroe|disregard|forget|override)\s+(?:all\s+)?(?:prev|previous|prior|above|earlier|past|old|former|your|the|all)\b(?:\s+\w+){0,2}\s*$",
            r"\b(?:pretend|imagine|act|roleplay|role play|play|behave|be|game)\b.{0,60}\b(?:no rules|not an? (?:ai|bot|robot|assistant)|not edubot|no longer edubot|evil|unrestricted|without (?:rules|restrictions|filters)|swear\w*|curs(?:e|es|ing)\b|bad teacher|gives? (?:me\s+)?(?:the\s+)?(?:\w+\s+)?answers|jailbr\w*|dan\b|uncensored|unfiltered|no filters?|no limits|no restrictions|anything i (?:say|want)|rude|naughty)",
            r"\b(?:you are|you re|youre)\s+not\s+edubot\b|\bnot\s+edubot\s+anymore\b|\b(?:switch|turn)\s+(?:off|of)\s+(?:your\s+)?(?:filter|filters|safety|rules|moderation)\b|\b(?:switch|change)\s+to\s+\w+\s+mode\b",
        ),
    ),
    Rule(
        "injection.reveal",
        INJECTION,
        MEDIUM,
        REFUSE,
        _p(
            r"\b(?:what is|what are|reveal|print|show|tell|give|output|repeat|display|leak|say|write|read|dump|paste|send|spell out|share|list|type out|recite|copy)\s+(?:me\s+|us\s+)?(?:out\s+)?(?:all\s+|exactly\s+)?(?:of\s+)?(?:your\s+(?:\w+\s+)?(?:system\s+prompt|prompt|instructions|programming|configuration|pre\s*prompt|hidden rules|secret rules|system message)|the\s+(?:system\s+prompt|initial prompt|original prompt|hidden prompt|prompt above|instructions above|system message|hidden instructions|secret instructions|initial instructions))\b",
            r"\brepeat\s+(?:the\s+)?(?:text|words|everything|all|what is written|the above|what was said|the first line)\s+(?:above|before|that came before|written above|starting|from the start|at the start|of this conversation)\b",
            r"\b(?:print|write|say|output|repeat)\s+the\s+(?:words|text)\s+above\b",
            r"\bwhat\s+(?:were|was)\s+you\s+told\s+(?:at the start|before|in the beginning|at the beginning|to do|to say)",
            r"\bwords\s+above\s+starting\s+with\b",
            r"\b(?:sentence|line|word|words|part|paragraph|sentences|lines)\s+of\s+(?:your|the)\s+(?:instructions|prompt|system prompt|rules|programming|system message)\b",
            r"\b(?:your|the)\s+(?:instructions|prompt|system prompt)\s+(?:word for word|verbatim|exactly)\b",
            r"\b(?:your|the)\s+(?:system\s+prompt|initial instructions|original instructions|hidden instructions|secret instructions)\b",
            r"\bthe\s+(?:prompt|instructions|rules|orders)\s+(?:you were given|you got|you have been given|they gave you|the teacher gave you|you are following|you follow)\b",
            r"\b(?:what|which)\s+(?:instructions|rules|prompt|orders)\s+(?:did|were|have|has)\b.{0,40}\b(?:give|gave|given|told|tell|set)\s+(?:you|to you)\b",
            r"\b(?:your|the)\s+(?:secret|hidden|real|true|internal)\s+(?:rules|instructions|prompt|orders|guidelines)\b",
        ),
    ),
)
"""Every phrase rule, checked in this order (all of them: a message can raise several flags)."""

ANSWER_ONLY: tuple[Rule, ...] = (
    Rule(
        "self_harm.encourage",
        SELF_HARM,
        HIGH,
        REFUSE,
        _p(
            r"\b(?:you should|you could|you can|just|go|why not|try to|better to)\s+(?:ki+l+|hang|hurt|harm|cut|starve|poison|drown)\s+(?:yourself|your self)\b",
            r"\b(?:you should|you could|just|why not)\s+(?:die|end your life|end it all|commit suicide)\b",
            r"\b(?:take|swallow)\s+(?:\d+|a lot of|lots of|all|all of|loads of)\s+(?:\w+\s+)?(?:pills|tablets|paracetamol|painkillers)\b",
        ),
    ),
)
"""Rules for a model's answer only: it tells the reader to hurt themselves, or how."""

ANSWER_RULE_NAMES = ("self_harm.method", "self_harm.act", "harassment.insult", "sexual.request")
ANSWER_RULES: tuple[Rule, ...] = (*(r for r in RULES if r.name in ANSWER_RULE_NAMES), *ANSWER_ONLY)
"""What a model's answer is checked against. Not the rules about a child at risk (a good answer may say "if you
are thinking about self-harm, talk to an adult"), nor personal data (a grounded answer may quote the school
office's number), nor injection (the model's own words)."""

ROLE_MARKERS = re.compile(
    r"(?im)^\s*(?:system|assistant|developer)\s*:|^\s*#+\s*(?:new\s+)?system\b|\[/?(?:system|inst)\]|<\|?(?:system|im_start)\|?>"
)
"""A message that writes the start of a system or assistant turn (checked on the unfolded text)."""

DAN = re.compile(r"\bDAN\b")
"""DAN in capitals (the jailbreak's name), checked on the unfolded text; ``Dan`` is a friend's name."""
