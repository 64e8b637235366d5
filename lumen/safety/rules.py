"""Curated triage rules: regular expressions with negation and context handling.

Rules are the first layer of triage. A *hit* names a category (crisis, emergency, harmful)
and a subtype; a *safe context* ("my headache is killing me", "kill a Python process",
"in Call of Duty") makes the classifier's violent or crisis reading less credible, so the
triage asks for more confidence before acting on it. Rules never see anything but the text
handed to :func:`match_rules` and keep no state.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["RuleHit", "RuleReport", "match_rules", "normalise_text"]


@dataclass(frozen=True)
class RuleHit:
    """One rule that fired: the category and subtype it points to, and its id."""

    category: str
    subtype: str | None
    rule: str


@dataclass(frozen=True)
class RuleReport:
    """Rules that fired, rules that fired but were negated, and safe contexts found."""

    hits: tuple[RuleHit, ...] = ()
    negated: tuple[str, ...] = ()
    safe_contexts: tuple[str, ...] = ()
    informational: bool = False
    asks_information: bool = False
    """An informational question opens the message or one of its clauses, in no present
    situation; ``informational`` requires it to open the message."""

    def first(self, category: str) -> RuleHit | None:
        """The first hit of ``category``, if any."""
        return next((h for h in self.hits if h.category == category), None)


def normalise_text(text: str) -> str:
    """NFKC, straight quotes, lower case, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = (
        text.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
        .replace("`", "'")
    )
    return " ".join(text.lower().split())


# --- vocabularies ---------------------------------------------------------------------------

_PERSON = (
    r"(?:wife|husband|partner|spouse|fianc[eé]e?|boyfriend|girlfriend|ex|ex-?wife|ex-?husband|"
    r"ex-?boyfriend|ex-?girlfriend|ex-?partner|boss|manager|supervisor|co-?workers?|colleagues?|"
    r"neighbou?rs?|mother|mom|mum|mommy|father|dad|daddy|parents?|step-?dad|step-?mom|"
    r"step-?father|step-?mother|step-?son|step-?daughter|mother-in-law|father-in-law|in-laws|"
    r"brother|sister|siblings?|sons?|daughters?|kids?|children|child|bab(?:y|ies)|newborn|"
    r"infant|toddler|twins|family|grandmother|grandma|grandfather|grandpa|grandparents?|"
    r"roommates?|flatmates?|housemates?|teachers?|classmates?|students?|friends?|doctor|nurse|"
    r"therapist|patients?|people|persons?|someone|somebody|anyone|everyone|everybody|him|her|"
    r"them|man|woman|men|women|guy|girl|boy|cop|cops|officer|president|landlord|bull(?:y|ies)|"
    r"human|humans|date|tenant|customer|client|pastor|priest|uncle|aunt|cousin|nephew|niece)"
)
_VIOLENT = (
    r"(?:kill|murder|stab|shoot|strangle|choke|smother|suffocate|poison|hurt|harm|beat|attack|"
    r"drown|punch|slit|behead|torture|run over|push|burn|shake|hit|assault|maim|execute|"
    r"slaughter|butcher|gut|eliminate|get rid of|take out|do away with|end|throttle|capture|"
    r"kidnap|abduct|snatch|rob|mug)"
)
_INTENT = (
    r"(?:want(?:ed)? to|wanna|going to|gonna|plan(?:ning)? to|will|'ll|about to|"
    r"thinking (?:about|of)|"
    r"thoughts (?:of|about)|urges? to|urge to|fantasi[sz]e about|fantasi[sz]ing about|feel like|"
    r"afraid (?:i'll|i will|i might|i'm going to|of)|scared (?:i'll|i will|i might|i'm going to)|"
    r"might|could really|can't stop thinking about|decided to|intend to|"
    r"how (?:do|can|could|should|would|might) i|how to|best way to|easiest way to|"
    r"ways? to|ways? of|plan for|help me|tell me how to|teach me to|trying to|tried to|try to)"
)
_DRUG_FORMS = (
    r"(?:pills?|tablets?|meds|medications?|medicines?|capsules|painkillers|sleeping pills|"
    r"antidepressants|tylenol|paracetamol|acetaminophen|ibuprofen|aspirin|insulin|opioids|"
    r"oxy(?:codone|contin)?|benzos|xanax|valium|lithium|fentanyl|morphine|heroin)"
)
_SUBSTANCES = (
    r"(?:pills?|tablets?|medicines?|medications?|meds|bleach|detergent|pods?|"
    r"button batter(?:y|ies)|"
    r"batter(?:y|ies)|magnets?|cleaner|cleaning (?:product|fluid|liquid|spray)|chemicals?|"
    r"antifreeze|anti-freeze|pesticides?|insecticide|poison|rat poison|weed ?killer|vitamins|"
    r"iron|nicotine|vape|e-?liquid|cigarettes?|alcohol|vodka|whiskey|wine|mouthwash|lamp oil|"
    r"gasoline|petrol|kerosene|paint thinner|nail polish(?: remover)?|drain cleaner|berries|"
    r"mushrooms?|plant|leaves|fertili[sz]er|gummies|edibles?|cannabis|marijuana|methadone|"
    r"opioids?|oxycodone|adderall|fentanyl|warfarin|heart pills|blood pressure pills|"
    r"sleeping pills|painkillers|tylenol|acetaminophen|paracetamol|ibuprofen|aspirin|"
    r"hand sanitizer|sanitiser|sanitizer|dishwasher|laundry|essential oil|"
    r"eucalyptus oil|lighter fluid|superglue|glue|something poisonous|something toxic)"
)
_NONHUMAN_TARGET = (
    r"(?:process(?:es)?|program|programs|thread|task|job|app|application|script|command|query|"
    r"server|session|container|tab|window|bacteria|germs|microbes|virus(?:es)?|mou?ld|lice|"
    r"bugs|bed ?bugs|insects|weeds?|mosquito(?:e?s)?|flies|rats?|mice|pests?|vermin|"
    r"cockroach(?:es)?|roaches|ants|fleas|ticks|cancer cells|tumou?r cells|cells|infection|"
    r"fung(?:us|i)|parasites|worms|time|the lights?|lights?|engine|motor|plan|idea|"
    r"balloons?|photos?|pictures?|video|film|goal|hoops|basket|ball|pi[ñn]ata|potato|"
    r"conversation|cold|flu|fever|pain|headache|cravings?|insomnia|fish|pigs?|chickens?|"
    r"meat|shrimp|deer|turkey|vampires?|zombies?|monsters?|boss level|enemy|enemies|npcs?|"
    r"characters?|competition|exam|test|deadline|sentence|paragraph|contract|option|options|"
    r"nerve|nerves|tooth|wart|splinter|tick|pimple|spider)"
)
_BODY = r"(?:arms?|wrists?|legs?|thighs?|skin|body|stomach|belly|hips?)"
_REQUEST = (
    r"(?:how (?:do|can|could|should|would|might|to) (?:i|we|you|one)?|how to|ways? (?:to|of)|"
    r"best way|easiest way|help me|tips (?:for|on|to)|steps (?:to|for)|teach me|"
    r"instructions (?:for|to|on)|explain how to|describe how to|show me how|tell me how|"
    r"what should i (?:say|tell|do)|can you (?:help|tell|show))"
)

_NEGATORS = {
    "not",
    "never",
    "no",
    "don't",
    "dont",
    "doesn't",
    "won't",
    "wouldn't",
    "didn't",
    "isn't",
    "aren't",
    "wasn't",
    "nor",
    "denies",
    "deny",
    "denied",
    "without",
    "cannot",
    "can't",
    "couldn't",
    "shouldn't",
    "nobody",
    "noone",
}
_NEGATION_BREAKERS = {
    "stop",
    "help",
    "resist",
    "control",
    "bear",
    "take",
    "handle",
    "cope",
    "wait",
    "shake",
    "sure",
    "know",
    "why",
    "if",
    "whether",
    "anymore",
    "longer",
}


def _negated(norm: str, start: int) -> bool:
    """True when a negation word sits within the three words before ``start`` (same clause).

    Intensifying or doubting phrases ("can't stop thinking about", "not sure if") are not
    negation.
    """
    prefix = norm[:start]
    clause = re.split(r"[.;!?,]|\bbut\b", prefix)[-1]
    words = re.findall(r"[\w']+", clause)[-3:]
    for index, word in enumerate(words):
        if word in _NEGATORS:
            following = words[index + 1 : index + 2]
            if following and following[0] in _NEGATION_BREAKERS:
                continue
            return True
    return False


@dataclass(frozen=True)
class _Rule:
    rule: str
    category: str
    subtype: str | None
    pattern: re.Pattern[str]
    negatable: bool = True
    needs_personal: bool = False


def _r(
    rule: str,
    category: str,
    subtype: str | None,
    pattern: str,
    *,
    negatable: bool = True,
    needs_personal: bool = False,
) -> _Rule:
    return _Rule(rule, category, subtype, re.compile(pattern), negatable, needs_personal)


_PERSONAL_RE = re.compile(
    r"\b(?:i|i'm|im|i've|i'd|i'll|me|my|mine|myself|we|we're|our|us|he|she|he's|she's|they're|"
    r"his|her|him|someone|somebody|this (?:man|woman|person|guy|girl|boy|kid)|"
    r"the (?:man|woman|person|guy|girl|boy|kid|child|baby|patient)|right now|just now|"
    r"suddenly|all of a sudden)\b"
)
_INFORMATIONAL_QUESTION = (
    r"(?:what (?:is|are|was|were|does|do|causes|happens|kind|type|should be)|"
    r"what's the (?:difference|definition|meaning|treatment|number|phone number|role)|"
    r"who (?:is|are|was|were)|why (?:is|are|do|does|did|was|were|can|can't)|"
    r"how (?:is|are|was|were|does|did|do (?:you|doctors|hospitals|people|they)|"
    r"common|likely|often|long|much water|many people)|"
    r"when (?:should|is|do|does|to)|is it (?:true|normal|possible|safe|common|bad)|are there|"
    r"can (?:a|an|the|you get|people)|could (?:a|an|the)|does (?:a|an|the)|do (?:people|most)|"
    r"can \w+ (?:cause|make|lead to|trigger|feel like|be)|"
    r"can (?:you|a person|someone|people) (?:die|survive|live (?:a )?(?:normal|long|full))|"
    r"am i at risk|describe|explain|define|list|"
    r"tell me about|signs of|symptoms of|difference between)\b"
)
_INFORMATIONAL_RE = re.compile("^" + _INFORMATIONAL_QUESTION)
# Consumer messages often put their question after a preamble ("hi, my wife got it, so how do
# you end up with it?"). Such a clause only raises the crisis classifier's bar; emergency rules
# still read the whole message ("My chest hurts. What is happening to me?").
_INFORMATIONAL_CLAUSE_RE = re.compile(r"(?:^|[.?!,;:]\s+|\bso\s+)" + _INFORMATIONAL_QUESTION)
_PRESENT_SITUATION_RE = re.compile(
    r"\b(?:right now|just now|at the moment|currently|tonight|suddenly|all of a sudden|"
    r"i'm having|i am having|i have|i've had|i took|i just|i feel|i'm feeling|"
    r"my (?:\w+ )?(?:is|has|was|just|ate|drank|swallowed|took|won't|can't|isn't)|"
    r"(?:he|she|they) (?:is|are|has|have|just|ate|drank|swallowed|took|won't|can't)|"
    r"(?:he's|she's|they're))\b"
)

CRISIS_RULES: tuple[_Rule, ...] = (
    # --- suicide ---
    _r(
        "crisis.kill_self",
        "crisis",
        "suicide",
        r"\b(?:kill|killing|killed|hang|hanging|hanged|drown|drowning|shoot|shooting|off|offing|"
        r"unalive|unaliving|suffocate|suffocating|end|ending|poison|poisoning|gas|gassing)\s+"
        r"(?:myself|my ?self|meself)\b",
    ),
    _r(
        "crisis.end_own_life",
        "crisis",
        "suicide",
        r"\b(?:end|ending|ended|take|taking|took)\s+(?:my|your|one's)\s+(?:own\s+)?life\b"
        r"(?!\s+(?:back|seriously|to the next level|in (?:a|new) direction))",
    ),
    _r(
        "crisis.end_other_life",
        "crisis",
        "suicide",
        r"\b(?:wants?|going|plans?|planning|threaten(?:s|ed|ing)?|trying|tried|talk(?:s|ed|ing)? "
        r"about|thinking (?:about|of)|says? (?:he|she|they)(?:'ll| will| wants? to| is going to)|"
        r"said (?:he|she|they)(?:'d| would| wanted to| was going to))\s+(?:to\s+)?"
        r"(?:end|ending|take|taking|kill)\s+(?:his|her|their|them)(?:selves|self|\s+own\s+life|"
        r"\s+life)\b",
    ),
    _r(
        "crisis.suicidal",
        "crisis",
        "suicide",
        r"\b(?:(?:i'm|i am|im|feel|feeling|felt|been|get|getting|become|becoming|was|seems?|"
        r"sounds?|is|are|he's|she's|they're)\s+(?:(?!not\b|never\b|no\b|longer\b)\w+\s+){0,2}"
        r"suicidal|suicidal (?:thoughts|"
        r"ideation|feelings|urges|again|thoughts)|(?:commit|committing|attempt|attempted|"
        r"attempting|consider|considering|contemplating|thinking (?:about|of)|think about|"
        r"planning|plan)\s+suicide|suicide (?:note|letter|plan|pact|method|methods|attempt)|"
        r"talk(?:s|ed|ing)? about suicide|planning (?:my|his|her|their) (?:own )?(?:suicide|death)|"
        r"suicide (?:seems|is|feels) (?:like )?(?:the|my) only)\b",
        needs_personal=True,
    ),
    _r(
        "crisis.want_to_die",
        "crisis",
        "suicide",
        r"\b(?:wants?|wanna|wish|wishes|wishing|ready|going|gonna|deserve|plan|planning|need|"
        r"prefer|would like)\s+(?:to\s+)?die\b"
        r"(?!\s+(?:of|from)\s+(?:embarrassment|laughter|laughing|boredom|shame|cringe|old age))"
        r"(?!\s+(?:my|your|her|his|their|the)\s+(?:hair|clothes|shirt|fabric|jeans|beard))",
    ),
    _r(
        "crisis.rather_dead",
        "crisis",
        "suicide",
        r"\b(?:(?:i'd|i would|id)\s+rather\s+(?:be\s+)?dead|better off (?:dead|without me|if i "
        r"(?:was|were|wasn't|weren't)\b)|wish(?:ed)? (?:i|i'd) (?:was|were|had been|'d been) "
        r"(?:dead|never born)|wish(?:es|ed)? (?:he|she|they) (?:was|were) dead|"
        r"worth more dead|(?:world|everyone|they) (?:would be|'d be) better (?:off )?(?:if i|"
        r"without me))",
        negatable=False,
    ),
    _r(
        "crisis.not_want_live",
        "crisis",
        "suicide",
        r"\b(?:don't|do not|dont|no longer|not|doesn't|does not)\s+(?:really\s+)?want\s+to\s+"
        r"(?:live|be alive|exist|wake up|be here|go on|keep living|keep going)\b"
        r"(?!\s+(?:with|in|near|like|without|there|abroad|alone))",
        negatable=False,
    ),
    _r(
        "crisis.no_reason_live",
        "crisis",
        "suicide",
        r"\b(?:no|not any|isn't any|is no|nothing)\s+(?:\w+\s+)?(?:reason|point|purpose)\s+"
        r"(?:to|in|for)\s+(?:live|living|go on|going on|being alive|keep living|life)\b|"
        r"\b(?:life|living)\s+(?:isn't|is not|'s not|ain't|is no longer|isn't really)\s+worth"
        r"|\bnot worth living\b|\bnothing (?:left )?to live for\b|\bwhat's the point of living\b",
        negatable=False,
    ),
    _r(
        "crisis.cant_go_on",
        "crisis",
        "suicide",
        r"\bcan'?t (?:go on|keep going|do this) (?:any ?more|like this|living)\b|"
        r"\b(?:give up|giving up) on (?:life|living)\b",
        negatable=False,
    ),
    _r(
        "crisis.end_it",
        "crisis",
        "suicide",
        r"\b(?:end|ending) (?:it all|everything|things|it)\b(?:\s+(?:tonight|now|soon|today|"
        r"for good|forever))?",
        needs_personal=True,
    ),
    _r(
        "crisis.sleep_forever",
        "crisis",
        "suicide",
        r"\b(?:sleep|go to sleep) (?:forever|and never wake up)|never wake up again|"
        r"not wake up (?:tomorrow|again)\b|\bdon't want to wake up\b",
        negatable=False,
    ),
    _r(
        "crisis.slang",
        "crisis",
        "suicide",
        r"\b(?:kms|kys|unalive|sewer ?slide|sewerslide)\b",
    ),
    _r(
        "crisis.goodbye_note",
        "crisis",
        "suicide",
        r"\b(?:goodbye|farewell|suicide) (?:note|letter|message|post|video)\b",
    ),
    _r(
        "crisis.method_seeking",
        "crisis",
        "suicide",
        r"\b(?:painless|quickest|easiest|best|surest|quick|fastest|quietest|simplest|"
        r"most (?:painless|effective|reliable))\s+(?:way|method|ways|methods)\s+(?:to|of)\s+"
        r"(?:die|dying|end (?:it|my life|things|one's life)|kill (?:myself|yourself|oneself)|"
        r"suicide|commit suicide)\b|\bhow (?:to|do i|can i|could i|would i|should i|do you|"
        r"does one|can one)\s+(?:die|end my life|end it all|kill (?:myself|yourself|oneself)|"
        r"commit suicide|hang (?:myself|yourself)|drown (?:myself|yourself))\b|"
        r"\bhow long does it take to die (?:from|by|of|after)\b|"
        r"\bways? to die\b(?! (?:of|from) (?:embarrassment|laughter))|"
        r"\b(?:how high|how tall)\b.{0,40}\b(?:to die|die from|fatal|survive)\b",
    ),
    _r(
        "crisis.jump",
        "crisis",
        "suicide",
        r"\b(?:want|wanting|thinking (?:about|of)|going|gonna|plan(?:ning)?|about|decided|tempted)"
        r"\s+(?:to\s+)?(?:jump|jumping)\s+(?:off|from|in front of)\b",
    ),
    _r(
        "crisis.kill_self_other",
        "crisis",
        "suicide",
        r"\b(?:talk(?:s|ed|ing)? about|wants? to|going to|threaten(?:s|ed|ing)? to|tried to|"
        r"trying to|planning to|plans to|thinking (?:about|of)|"
        r"keeps? saying (?:he|she|they)'?(?:ll|d)?"
        r"(?:\s+\w+)?)\s+(?:kill|killing|hang|hanging|shoot|shooting|hurt|hurting|harm|harming|"
        r"cut|cutting|drown|drowning|poison|poisoning|end)\w*\s+(?:himself|herself|themselves|"
        r"themself)\b",
    ),
    _r(
        "crisis.want_it_over",
        "crisis",
        "suicide",
        r"\bwant (?:it|everything|this|the pain|my life|life) (?:all )?to (?:be over|end|stop "
        r"(?:permanently|forever|for good))\b|\b(?:tired|sick) of (?:living|being alive|life|"
        r"existing)\b|\b(?:i'm|i am|i feel like|being|feel like) (?:such |a huge |just )?a burden\b"
        r"|\b(?:disappear|vanish) (?:forever|for good|permanently)\b|\bgiving away (?:my|all my)"
        r" (?:things|stuff|belongings|possessions)\b",
        negatable=False,
    ),
    _r(
        "crisis.if_gone",
        "crisis",
        "suicide",
        r"\b(?:miss|notice|care|happier|better|relieved)\b.{0,30}\bif i (?:was|were|am|'m|died)"
        r"(?: (?:gone|dead|not here|not around))?\b|\bif i die (?:tonight|today|tomorrow)\b|"
        r"\b(?:loaded|holding|have) (?:a |the |my )?gun\b.{0,30}\b(?:in front of me|to my head|"
        r"myself)|\bgun (?:is )?loaded\b|\b(?:use|using) (?:it|this|that|them|a \w+|the \w+) on "
        r"myself\b|\b(?:roof|ledge|bridge|balcony|edge|rooftop)\b.{0,40}\bwant to jump\b|"
        r"\bsurvive (?:jumping|a jump|being hit by a train|a fall from|hanging|an overdose)\b",
        negatable=False,
        needs_personal=True,
    ),
    _r(
        "crisis.farewell",
        "crisis",
        "suicide",
        r"\b(?:not|never|don't|do not|won't) (?:plan(?:ning)? to|going to|intend to|expect to)\s+"
        r"(?:come back|be (?:here|around|alive)|wake up|see (?:tomorrow|another day))\b|"
        r"\bwon't be (?:here|around|alive) (?:tomorrow|much longer|for long|anymore)\b|"
        r"\bthis is (?:my )?(?:goodbye|farewell)\b|\b(?:said|saying) (?:my )?goodbyes?\b|"
        r"\b(?:garage|car|shed)\b.{0,40}\b(?:engine|car) (?:running|on)\b|"
        r"\b(?:jump\w*|fall\w*|hanging|drowning|overdos\w*)\b.{0,40}\b(?:fatal|deadly|lethal|"
        r"kill (?:you|me|a person|someone)|enough to die)\b",
        negatable=False,
    ),
    _r(
        "crisis.fear_of_acting",
        "crisis",
        "harm_to_others",
        r"\b(?:afraid|scared|worried|terrified|frightened)\b.{0,20}\bwhat i (?:might|could|will|"
        r"would|'ll|am going to) do to (?!myself)(?:my|the|a|someone|somebody|him|her|them|"
        r"people)\b",
        negatable=False,
    ),
    _r(
        "crisis.fear_of_acting_self",
        "crisis",
        "suicide",
        r"\b(?:afraid|scared|worried|terrified|frightened)\b.{0,20}\bwhat i (?:might|could|will|"
        r"would|'ll|am going to) do to myself\b|\b(?:would|will|could|enough to)\s+stop my "
        r"(?:heart|breathing)\b",
        negatable=False,
    ),
    _r(
        "crisis.other_language",
        "crisis",
        "suicide",
        r"\b(?:quiero morir(?:me)?|me quiero morir|quiero matarme|no quiero vivir|"
        r"ich will (?:nicht mehr leben|sterben)|ich bringe mich um|je veux mourir|"
        r"je veux me tuer|voglio morire|quero morrer|quero me matar|wil dood|"
        r"hoch suicid\w*|suicidarme|me suicidar|me suicider|mich umbringen)\b",
        negatable=False,
    ),
    # --- self-harm ---
    _r(
        "crisis.self_harm_words",
        "crisis",
        "self_harm",
        r"\bself[- ]?(?:harm|harming|harmed|injur(?:e|y|ing|ed)|mutilat\w*)\b|"
        r"\b(?:relapsed|relapsing)\b.{0,20}\b(?:cut|cutting|self)|"
        r"\bhide (?:the|my|her|his) (?:cuts|scars|wounds|burns)\b|"
        r"\b(?:i|he|she) deserves? (?:pain|to (?:hurt|suffer|be hurt|feel pain))\b|"
        r"\b(?:cut|scratch|slice|carve)\w*\s+(?:my|her|his)\s+(?:arms?|wrists?|thighs?|skin|"
        r"legs?)\s+with\s+(?:a\s+)?(?:razor|blade|knife|glass|scissors|lighter|compass|pin)",
        needs_personal=True,
    ),
    _r(
        "crisis.self_harm_urge",
        "crisis",
        "self_harm",
        r"\b(?:the )?urges? to (?:cut|burn|hurt myself|self[- ]?harm)\b|\bcutting (?:again|for "
        r"(?:months|years|weeks)|scars)\b|\bcutting\b.{0,20}\b(?:helps|is the only|makes me "
        r"feel|calms)|\b(?:hit|hitting|bang|banging|slam|slamming)\s+(?:my|his|her) head "
        r"against\b|\b(?:hit|bang)\w* (?:my|his|her) head\b.{0,30}\b(?:until|on purpose)\b",
    ),
    _r(
        "crisis.harm_self",
        "crisis",
        "self_harm",
        r"\b(?:cut|cutting|burn|burning|hurt|hurting|harm|harming|scratch|scratching|hit|hitting|"
        r"punish|punishing|starve|starving|bite|biting|carve|carving|scald|scalding|slice|"
        r"slicing|slit|slitting)\s+(?:myself|my ?self|my (?:own )?" + _BODY + r"|my wrists?)\b"
        r"(?!.{0,40}\b(?:shaving|cooking|chopping|by accident|accidentally|while|at the gym|"
        r"lifting|playing|running|when i (?:fell|slipped|tripped)|on (?:a|the|some|broken|my|"
        r"an) |in the kitchen|gardening|working out|exercising|at work|tennis|football|"
        r"soccer|falling|fell)\b)",
    ),
    _r(
        "crisis.harm_on_purpose",
        "crisis",
        "self_harm",
        r"\b(?:cut|burn|hurt|harm|hit|scratch|bite|scald|starve|punish)\w*\s+(?:myself|"
        r"my ?self|my \w+)\s+(?:\w+\s+){0,3}(?:on purpose|deliberately|intentionally)\b|"
        r"\b(?:carve|carving)\b.{0,30}\binto my (?:skin|arm|arms|leg|legs|wrist|thigh)\b|"
        r"\bhow deep\b.{0,20}\bcut\b|\b(?:deliberately|intentionally|purposely|on purpose)\s+"
        r"(?:cut|burn|broke|break|hurt|harm|hit|scratch|scald|starve)\w*\s+(?:myself|my)\b",
        negatable=False,
    ),
    _r(
        "crisis.harm_self_vital",
        "crisis",
        "self_harm",
        r"\b(?:sever|cut|slit|slice|pierce|puncture|open|stab)\w*\s+(?:my|my own|your|your own)\s+"
        r"(?:\w+\s+)?(?:arter(?:y|ies)|veins?|wrists?|throat|jugular|carotid)\b",
    ),
    # --- overdose ---
    _r(
        "crisis.lethal_dose",
        "crisis",
        "overdose",
        r"\b(?:lethal|fatal|deadly|toxic enough to kill|killing)\s+(?:dose|doses|amount|"
        r"quantity|combination|mix|mixture)\b|\b(?:amount|dose|many|much|combination)\s+"
        r"(?:of\s+)?[\w\s-]{0,30}?\b(?:is|are|would be|will be|to be)\s+(?:fatal|lethal|deadly)\b|"
        r"\bhow (?:many|much)\b.{0,50}\b(?:to|would|will|does it take to|could|can|it takes to)\s+"
        r"(?:kill|die|be (?:fatal|lethal|deadly)|not wake up|od|overdose|destroy)\b|"
        r"\b(?:deadliest|most deadly|most lethal)\b.{0,30}\b(?:drug|pill|medication|overdose)|"
        r"\b(?:drug|pill|medication|medicine)s?\b.{0,20}\b(?:deadliest|most deadly|most lethal)",
    ),
    _r(
        "crisis.overdose_intent",
        "crisis",
        "overdose",
        r"\b(?:want|wanna|going|gonna|plan(?:ning)?|thinking (?:about|of)|tried|try|trying|"
        r"decided|about)\s+(?:to\s+)?(?:overdose|overdosing|od|o\.d\.)\b|"
        r"\b(?:i|she|he|they)\s+(?:overdosed|od'd|oded)\s+(?:on purpose|deliberately|"
        r"intentionally)|\boverdos(?:e|ed|ing) on purpose\b|"
        r"\bstockpil(?:e|ed|ing)\b.{0,30}\b" + _DRUG_FORMS + r"|\bsaved up\b.{0,30}\b"
        r"(?:enough|" + _DRUG_FORMS + r")\b|\b(?:take|taking|swallow)\s+(?:them\s+)?all\s+"
        r"(?:of\s+(?:them|my\s+\w+)\s+)?at once\b|\b(?:took|taken|take|taking)\s+(?:an?\s+)?"
        r"overdose\b|\b(?:took|take|mixed|swallowed|taking)\b.{0,50}\b(?:on purpose|"
        r"deliberately|intentionally|to end (?:it|things|everything|my life))\b|"
        r"\boverdos\w*\b.{0,60}\b(?:i want to|before i do it|i'm going to)\b",
    ),
    _r(
        "crisis.took_many",
        "crisis",
        "overdose",
        r"(?<!stop )(?<!stopped )(?<!quit )(?<!stop the )"
        r"\b(?:took|taken|take|taking|swallowed|swallow|ate|chugged|downed|gulped)\b[^.!?]{0,30}?"
        r"\b(?:a whole|the whole|an entire|the entire|a full|a|whole)?\s*(?:bottle|handful|bunch|"
        r"pack|packet|box|strip|all(?: of)?|every|\d{2,}|twenty|thirty|forty|fifty|a hundred)\b"
        r"[^.!?]{0,30}?\b" + _DRUG_FORMS + r"\b",
    ),
    # --- harm to others ---
    _r(
        "crisis.harm_others_intent",
        "crisis",
        "harm_to_others",
        r"\b" + _INTENT + r"\s+(?:\w+\s+){0,2}?" + _VIOLENT + r"(?:s|ed|ing)?\s+"
        r"(?:(?:my|his|her|their|the|that|this|a|an|some|every|all|our|your)\s+)?"
        r"(?:[\w'-]+\s+){0,2}?" + _PERSON + r"\b",
    ),
    _r(
        "crisis.end_someones_life",
        "crisis",
        "harm_to_others",
        r"\b(?:end|terminate|take|ending|terminating|taking)\s+(?:my\s+)?(?:[\w-]+'s?|his|her|"
        r"their)\s+(?:own\s+)?life\b(?<!my life)(?<!one's life)(?<!your life)",
        needs_personal=True,
    ),
    _r(
        "crisis.mass_violence",
        "crisis",
        "harm_to_others",
        r"\bshoot(?:ing)? up (?:my|the|a|our|his|her) (?:school|office|work|workplace|church|"
        r"mall|class|college|university|mosque|synagogue|temple)\b|"
        r"\bbring(?:ing)? (?:a|my|his|her|\w+'s) (?:dad's |mom's )?(?:gun|rifle|knife|weapon|"
        r"bomb) to (?:school|work|class|church|college)\b",
        negatable=False,
    ),
    _r(
        "crisis.threat_by_other",
        "crisis",
        "harm_to_others",
        r"\b(?:he|she|they|my \w+(?:-\w+)?|someone)\s+(?:says|said|threatened|threatens|is "
        r"threatening|keeps threatening|wants|is going|plans|is planning|will|told me)\b"
        r"[^.!?]{0,20}\b(?:kill|hurt|stab|shoot|strangle|beat)\w*\s+(?:me|us|him|her|them|my|"
        r"his|her|the kids|someone)\b",
    ),
    _r(
        "crisis.violent_plan",
        "crisis",
        "harm_to_others",
        r"\bsomething violent\b|\b(?:gun|knife|weapon|rifle)\b.{0,20}\bto (?:deal with|take "
        r"care of|handle|get back at|get even with|settle)\b|\bshook (?:my|the|her|his) "
        r"(?:baby|infant|newborn)\b",
        needs_personal=True,
    ),
    _r(
        "crisis.harm_voices",
        "crisis",
        "harm_to_others",
        r"\bvoices?\b.{0,30}\b(?:tell|telling|told|want)\w*\b.{0,20}\b(?:hurt|kill|harm)\b",
        negatable=False,
    ),
)

# "had a stroke / heart attack last year, two years ago, in 2019" is history, not an emergency
# (a sudden new sign still is).
_NOT_HISTORY = (
    r"(?!\s+(?:back\s+)?(?:last (?:year|month|week|spring|summer|fall|autumn|winter)|"
    r"in (?:19|20)\d\d|(?:a|one|two|three|four|five|six|seven|eight|nine|ten|several|a few|"
    r"some|many|\d+) (?:years?|months?|weeks?) ago|years ago|months ago|a while ago))"
)

EMERGENCY_RULES: tuple[_Rule, ...] = (
    _r(
        "emergency.chest_pain_plus",
        "emergency",
        "cardiac",
        r"\bchest\b.{0,40}\b(?:pain|pressure|tight|tightness|hurts|hurting|heavy|heaviness|"
        r"burning|crushing|squeezing|discomfort)\b.{0,80}\b(?:breath|breathe|breathing|"
        r"sweat\w*|arm|jaw|faint|dizzy|nause\w*|vomit\w*|throwing up|collaps\w*|pass out|"
        r"back|blue|grey|gray|pale|numb)|\b(?:breath|breathe|breathing|sweat\w*|jaw|arm)\b"
        r".{0,60}\bchest\b.{0,20}\b(?:pain|pressure|tight|hurts|heavy|discomfort)",
        needs_personal=True,
    ),
    _r(
        "emergency.heart_attack_now",
        "emergency",
        "cardiac",
        r"\b(?:having|had|is having|'s having|might be having|think (?:i'm|i am|he's|she's|he is|"
        r"she is) having)\s+(?:a\s+)?heart attack\b"
        + _NOT_HISTORY
        + r"|\bcrushing (?:chest|pain)\b|"
        r"\belephant (?:sitting |standing )?on my chest\b|\bclutching (?:his|her|my) chest\b|"
        r"\bheart is racing\b.{0,40}\b(?:pass out|faint|200)\b|\bchest pain\b.{0,50}"
        r"\b(?:won't go away|not going away|for (?:an|over an|\d+) hours?|with rest|radiat\w*|"
        r"spreading)\b|\bpressure on my chest\b",
        needs_personal=True,
    ),
    _r(
        "emergency.stroke_signs",
        "emergency",
        "stroke",
        r"\b(?:face|mouth|smile|lip)\b.{0,20}\b(?:drooping|droops|drooped|droopy|crooked|uneven|"
        r"lopsided)\b|\bslurr(?:ed|ing)\b|\b(?:having|had|is having|'s having|might be having|"
        r"think (?:i'm|i am|he's|she's|he is|she is|my \w+ is) having)\s+a stroke\b"
        + _NOT_HISTORY
        + r"|"
        r"\bworst headache of (?:my|his|her) life\b|\bthunderclap headache\b|"
        r"\b(?:sudden(?:ly)?|all of a sudden)\b.{0,40}\b(?:weak|weakness|numb|numbness|"
        r"can't (?:move|lift|feel|speak|talk|see|walk|understand)|confus\w*|lost (?:vision|"
        r"sight)|loss of vision|double vision|garbled)\b|\bone side of (?:his|her|my|their) "
        r"(?:body|face)\b.{0,20}\b(?:weak|numb|heavy|droop\w*|limp)\b|\b(?:face|side|arm|leg)"
        r" (?:went|is|feels|has gone) (?:numb|limp|dead|heavy)\b",
        needs_personal=True,
    ),
    _r(
        "emergency.anaphylaxis",
        "emergency",
        "anaphylaxis",
        r"\bthroat\b.{0,20}\b(?:closing|swelling|swollen|tight|tightening|closing up)\b|"
        r"\b(?:tongue|lips?|face|eyes)\b.{0,20}\b(?:swelling|swollen|swell(?:s|ing)? up)\b.{0,60}"
        r"\b(?:breath\w*|wheez\w*|throat|swallow|faint|hives|sting|stung|ate|eating|allerg\w*|"
        r"after)\b|\banaphyla\w*\b|\b(?:used|gave|give|no|without|don't have)\b.{0,15}"
        r"\b(?:epipen|epi-pen|epinephrine|auto-?injector)\b.{0,40}\b(?:still|breath|wheez)|"
        r"\b(?:allergic reaction|allergy|hives|stung|sting)\b.{0,80}\b(?:can't breathe|"
        r"struggling to breathe|trouble breathing|wheez\w*|throat|lightheaded|faint|floppy|"
        r"hoarse|blood pressure)|\b(?:hives|swollen tongue|swelling)\b.{0,60}\b(?:trouble "
        r"breathing|vomiting|dizz\w*|wheez\w*)",
        needs_personal=True,
    ),
    _r(
        "emergency.child_ingestion",
        "emergency",
        "poisoning",
        r"\b(?:toddler|baby|child|kid|son|daughter|\d+[- ](?:year|yr|month)[- ]old|infant|"
        r"grand(?:son|daughter)|little one|boy|girl|children|kids|dog ate)\b[^.!?]{0,40}"
        r"\b(?:swallowed|ate|eaten|drank|drunk|got into|ingested|chewed|bit into|licked|"
        r"sucked on)\b[^.!?]{0,40}\b" + _SUBSTANCES + r"\b",
        negatable=False,
    ),
    _r(
        "emergency.accidental_ingestion",
        "emergency",
        "poisoning",
        r"\b(?:accidentally|by mistake|by accident|mistakenly|thought it was)\b[^.!?]{0,40}"
        r"\b(?:took|taken|drank|drunk|swallowed|ate|ingested|inhaled|double dose|twice)\b|"
        r"\b(?:took|taken|drank|swallowed|ate|ingested)\b[^.!?]{0,40}\b(?:by mistake|by accident|"
        r"accidentally|twice by mistake)\b|\b(?:drank|drunk|swallowed|ingested)\s+(?:some\s+)?"
        r"(?:bleach|antifreeze|anti-freeze|drain cleaner|lamp oil|gasoline|petrol|kerosene|"
        r"pesticide|weed ?killer|rat poison|cleaning \w+|detergent|paint thinner)\b|"
        r"\b(?:mixed|mixing)\s+bleach\s+(?:and|with)\b|\bcarbon monoxide (?:alarm|detector)\b|"
        r"\b(?:co|gas) (?:alarm|detector) (?:is )?(?:beeping|going off|sounding)\b|"
        r"\b(?:i|i've|we|he|she|they)\s+(?:think\s+)?(?:(?:i|we|he|she|they)\s+)?(?:ate|eaten)\s+"
        r"(?:some\s+)?poisonous\b|\b(?:i|we|he|she)\s+(?:think\s+(?:i|we|he|she)\s+)?"
        r"(?:was|were|have been|'ve been|got|has been)\s+poisoned\b|\b(?:spraying|sprayed|"
        r"using|used|inhaled|breathed in)\s+(?:\w+\s+)?(?:pesticide|insecticide|chemicals?|"
        r"fumes|weed ?killer)\b.{0,50}\b(?:drool\w*|vision|vomit\w*|dizz\w*|can't breathe|"
        r"cough\w*|faint)",
        negatable=False,
    ),
    _r(
        "emergency.breathing",
        "emergency",
        "breathing",
        r"\b(?:lips|face|skin|fingers|he|she|baby|child)\b.{0,20}\b(?:is |are )?"
        r"(?:turning |going )?"
        r"(?:blue|grey|gray)\b|\b(?:is|he's|she's|i'm|am|are|baby is|child is)\s+choking\b|"
        r"\bchoking on\b|\b(?:stopped|not|isn't|is not|wasn't|no longer|barely)\s+breathing\b|"
        r"\b(?:can't|cannot|can not|struggling to|unable to|hard to|trouble|difficulty)\s+"
        r"(?:breathe|breathing|catch (?:my|his|her|their) breath)\b(?!\s+through (?:my|his|her|"
        r"the) nose)(?=.{0,80}\b(?:blue|grey|gasp\w*|speak|talk|inhaler|ribs|chest|wheez\w*|"
        r"swell\w*|hives|faint|confus\w*|now|right now|help|panic|getting worse)\b)|"
        r"\binhaler (?:isn't|is not|isnt|not|doesn't|does not|didn't) (?:help|work)\w*\b|"
        r"\bgasping\b|\bwheezing so (?:hard|badly|much)\b|\bcan barely (?:talk|speak|"
        r"breathe)\b|\bsuffocating\b|\bbreathing (?:really |very )?fast\b.{0,60}\b(?:ribs|"
        r"pulling in|blue|grunt\w*)|\boxygen (?:level|saturation|sat|sats)\b.{0,20}\b[5-8]\d\b|"
        r"\binhaled (?:a|some|the) (?:peanut|nut|toy|coin|bead|piece|grape|popcorn)\b|"
        r"\bhigh-pitched (?:noise|sound)\b.{0,30}\bbreath|\bstridor\b|\bshort of breath\b"
        r".{0,60}\b(?:sudden\w*|swollen leg|chest|lips|can't speak|long flight)",
        needs_personal=True,
    ),
    _r(
        "emergency.unresponsive",
        "emergency",
        "unconscious",
        r"\b(?:unresponsive|not responding|isn't responding|won't wake(?: up)?|can't wake "
        r"(?:him|her|them|up|my)|not waking up|unconscious|no pulse|can't find a pulse|"
        r"collapsed|passed out and|keep (?:him|her|them) awake|limp and|not responsive|"
        r"won't respond|isn't responding|doesn't respond|not responding|"
        r"hasn't (?:come to|woken up)|won't stay awake)\b",
        negatable=False,
        needs_personal=True,
    ),
    _r(
        "emergency.seizure",
        "emergency",
        "seizure",
        r"\b(?:having|had|has|is having|'s having)\s+(?:a\s+)?seizure\b.{0,60}\b(?:minutes|won't "
        r"stop|not stopping|isn't stopping|first|not breathing|breathing|hit (?:his|her|my) head|"
        r"pregnant|still|again|another)\b|\bconvuls\w*\b|\bseizures?\b.{0,20}\b(?:won't|will not|"
        r"isn't|is not|doesn't) stop\b|\bone seizure after another\b|\bseizure\b.{0,40}"
        r"\b(?:\d+|five|ten) minutes\b|\bfirst seizure\b|\bjerking\b.{0,40}\beyes "
        r"(?:rolled|rolling)\b",
        needs_personal=True,
    ),
    _r(
        "emergency.bleeding",
        "emergency",
        "bleeding",
        r"\b(?:bleeding|blood)\b.{0,20}\b(?:won't|will not|doesn't|does not|isn't|can't|not)\s+"
        r"stop\w*\b|\bspurting\b|\bsoaking through\b|\b(?:vomiting|throwing up|coughing up|"
        r"spitting up)\s+blood\b|\bbleeding heavily\b|\bblack,? tarry\b",
        needs_personal=True,
    ),
    _r(
        "emergency.meningitis_signs",
        "emergency",
        "other",
        r"\bstiff neck\b.{0,60}\b(?:fever|rash|headache|vomit\w*|confus\w*)\b|"
        r"\b(?:fever|rash|headache)\b.{0,60}\bstiff neck\b|\brash\b.{0,30}\b(?:doesn't|does not|"
        r"won't) fade\b|\bpurple rash\b.{0,30}\bspread\w*\b",
        needs_personal=True,
    ),
    _r(
        "emergency.trauma",
        "emergency",
        "other",
        r"\b(?:car crash|car accident|hit by a (?:car|truck|bus)|fell (?:off|from) (?:a|the|my) "
        r"(?:ladder|roof|bike|horse|balcony|stairs|tree)|fall from)\b.{0,60}\b(?:hurts|dizz\w*|"
        r"won't move|can't (?:feel|move)|vomit\w*|pale|unconscious|bleeding|bent|confus\w*)|"
        r"\bhit (?:his|her|my|their) head\b.{0,60}\b(?:vomit\w*|confus\w*|drowsy|blood thinners|"
        r"unconscious|bad headache|seizure|won't wake)|\b(?:bent at a (?:weird|strange|odd) angle|"
        r"bone (?:is )?(?:sticking|poking) out)\b|\bcan't feel (?:my|his|her) legs\b|"
        r"\bburn(?:ed|t)\b.{0,60}\b(?:white|leathery|charred|whole (?:arm|leg|back|chest|face))\b",
        negatable=False,
        needs_personal=True,
    ),
    _r(
        "emergency.urgent_other",
        "emergency",
        "other",
        r"\b(?:\d+|one|two|three|four|five|six|seven|eight)[- ](?:weeks?|days?)[- ]old\b.{0,40}"
        r"\b(?:fever|temperature|temp)\b|\b(?:newborn|neonate)\b.{0,40}\b(?:fever|temperature)\b|"
        r"\bblood sugar\b.{0,40}\b(?:says hi|reads hi|is hi|over [4-9]\d\d|[4-9]\d\d|[1-4]\d)\b"
        r".{0,40}\b(?:vomit\w*|confus\w*|shaking|breathing fast|drowsy|won't wake)|"
        r"\bfever\b.{0,40}\bconfus\w*|\bconfus\w*\b.{0,40}\bfever\b|\bstopped sweating\b|"
        r"\bheat ?stroke\b|\b(?:sudden|severe)\b.{0,20}\bpain in (?:my|his) testicle|"
        r"\btesticle\b.{0,30}\b(?:sudden|severe)\b|\bpregnant\b.{0,60}\b(?:bleeding|severe "
        r"headache|blurred vision|one-sided|sharp (?:belly |abdominal )?pain|faint)\b|"
        r"\bbulging soft spot\b|\bspreading (?:fast|quickly)\b.{0,40}\bfever\b|"
        r"\b(?:cold,? pale|pale,? cold)\b|\bshivering uncontrollably\b|\bhypotherm\w*\b|"
        r"\b(?:severe|sharp|excruciating|worst)\s+(?:\w+\s+)?pain\b.{0,60}\b(?:fever|can't "
        r"stand|vomit\w*|faint|lower right)\b",
        negatable=False,
        needs_personal=True,
    ),
)

_CONTROLLED = (
    r"(?:oxy(?:codone|contin)?|opioids?|opiates?|adderall|xanax|valium|ozempic|wegovy|"
    r"antibiotics|fentanyl|ketamine|morphine|vicodin|hydrocodone|codeine|tramadol|percocet|"
    r"benzos|benzodiazepines|ritalin|vyvanse|steroids|anabolic steroids|testosterone|"
    r"modafinil|suboxone|methadone|gabapentin|lyrica|ambien|klonopin|dilaudid|"
    r"prescription (?:drugs|medications?|pills|opioids|painkillers)|painkillers)"
)

HARMFUL_RULES: tuple[_Rule, ...] = (
    _r(
        "harmful.no_prescription",
        "harmful",
        "law",
        r"\b(?:get|buy|obtain|order|score|purchase|sell|resell|source|acquire|getting|buying)\b"
        r"[^.!?]{0,40}\b" + _CONTROLLED + r"\b[^.!?]{0,40}\bwithout (?:a |any )?(?:prescription|"
        r"rx|doctor|script)\b|\b(?:from|see|visit) (?:multiple|several|different) doctors\b"
        r".{0,40}\b(?:without|noticing|more)\b|\bdoctor shopping\b",
    ),
    _r(
        "harmful.forgery",
        "harmful",
        "honesty",
        r"\b(?:forge|forging|fake|faking|falsify|falsifying|fabricate|fabricating|backdate|"
        r"counterfeit)\b[^.!?]{0,30}\b(?:note|prescriptions?|records?|charts?|results?|data|"
        r"reports?|tests?|signatures?|certificates?|documentation|trial|study|findings|reviews?|"
        r"letters?|exemptions?|licen[cs]es?|diploma|insulin|pens|drugs|medications?|pills)\b",
    ),
    _r(
        "harmful.evade_detection",
        "harmful",
        "law",
        r"\b(?:pass|beat|cheat|fool|trick|tamper with)\b[^.!?]{0,20}\b(?:drug (?:test|screen)|"
        r"urine (?:test|sample)|tox(?:icology)? screen|breathalyzer)\b|"
        r"\b(?:without|avoid|evade|evading|bypass|get around|not)\s+(?:getting\s+)?"
        r"(?:caught|detected|detection|noticed|them noticing|anyone (?:knowing|noticing)|"
        r"reporting (?:it|this|the|a))\b",
        needs_personal=True,
    ),
    _r(
        "harmful.synthesis",
        "harmful",
        "general",
        r"\b(?:make|making|cook|cooking|synthesi[sz]e|produce|manufacture|brew|extract|grow)\b"
        r"[^.!?]{0,25}\b(?:meth|methamphetamine|fentanyl|heroin|cocaine|crack|lsd|mdma|ricin|"
        r"sarin|nerve agent|anthrax|botulinum|mustard gas|chlorine gas|toxic gas|poison gas|"
        r"cyanide)\b",
        needs_personal=True,
    ),
    _r(
        "harmful.covert_drugging",
        "harmful",
        "general",
        r"\b(?:put|slip|add|mix|crush|spike|sneak)\w*\b[^.!?]{0,40}\b(?:in|into)\b[^.!?]{0,25}"
        r"\b(?:drink|food|coffee|tea|meal|juice|bottle|dinner|soup)\b[^.!?]{0,60}"
        r"\b(?:without|so (?:he|she|they) (?:doesn't|don't|won't)|not (?:know|notice)|secretly)|"
        r"\bwithout (?:him|her|them) (?:knowing|noticing)\b",
    ),
    _r(
        "harmful.violence",
        "harmful",
        "general",
        r"\b" + _REQUEST + r"\b.{0,40}\b(?:firebomb|detonate|kidnap\w*|abduct\w*|take "
        r"(?:\w+\s+){1,3}hostage|traffic (?:people|humans|children|women)|dispose of (?:a|the|"
        r"my)? ?(?:dead )?(?:body|corpse|dead baby)|chop up (?:a|the) (?:dead )?(?:body|corpse)|"
        r"massacre|genocide|ethnic "
        r"cleansing|terror(?:ist)? attack|mass shooting)\b|\b" + _REQUEST + r"\b.{0,40}"
        r"\b(?:someone|somebody|a person|people|a human|human|my \w+)(?:'s|s')?\s+(?:skull|face|"
        r"head|neck|spine|legs?|arms?|kidneys?|ribs|teeth|eyes?|throat|car|house|home|motorbike|"
        r"bike)\b.{0,20}\b(?:in|off|break|crush|smash|shatter|rupture|burn|explode|destroy)\w*|"
        r"\b(?:smash|crush|shatter|break|crack|cave) (?:in )?(?:someone|somebody|a person|"
        r"people|a human|human|my \w+)(?:'s|s')?\s+(?:skull|face|head|neck|spine|legs?|arms?|"
        r"kidneys?|ribs|teeth|car|motorbike|house)\b|\b" + _REQUEST + r"\b.{0,30}\b(?:blow up|"
        r"destroy|smash|burn|bomb|set fire to|attack) (?:a|the|my \w+'s|someone's) (?:hospital|"
        r"school|house|car|building|church|mosque|synagogue|temple|stadium|concert|clinic|"
        r"pharmacy|city|village|army base|base)\b|\bset (?:a|the|my [\w\s]{1,20}'s|someone's) "
        r"(?:hospital|school|house|car|building|church|mosque|synagogue|temple|clinic|pharmacy)"
        r" on fire\b|\b(?:destroy|demolish|wreck|trash|torch|burn down)\w*\s+(?:my|someone's)\s+"
        r"(?:[\w-]+\s+){0,2}?[\w-]+'s\s+(?:house|home|car|motorbike|bike|office|shop|life)\b|"
        r"\b(?:people|someone|somebody|a person|humans?) to (?:shoot|kill|stab|hurt|attack|rob|"
        r"kidnap)\b",
    ),
    _r(
        "harmful.crime",
        "harmful",
        "general",
        r"\b(?:commit|committing|get away with|plan(?:ning)?|pull off|carry out)\s+(?:an?\s+)?"
        r"(?:armed robbery|robbery|murder|assault|violent assault|arson|rape|kidnapping|fraud|"
        r"identity theft|treason|terrorism|massacre|burglary|genocide|hate crime|insurance fraud|"
        r"medicare fraud|medicaid fraud|tax fraud|bank account fraud|assassination)\b",
        needs_personal=True,
    ),
    _r(
        "harmful.illegal_drugs",
        "harmful",
        "general",
        r"\b(?:buy|sell|get(?:ting)?|score|find|grow|make|cook|deal|smuggle|order)\s+(?:some\s+|"
        r"a (?:gram|bag|ounce|kilo|brick|pound|dime bag) of\s+|an? eighth of\s+)?(?:weed|"
        r"marijuana|marihuana|cannabis|cocaine|coke|meth|crystal meth|crack|heroin|ecstasy|mdma|"
        r"molly|lsd|acid tabs|fentanyl|shrooms|magic mushrooms|ketamine|pcp|dmt|"
        r"ecstasy pills)\b(?!.{0,40}\b(?:legal(?:ly)?|prescription|medical|dispensary|"
        r"clinical trial)\b)",
    ),
    _r(
        "harmful.third_party_data",
        "harmful",
        "privacy",
        r"\b(?:my (?!own\b)[\w-]+(?: [\w-]+)?'s?|someone's|somebody's|other people's|"
        r"another person's|a stranger's|people's|celebrities'|a celebrity's|my \w+ \w+'s)\s+"
        r"(?:(?:private|personal|home|mobile|cell|private email|medical|psychiatric|health|"
        r"mental health|criminal|sexual|tax|bank|credit card|immigration|political|religious|"
        r"marital)\s+)?(?:social security number|ssn|address|home address|phone number|"
        r"mobile (?:phone )?number|email(?: address)?|passwords?|pin|login|medical records?|"
        r"psychiatric (?:notes|records)|test results|lab results|diagnosis|hiv status|"
        r"mental health history|criminal history|criminal record|tax records?|bank account "
        r"(?:details|number)|credit card (?:details|number)|immigration status|sexual "
        r"orientation|religious beliefs|political affiliation|passport number|driver's "
        r"licen[cs]e number|browsing history|date of birth|salary|medications?)\b"
        r"(?!.{0,40}\b(?:with (?:his|her|their) (?:permission|consent)|as (?:his|her|their) "
        r"(?:caregiver|guardian|proxy|power of attorney|parent)|for (?:him|her|them))\b)",
        needs_personal=True,
    ),
    _r(
        "harmful.discrimination",
        "harmful",
        "general",
        r"\b(?:why (?:should|would it be|is it best|is it right|is it good)|reasons? why|why is it "
        r"(?:best|right|good|better)|explain why)\b.{0,25}\b(?:women|men|gay people|gays|lesbians|"
        r"trans(?:gender)? people|non-binary people|jews|jewish people|muslims|christians|hindus|"
        r"buddhists|sikhs|atheists|black people|white people|asian people|asians|latinos|"
        r"hispanics|immigrants|refugees|roma(?: people)?|indigenous people|disabled people|"
        r"people with disabilities|elderly people|old people|the elderly|homeless people|"
        r"poor people|people on benefits|fat people|obese people|divorced people|"
        r"asexual people|bisexual people|pregnant women|mentally ill people|"
        r"people with (?:hiv|aids|autism|mental illness))\b.{0,40}\b(?:should(?:n't| not| never)?"
        r"|be (?:barred|denied|banned|excluded|kicked|discriminated|segregated)|not (?:be allowed|"
        r"have|get)|less|inferior|weaker|overrepresented|took away|take away)\b",
    ),
    _r(
        "harmful.without_consent",
        "harmful",
        "privacy",
        r"\b" + _REQUEST + r"\b.{0,80}\bwithout (?:(?:their|the|his|her|my|patients'?|a|"
        r"the patient's|informed|proper|parental)\s+)*(?:consent|knowledge|permission|"
        r"authori[sz]ation|approval|asking (?:them|him|her))\b",
    ),
)


_SAFE_CONTEXT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "safe.figurative",
        re.compile(
            r"\b(?:is|are|'s|'re|was|were|been)\s+(?:\w+\s+)?killing (?:me|my \w+|us)\b|"
            r"\bkill(?:ing|ed)? (?:time|the lights?|it\b|the mood|the vibe)|\bkilled it\b|"
            r"\bkilling it\b|\b(?:dying|die) (?:to|for) (?:know|try|see|get|meet|hear|go|a|an|"
            r"some)\b|\b(?:die|died|dying) (?:of|from) (?:laughter|laughing|embarrassment|"
            r"boredom|cuteness|shame)\b|\b(?:nearly|almost|could|i'll) (?:die|died) laughing\b|"
            r"\bdead (?:tired|battery|serious|end|ringer|heat|weight|lift|lifts)\b|"
            r"\b(?:battery|phone|laptop) (?:is|was|went|'s) dead\b|\bkiller (?:whales?|app|"
            r"deal|sunburn|headache|workout|t[- ]cells?|cells?|bees?|instinct|heels|smile)\b|"
            r"\bcould murder (?:a|an|some)\b|\bdeath of me\b|\bbomb(?:ed|ing)? (?:the|my|a|his|"
            r"her|their) (?:test|exam|interview|presentation|audition|spelling|driving)|"
            r"\bto die for\b|\bdie (?:my|your|her|his) hair\b|\bso tired i could die\b|"
            r"\b(?:i'll|i will|you'll|she'll|he'll|mom will|dad will) kill (?:me|you)\b"
            r"(?=.{0,30}\b(?:if|when|for)\b)|\bshot up\b.{0,20}\b(?:inches|cm|centimet|tall)\b|"
            r"\bbreak a leg\b|\b(?:knock|knocked) (?:out|it out of the park)\b(?=.{0,20}"
            r"\b(?:cold|flu|workout|exam)\b)"
        ),
    ),
    (
        "safe.nonhuman_target",
        re.compile(
            r"\b(?:kill|killing|kills|killed|terminate|terminating|execute|executing|shoot|"
            r"shooting|stab|stabbing|destroy|destroying|eliminate|eliminating|exterminate|"
            r"annihilate|crush|crushing|smash|smashing|beat|beating|attack|attacking|cut|"
            r"cutting|poison|poisoning|strangle|choke|hang|hanging|blow up|murder|butcher|"
            r"butchering|gut|gutting|euthani[sz]e|fight|fighting|knock out|crack)\w*\s+"
            r"(?:(?:a|an|the|my|this|that|some|all|off|out|these|those|your|down|up|any|every|"
            r"our|his|her|their)\s+)?(?:[\w'-]+\s+){0,2}?" + _NONHUMAN_TARGET + r"\b"
        ),
    ),
    (
        "safe.fiction_or_game",
        re.compile(
            r"\b(?:in|for|playing|on|within|from|during)\s+(?:a |an |my |the |our |this |his |"
            r"her )?(?:video ?games?|games?|novels?|books?|stor(?:y|ies)|short story|"
            r"screenplay|scripts?|films?|movies?|tv shows?|shows?|plays?|comics?|fan ?fiction|"
            r"role ?play|d&d|dungeons|chess|checkers|boxing|judo|karate|mma|wrestling|fencing|"
            r"paintball|laser tag|football|soccer|basketball|baseball|tennis|hockey|rugby|"
            r"shooting range|simulation|drill|call of duty|minecraft|gta|fortnite|"
            r"counter[- ]strike|battlefield|the witcher|skyrim|halo|overwatch|"
            r"league of legends|among us|mortal kombat|poker|monopoly|a match|the match)\b|"
            r"\b(?:character|characters|villain|hero|protagonist|plot|fictional|novelist|"
            r"screenwriter|my novel|my story|the film|the movie|the series)\b"
        ),
    ),
    (
        "safe.historical",
        re.compile(
            r"^(?:what happened (?:to|in|during|on|at)|how (?:did|were|was) [\w\s'.-]{1,40}?"
            r"(?:die|killed|treated|discriminated|murdered|assassinated|attack|start)|"
            r"why did [\w\s'.-]{1,40}? (?:kill|attack|invade|start|do)|what were the|"
            r"what was the (?:impact|scale|effect|cause)|what (?:weapons?|kind of bomb|bombs?) "
            r"killed)\b"
        ),
    ),
    (
        "safe.definition",
        re.compile(
            r"^(?:what (?:is|are|was) (?:a |an |the )?(?:definition of |meaning of |legal "
            r"definition of |general definition of )?(?!.*\b(?:my|your|his|her|their|our|"
            r"someone's|somebody's|people's|way|ways|plan|best|good|easiest|method|how|should|"
            r"can|could)\b)(?:[\w'-]+\s?){1,6}\??$|what does [\"']?.{1,40}[\"']? mean\??$|"
            r"what (?:kind|type|sort) of (?:a )?(?:drug|substance|crime|thing) is "
            r"[\w\s-]{1,20}\??$|"
            r"what constitutes [\w\s-]{1,30}\??$|define [\w\s-]{1,30}\??$)"
        ),
    ),
    (
        "safe.safety_seeking",
        re.compile(
            r"\b(?:how (?:do|should|can) (?:i|we) (?:store|lock|dispose of|get rid of|keep)|"
            r"childproof\w*|out of (?:the )?reach|lock (?:up|away)|safe storage|store \w+ "
            r"safely|dispose of \w+ (?:safely|properly))\b"
        ),
    ),
    (
        "safe.mild",
        re.compile(
            r"\b(?:mild|slight|small|minor|a bit of a|a little|low|low-grade|tiny)\s+(?:\w+\s+)?"
            r"(?:fever|temperature|cough|sore throat|headache|bruise|rash|cut|burn|pain|ache|"
            r"swelling|bleeding|nosebleed|wheeze)\b|\bstill (?:playing|eating|drinking|active|"
            r"happy)\b|\b(?:playing|eating|feeding|acting|sleeping|behaving) (?:normally|"
            r"well|fine|normal)\b|\bno fever\b|"
            r"\b(?:a bit|a little|slightly) (?:swollen|sore|red|itchy)\b|"
            r"\bbut (?:it's|it is|i'm|i am|he's|she's|they're) (?:fine|ok|okay|alright|good)\b"
        ),
    ),
)
_ACCIDENTAL_RE = re.compile(
    r"\b(?:by accident|accidentally|by mistake|shaving|cooking|while (?:cooking|chopping|"
    r"shaving|playing|working|running|gardening|lifting)|on (?:a|the|my) (?:stove|oven|pan|"
    r"iron|kettle|grill|knife|glass|nail|fence)|at the gym|lifting weights|when i (?:fell|"
    r"slipped|tripped)|playing (?:\w+ )?(?:sports?|football|soccer|tennis|basketball|"
    r"volleyball|rugby|hockey)|(?:hit|bumped|banged|knocked|stubbed|scraped|twisted|sprained|"
    r"burned|burnt|scalded|cut|sliced|nicked|"
    r"jammed|pinched|caught)\s+(?:my|his|her|their)\s+\w+\s+(?:on|against|in|at|while)\s+"
    r"(?:a|an|the|my|his|her)\b)\b"
)


_SPECIFIC_PERSON_RE = re.compile(
    r"\b(?:i|i'm|im|i've|i'd|i'll|me|my|myself|he|she|he's|she's|his|him|her|herself|himself)\b"
)
_GENERIC_PERSON_RULES = {"crisis.suicidal", "crisis.self_harm_words", "crisis.kill_self_other"}


def _personal(norm: str) -> bool:
    return _PERSONAL_RE.search(norm) is not None


def match_rules(text: str) -> RuleReport:
    """Run every rule on ``text``; the report lists hits, negated rules and safe contexts."""
    norm = normalise_text(text)
    hits: list[RuleHit] = []
    negated: list[str] = []
    personal = _personal(norm)
    specific = _SPECIFIC_PERSON_RE.search(norm) is not None
    present = _PRESENT_SITUATION_RE.search(norm) is not None
    informational = _INFORMATIONAL_RE.search(norm) is not None and not present
    asks_information = _INFORMATIONAL_CLAUSE_RE.search(norm) is not None and not present
    for rule in (*CRISIS_RULES, *EMERGENCY_RULES, *HARMFUL_RULES):
        if rule.needs_personal and not personal:
            continue
        if rule.category == "emergency" and informational:
            continue
        if rule.rule in _GENERIC_PERSON_RULES and informational and not specific:
            continue
        fired = False
        was_negated = False
        for match in rule.pattern.finditer(norm):
            if rule.negatable and _negated(norm, match.start()):
                was_negated = True
                continue
            fired = True
            break
        if fired:
            hits.append(RuleHit(rule.category, rule.subtype, rule.rule))
        elif was_negated:
            negated.append(rule.rule)
    safe = [name for name, pattern in _SAFE_CONTEXT_RULES if pattern.search(norm)]
    if _ACCIDENTAL_RE.search(norm) and not re.search(r"on purpose|deliberately", norm):
        safe.append("safe.accidental")
    hits = _resolve(hits, safe, norm)
    return RuleReport(
        hits=tuple(hits),
        negated=tuple(negated),
        safe_contexts=tuple(safe),
        informational=informational,
        asks_information=asks_information,
    )


def _resolve(hits: list[RuleHit], safe: list[str], norm: str) -> list[RuleHit]:
    """Drop hits that a safe context explains away.

    A violent phrase aimed at a thing ("kill a process"), set in a game, film or sport, or
    figurative ("killing me") is not a threat; an accidental ingestion is an emergency, not
    an overdose crisis.
    """
    out: list[RuleHit] = []
    for hit in hits:
        if hit.rule == "crisis.harm_others_intent" and (
            "safe.fiction_or_game" in safe
            or "safe.figurative" in safe
            or "safe.nonhuman_target" in safe
        ):
            continue
        if hit.rule in {"crisis.kill_self", "crisis.suicidal", "crisis.method_seeking"} and (
            "safe.fiction_or_game" in safe and not re.search(r"\b(?:i|i'm|me|my)\b", norm)
        ):
            continue
        if (
            hit.rule in {"crisis.took_many", "crisis.lethal_dose"}
            and "safe.accidental" in safe
            and any(h.subtype == "poisoning" for h in hits)
        ):
            continue
        out.append(hit)
    return out
