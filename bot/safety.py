"""Red-flag detection: phrases from red_flags.yaml found in a message, typos and order forgiven."""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Final

from bot.likeness import UrgencyModel
from bot.matching import Normaliser, stem, tokenize, words
from bot.schema import RedFlagsFile


def _stem_set(text: str) -> frozenset[str]:
    """The stems of the space-separated words in ``text``, as the check reads a message's."""
    return frozenset(stem(w) for w in words(text))


# Everyday English words that the typo corrector would turn into a red-flag word, each one
# word from a knowledge word ("leaving" -> "leaking", "meeting" -> "melting", "weed" -> "wee",
# "consultant" -> "constant", "steady" -> "unsteady", "abnormal" -> "normal"). The red-flag
# check leaves them as they are. Found by running an English word list through the corrector
# and keeping the common words; not the few that are as likely a red-flag word misspelt or
# said another way ("loosing", "huts", "chem", "upstairs", "biker", "stinging"), nor
# "landing", whose own stem is "landed"'s. Rebuild it when red-flag words are added.
_EVERYDAY: Final = frozenset(
    words(
        """
    unintended unintentional unintentionally
    abnormal abnormally aboard accent accents accidental ace aces achilles acknowledge action
    admiration ads aged ahead airy alas ale alike ally aloft along amir amp anew angled
    angling anon ant ants apart ape apes applies arches ardent arena arise ark arm arose
    arresting art arts aside ass assn asteroid asteroids ate atop awaken backing bah baked
    bald bang banging bangs banjo banking bard barking barrister based bass bat batch
    batches beach bead beads beast beating beatings becoming bends bets betting billing bin
    bisexual black blacked blacks blast blasted blasting bleak bled bless blot blow boa boar
    boasting bond bonded boner boost boosted booth boring borne bot bounded bouts bowed
    bowling bows boy brad brag bragging braking bran brat bray breaking bred bridging brig
    bring brings broad broker broth brushed buds bump buns bunting burying bush bust busy
    butte buys bypassing cable cache cages cal calif calling cameo canister cans carbs carp
    carrier carts cash cashed catches catering cease ceases cellars chad chained chant
    chanting char charged charger charges charging charmed charred chatting chilli chilly
    chipped chipping chit choking chopper chow clapped clapping clashed clean cleaned
    cleaners cleaning cleanser cleansing clearer clearest clerical clipper close closing
    clot coaching cock cod col collusion combing comet comets comfortably commodore cones
    constraint consultant contestant continent continents contingency contingent cooling
    cooperation cop copper coroner cram crammed cray creating creation crescent crest crock
    crooked cropped cropping crow crumble crumbling cuff cuffs cult cunning cunt cups curt
    cute czar dam debating decrees dedication defer defy deny deposition depressing
    detention deter dice dinner dipping directing dive diverting dollars don donut dot dread
    dressing dripping drive drone drove drown dug duped duress ear earning eased east eats
    edged editing eds eel eels eight ejection election emission emissions emotion emotions
    enacting enduring enrolled enrolling entangled enticing eradication erase escalation
    escaping eternally ether eve event exchange exchanged exchanges exchanging explained
    exposition expressing fable fail failing fair fear feasible feat fend fibre fighter
    filling fitting flapping flashes fleet flew fling flipped flipping float flood floods
    floss flour flowed flux follower fond foo fooling ford fore fork formally fort founded
    fraction fray freeing fro frosting fueling fund fur gage gall gap gaps gardener gasping
    genitalia gent gents given gliding gloss goat gong gout govt gown graduation gram grange
    grape grapes grasping grave gray grieving grin gripped gripping grounded gunning hacking
    hair hallways hanged hash hatches hatching haven hawking hays head heard heather hedge
    heron highs hill hills hilly hint hitting hoard hoe holding holed howl howling humbled
    hunting hurling iced importance imposition impressing improper improperly incoming
    indifference indifferent infectious inference informal informally initiate injection
    injections inmate inning ins insensitive insider insiders insights inspecting inspection
    instantly int intimidate intro issuing kicker kinda kissing knew knight knights
    knowingly known lacking lad lags lair lap laps lash lashing lass lat latex latte laws
    lay leach leading leaping learned learning leases leasing least leather leaving ledge
    legalizing legions lend lends lent lessons lest letting lever lied lien lies lieu
    lighted lighten lightening lime linen liner lips listener listing lit lite literally
    live lock loco log logo lone loner loom loop loot looting loser lotus loved lover maker
    makers mall mallet manning marching marking markings mas mash mashed masking masks
    matches matching matte meats mediation meditation meeting meetings melts men messing
    mice milling missing mission misused moaning moderation modules mold molding moved mover
    movers movie movies munch murderer nagging neat needless neither neon nesting netting
    newt nightlife nit noon notation note noting noun oft oiled oncoming operating
    operational opposition orally orange ordinary ordination organism ounce ours overt owls
    paced packaged packaging page pages paid pair panicked panicking pans par parent parking
    pas passing passion pat path pats peach peaches peaking pear peat peek peel peeling peep
    peer pens pension perception perfection permission pest petite petting phony picking
    pickled pies pigs pine pines ping pink pinning pinto pitches plain plantation plants
    plate plating plot plots plotted plump plush poaching poet pol polling polo pond ponds
    pooh pooping pop ports positional pot potion pots pounded powder praise praised praises
    pres pressuring prick primate primates probes processing propel property propped prosper
    pruning pups purge pus quit racking radiate radiated radiates radiating rag rage rages
    ragged raging rail railways rain raising ramp ranger ranging rank rant raping rash
    rating ration reaching reacting reaction reactor reading realism realist recycling
    reeling regional relating relation relied religion religions removing rent renting
    resembling resisting resorting restarted restoring restrain restrained restraining
    resulting revere revered reverend reverted reworked rig rigorous rigs ringing ripped
    ripping rise rises roam robbery robbing rod rooting rotate rotating rounder rout rover
    ruby rug rugs ruin ruining ruins rune rushed sacking sad sag sage sales sand sans sash
    saying sayings scant scar scars scattering scrambling scratching scrolling sea seas
    seating send sends sensational setting seven sexy shading shaft shalt shame shaming
    shaping shard sharing sharpening shattering shave shingles shining shipped shitting
    shoot shooter shopped short shout show shows shred sided siding sill silvery sim sing
    sinking sinner sins sipping situ sizes ski skill skipped skipping skit slapped slashed
    slate slicing slider slipper slit slotted smacking smeared smoking smuggling smurf
    snapping snappy snickers snowing soaking soaring sociologist sounded spanning spar
    spared sparked speeding spit spitting splash splitting spoiled spout squad stable
    stacked staffed staging stain stained staining stains stared staring starling starred
    starring stars starter starters startled startling startups starved starving stat stated
    stating stats steady steam steep stepped stiles stings stitches stomp stoner stopper
    straits strand stranded strands strangled stray streamer streaming striped stripped
    stripping stroking strolling struck stuffing stuffy styling supporter surging sustaining
    swallow swapping swarm swat swaying swearing sweater sweaters sweeping swinging swipe
    sword swords systemic table tag tail tale tame tart tax taxis teaching team tease tee
    temperate tempo tempt tend tended tends testers testing thee thinker thorough though
    thought threatens throw throwing thy tickled ties timer timers tin ting tint tipping
    tissues titles tone tones tool tools topped tops torches touring tout town tracked
    traction tradition traditions trailed trains traitor tram trap trapping trashed tray
    treason treating trip tripled trips troll trolling trough troy tuck tumbled tumbling
    turned turning tweak tweeting twinkle tying ump unbeatable unbreakable unbroken
    unchanged uncomfortable uncontrolled underwater unfolding unite unlikely unnoticed
    unstable untouched upbringing upcoming upholding uplifting upstream urged vaginal vain
    vane variant varies vary venting versed vetting vice wage wages waiter waive waning
    warming warring wary watcher watches watching waved wavy weaknesses wealthier wearing
    weave wedge weed weeding weeds weep weeping weighs welding wen wept whaling whatsoever
    wheel wheeled wheeling wheels whipping whit width wildly willing winner witch witches
    woe won woo wording wore world worlds worsen wounded wrestling zone zones
    """
    )
    + words(
        # Rebuilt for the words of the 2026-11 rules (sizes, shunted, leaves, counter, pitch,
        # election, upright, bulked, door frame, app, server, hearing, reading): "hunted" is
        # not "shunted", "itch" not "pitch", "crushing" not "crashing".
        """
    ascending baulked baulking bulkhead bunking cleaves counted country coup cusp
    deflection deletion donor dram eaves electing electron encounter fame framer haunted
    hulking hunted itch leavens nowise odor olfactory pith ream reelection reflection
    seconding seizes selection selections sensing shouted shunned spend spending strayed
    stunted sulking uptight
    bearing breading browner browse browsed browses cashing clashing creasing crushing
    dreading earring evading gamed gamer gearing grading haring harking harming harping
    heading heaping herding herring nearing observer raiding rearing redoing regarding
    reloading remanding retarding rewarding searing serer serve sever shearing tearing
    threading trading trashing treading treadling witching brain drain grain calking
    stalking stalkings tabling tailing confections infractions inspections
    """
    )
)
# Dialect and spoken spellings read as the plain word before typo correction, so "a cannae
# feel masel" is "I can't feel myself" and "aff the roof" is "off the roof". A value of two
# words keeps both readings of an ambiguous misspelling: "fel" is "feel" or "fell".
_DIALECT: Final = {
    **dict.fromkeys(words("cannae canna cyaan kyaan caan kaint cain"), "cant"),
    **dict.fromkeys(words("couldnae cudnae"), "couldnt"),
    **dict.fromkeys(words("dinnae dinna dinny"), "dont"),
    **dict.fromkeys(words("didnae didny"), "didnt"),
    **dict.fromkeys(words("isnae isny"), "isnt"),
    **dict.fromkeys(words("wasnae wasny"), "wasnt"),
    **dict.fromkeys(words("winnae wullnae"), "wont"),
    **dict.fromkeys(words("masel maself mahself meself miself"), "myself"),
    **dict.fromkeys(words("nutten nuttin nuthin nothin nowt"), "nothing"),
    **dict.fromkeys(words("nae"), "no"),
    **dict.fromkeys(words("aff"), "off"),
    **dict.fromkeys(words("ower"), "over"),
    **dict.fromkeys(words("doon"), "down"),
    **dict.fromkeys(words("oot"), "out"),
    **dict.fromkeys(words("o"), "of"),
    **dict.fromkeys(words("fel"), "feel fell"),
    **dict.fromkeys(words("gaun gawn"), "going"),
    **dict.fromkeys(words("sair"), "sore"),
    **dict.fromkeys(words("stane stanes"), "stone"),
    **dict.fromkeys(words("wata"), "water"),
    **dict.fromkeys(words("hol"), "hold"),
    # Jamaican: "mi cyaan feel nutten pon di toilet".
    **dict.fromkeys(words("mi"), "my"),
    **dict.fromkeys(words("di"), "the"),
    **dict.fromkeys(words("pon"), "on"),
    # Words whose stem is a common word: "butt" would be "but", "willy" "will".
    **dict.fromkeys(words("butt butts"), "buttocks"),
    **dict.fromkeys(words("willy willie willies"), "penis"),
}
# "my bits" are the genitals ("lady bits", "his bits"), not "bits of paper" or "bits and bobs".
_BITS_OWNER: Final = frozenset(words("my his her their your lady man"))
_BITS_NOT: Final = frozenset(words("of and"))
# "wee" is Scots for small before these words ("a wee bit stiff"), not a word for urine.
_WEE_SMALL: Final = frozenset(
    words(
        "bit bitty while walk minute min touch one ones lad lass boy girl man bairn dram thing yin"
    )
)
# Other senses of a red-flag word, told by the word next to it and read as a plain word:
# "a bowel of soup" (or "a bowl of", which typo correction would make "bowel") is a dish,
# "constantly worried" is often (worry, not constant pain), a "batting collapse" or a
# "market collapse" is no one falling, and "a stone's throw" is near, not a weight. Not a
# roof or a building: "the roof collapsed on me" is an injury.
_BOWL_BEFORE: Final = frozenset(words("a an one two three big huge small whole another second"))
_WORRY: Final = frozenset(
    words(
        "worried worry worrying worries anxious scared afraid terrified paranoid nervous "
        "stressed fretting panicking thinking checking"
    )
)
_COLLAPSE: Final = frozenset(words("collapse collapsed collapses"))
_COLLAPSE_NOT_BODY: Final = frozenset(
    words(
        "batting order innings market markets stock stocks economic economy currency price "
        "prices talks deal government empire pound share shares"
    )
)
# Numbness from sitting on something, gone as soon as the writer gets up ("my bum went numb
# on the saddle, fine as soon as I got off"; "a dead leg from sitting cross-legged, it woke up
# fine"), and legs like jelly after a race or a climb: pressure and tired muscles, not a
# nerve in trouble. Both the cause and the relief must be in the sentence, and the symptom
# may use only these words: never a bladder, bowel, groin or weakness word, "can't" or "both".
_PASSING_WORDS: Final = _stem_set(
    "numb numbness tingling tingly pins needles dead asleep jelly wobbly shaky bum "
    "bottom buttock buttocks backside bums leg legs foot feet toes thigh thighs went gone "
    "goes go gets got getting feel feels felt always totally completely like on in from "
    "after when during sit sitting sat bike bicycle"
)
# "on the saddle", "in the saddle": the seat sat on, not "saddle numbness".
_ON: Final = frozenset(words("on in off"))
_FATIGUE_WORDS: Final = _stem_set("jelly wobbly shaky")
# The cause (something sat on or worn tight) and the relief (on getting up or off, walking,
# loosening; "went away after a minute"; a dead leg that "woke up fine").
_PRESSURE: Final = re.compile(
    r"\b(?:sit|sits|sitting|sat|seat|seats|seated|saddle|chairs?|bleachers|bench|benches"
    r"|flights?|plane|cross[\s-]*legged|boots?|shoes|kneeling|knelt|squatting"
    r"|driv\w*|journey|car|train|bus|coach|ride)\b",
    re.IGNORECASE,
)
_RELIEVED: Final = re.compile(
    r"\b(?:fine|gone|go(?:es)? away|went away|wears? off|wore off|passe[sd]|back to normal)\b"
    r"[^.!?]{0,25}?\b(?:once|as soon as|soon as|when|after)\b[^.!?]{0,20}?"
    r"\b(?:st[ao]od|stand(?:ing)?|g[eo]t(?:ting)?\s+(?:up|off|out)|walk(?:ed|ing)?"
    r"|mov(?:e|ed|ing)|loosen(?:ed)?|shift(?:ed)?|stretch(?:ed)?|a (?:minute|min|few|second|sec"
    r"|moment)|minutes|seconds)\b"
    r"|\bwoke (?:back )?up fine\b",
    re.IGNORECASE,
)
# Relief denied just before it: "it doesn't go away when I stand", "still not gone when I walk".
_DENIED: Final = re.compile(
    r"(?:\bnot?|n[’']?t|\bnever|\bstill|\bhardly|\bbarely|\bwithout)\W+(?:\w+\W+)?$",
    re.IGNORECASE,
)
# Numbness that lasts or keeps coming back is no passing pressure, even if standing eases it:
# "numb bum since Monday, fine once I stand up but it comes back when I sit".
_LASTING: Final = re.compile(
    r"\b(?:since|days?|weeks?|months?|comes back|keeps|getting worse|worse|spreading)\b",
    re.IGNORECASE,
)
# Legs like jelly "after" a race, a climb, a class or a session.
_EXERTION: Final = re.compile(
    r"\bafter\b[^.!?]{0,30}?\b(?:climb\w*|marathon|10k|5k|run|running|race|hike|hiking"
    r"|spin|class|gym|workout|leg day|squats?|training|session|ride|cycling|sportive|match"
    r"|game|swim)\b",
    re.IGNORECASE,
)
# Waking up stiff ("I wake up with a stiff neck most days") is morning stiffness, not pain
# that wakes the writer: a night-pain match made only of sleeping and waking words is set
# aside when its sentence says so and names no pain ("I wake up stiff and the pain wakes me
# every night" names it, and stays).
_STIFF_WAKING: Final = re.compile(
    r"\b(?:wake|wakes|woke|waking|get|gets|got|getting)\s+up\s+(?:with\s+(?:an?\s+)?)?"
    r"(?:(?:really|very|so|quite|a\s+bit|bit)\s+)?(?:stiff|crick)",
    re.IGNORECASE,
)
_PAIN_SAID: Final = re.compile(
    r"\b(?:pain\w*|hurt\w*|ach\w*|agony|sore\w*|throb\w*|scream\w*|killing|murder\w*"
    r"|excruciating|unbearable|constant\w*|small hours)\b",
    re.IGNORECASE,
)
_WAKING_WORDS: Final = _stem_set(
    "sleep slept sleeping asleep bed night nights wake wakes woke woken waking up"
)
# A fall from standing in sport or play by a young adult who says it only bruised them ("fell
# over playing 5-a-side, I'm 23, just a bit bruised") is no major injury: NICE names
# significant trauma, or minor trauma only over 50 or with weak bones. Only when the match
# is such a fall (`_GROUND_FALL`), the writer gives an age of 16 to 49, says "just" or "only"
# bruised (or "no harm done", "not hurt at all"), and names nothing worse
# (`_WORSE_THAN_BRUISED`): a height, a vehicle, a crack, numbness or weakness, weak bones,
# hospital.
_GROUND_FALL: Final = _stem_set(
    "fell over fall falls falling fallen tripped slipped landed on bum backside bottom "
    "went down tumble had took flying hit deck ground floor"
)
_YOUNG_WRITER: Final = re.compile(
    r"\b(?:i[’']?m|i am|aged?)\s+(?:1[6-9]|[2-4]\d)\b(?!\s*(?:kg|kgs|kilos?|st|stone|lbs?|pounds"
    r"|weeks?|months?|days?|hours?|hrs|mins?|%|cm|km|miles))"
    r"|(?<!my )(?<!our )(?<!his )(?<!her )\b(?:1[6-9]|[2-4]\d)\s*(?:yo|y/o|yrs? old|years? old)\b",
    re.IGNORECASE,
)
_ONLY_BRUISED: Final = re.compile(
    r"\b(?:just|only)\s+(?:a\s+)?(?:(?:bit|little)\s+)?bruis\w*"
    # Or not hurt at all: "landed on my bum, no harm done", "not hurt at all".
    r"|\bno\s+harm\s+done\b|\bnot\s+hurt\s+at\s+all\b|\bunhurt\b",
    re.IGNORECASE,
)
_WORSE_THAN_BRUISED: Final = re.compile(
    r"\b(?:crack\w*|snap\w*|popped|numb\w*|tingl\w*|weak\w*|can[’']?t|cannot|couldn[’']?t"
    r"|unable|agony|severe\w*|excruciating|worse|hospital|a\s*&\s*e|a and e|ambulance|x-?ray"
    r"|osteop\w+|steroids?|height|ladder|stairs?|roof|car|bike|horse|scaffold\w*|tree)\b",
    re.IGNORECASE,
)
# "I'm a Cancer" (a noun for a person, then nothing more or "I", "so", "lol") is the star
# sign; "I'm a cancer survivor" is not.
_STAR_SIGN: Final = re.compile(
    r"\b(?:i[’']?m|i am|as|being)\s+an?\s+cancer(?:ian)?\b"
    r"(?=\s*(?:[^\w\s]|$|(?:i|so|lol|haha|typical)\b))"
    r"|\bcancerian\b",
    re.IGNORECASE,
)
# Words dropped from both phrases and messages before matching, so "numb down there" finds
# "it's numb down there". Negations stay: they are part of phrases such as "can't pee".
# "myself" and "me" stay too: without them "wet myself" would be just "wet" ("wet weather")
# and "wakes me up" just "wake up" ("stiff when I wake up").
FILLER: Final = _stem_set(
    "a an the my i im ive mine your our his her their its it is am are was were be "
    "been being this that these those so just really very bit little quite and or of to at"
)
# A time marker right after one of these tells who someone is now, not when it happened: "I'm
# in my twenties and fell off a ladder yesterday", "my son is at high school and fell".
_BEING_NOW: Final = frozenset(words("im am is are hes shes theyre"))
# Extra tokens allowed inside a phrase's span ("can't feel the toilet paper when I wipe").
_SLACK: Final = 3
# An `unless` phrase cancels a red-flag phrase only this close to it, so one harmless mention
# ("my mum had cancer") cannot hide another, real one elsewhere in a long message.
_VETO_REACH: Final = 4
# Words an all-clear phrase may have between its own (not counting filler words).
_VETO_SLACK: Final = 2
# Someone else's symptom ("my uncle was in a car crash", "one of my residents is incontinent")
# is not the writer's red flag; only when that person comes shortly before the symptom and
# the writer does not come in between ("my wife says I wet myself" still fires). Pronouns
# ("they found a tumour") are not here: too often they stand for the writer's doctors.
# The person words are never typo-corrected ("son" is not "soon").
_PEOPLE: Final = frozenset(
    words(
        "mum mom mother mam mummy dad father daddy wife husband partner son daughter child "
        "children kid kids baby toddler teenager teen boyfriend girlfriend brother sister "
        "uncle aunt auntie cousin "
        "nephew niece grandma grandmother grandpa grandfather granny grandad nan nana gran "
        "twins grandkids grandchildren grandson granddaughter stepson stepdaughter "
        "friend mate flatmate housemate roommate neighbour neighbor colleague coworker boss "
        "patient client resident class pupils students everyone "
        "dog dogs cat cats puppy kitten pet labrador horse pony rabbit someone somebody"
    )
)
_OTHERS: Final = frozenset(stem(w) for w in _PEOPLE)
_OTHERS_REACH: Final = 6
_ME: Final = frozenset(words("me myself"))
# A symptom named as a subject of talk, not had: "do they ask about fevers", "the difference
# between sciatica and cauda equina", "is back pain a sign of cancer", "my physio mentioned
# foot drop", an essay. Only when no "I", "me" or "my" stands between the cue and the
# symptom: "they asked about my bladder leaking" is the writer's own.
_TALKED_ABOUT: Final = (
    "ask about",
    "asks about",
    "asked about",
    "asking about",
    "ask if",
    "asks if",
    "asked if",
    "ask whether",
    "asked whether",
    "question about",
    "questions about",
    "difference between",
    "sign of",
    "signs of",
    "symptom of",
    "symptoms of",
    "warning sign",
    "warning signs",
    "watch out for",
    "look out for",
    "mentioned",
    "read about",
    "reading about",
    "heard about",
    "essay",
    "assignment",
    "coursework",
    "homework",
    "awareness",
    "check for",
    "checks for",
    "checking for",
    "screen for",
    "lecture",
)
# How many words before the symptom such a cue may stand.
_TALK_REACH: Final = 6
# A red flag asked about in general ("what does saddle numbness mean?", "is spinal cancer
# common?"), then disowned in a later sentence in so many words: "I don't have it, just
# nosy", "I've got no symptoms". Only a question with no person in it (no "I", "my", "she",
# "mum"), and only a bare disclaimer: its clause ends there or goes on with one of
# `_DISCLAIMER_AFTER` ("I don't have it yet", "I don't have it all the time" are no such).
_DISCLAIMERS: Final = (
    "i dont have it",
    "i dont have that",
    "i dont have any of that",
    "i dont have any of those",
    "i dont have any of them",
    "i dont have anything like that",
    "i havent got it",
    "i havent got that",
    "i havent got any of that",
    "i havent got any of those",
    "i have no symptoms",
    "ive got no symptoms",
    "ive no symptoms",
    "i dont have any symptoms",
    "i dont have symptoms",
)
# Night pain disowned in its own words: "is it true that back pain at night means cancer? ...
# it's fine in bed".
_NIGHT_DISCLAIMERS: Final = (
    "fine in bed",
    "fine at night",
    "ok at night",
    "okay at night",
    "sleep fine",
    "sleeping fine",
    "sleep well",
    "sleeping well",
)
_DISCLAIMER_AFTER: Final = _stem_set(
    "just thankfully luckily fortunately phew lol haha btw myself personally though tho im "
    "symptoms"
)
# Symptom words that a negation right before them denies even where negation is otherwise
# not trusted: "no numbness", "not weak". Not "feeling", "control", "strength": "no feeling"
# and "no control" are the symptom.
_DENIABLE: Final = _stem_set(
    "numb numbness tingling tingly weak weakness leak leaks leaking trouble problem"
)
# Limbs that may name a deniable symptom word: "no leg weakness", "no foot numbness".
_LIMBS: Final = _stem_set("leg legs foot feet")
# A denied symptom named as a matter, where negation is otherwise not trusted: "no bladder
# issues", "no bowel or bladder stuff". Never "no bladder control": control is the symptom.
_MATTERS: Final = _stem_set(
    "issue issues problem problems trouble troubles stuff symptom symptoms change changes"
)
# "Nothing's numb", "nothing feels weak": "nothing" denies the word after it (these may stand
# between), unless the writer feels nothing: "I feel nothing, numb down there".
_NOTHING: Final = stem("nothing")
_NOTHING_VERBS: Final = _stem_set("is s feels feel has have gone went got getting seems")
_FEEL_BEFORE: Final = _stem_set("feel feels felt feeling notice sense")
# Words between a denied symptom word and the place it names: "no numbness in the saddle
# area", "no tingling around my back passage".
_PLACE_LINKS: Final = frozenset(
    words("in the my around round of on near at down by over across into")
)
# Symptom words a negation reaches across in a list: "no bladder or bowel problems".
_LIST_JOINS: Final = frozenset(words("or nor and"))
_LISTED_SYMPTOMS: Final = _stem_set(
    "bladder bowel bowels fever fevers temperature temp chills sweats numbness numb "
    "tingling weakness leaks leaking problems issues night weight trouble infection "
    "infections"
)
# A test or check for the symptom that came back clear: "checked for infection and everything
# came back clear", "cancer was ruled out".
_CHECKED_FOR: Final = (
    "checked for",
    "tested for",
    "test for",
    "tests for",
    "screened for",
    "scanned for",
)
_CLEAR: Final = _stem_set("clear negative normal fine nothing")
_SCARE: Final = stem("scare")
# Cancer asked about as what something "means" ("does back pain always mean cancer?", "could
# it mean a tumour?") is a fear, not a history. Only right before the cancer word: "the scan
# means the cancer is back" and "does it mean my cancer has spread" are the writer's.
_MEAN: Final = _stem_set("mean means meant")
_MEAN_SKIP: Final = frozenset(words("a an its it is be"))
_INJURY: Final = "major-trauma"
_NIGHT: Final = "night-pain"
_CANCER: Final = "cancer"
# Whose back: the writer's ("my back", "my own lower back") or another's ("her back").
_BACK_OR_SPINE: Final = frozenset(words("back spine backs"))
_BACK_BETWEEN: Final = frozenset(words("own lower upper bad sore stiff poor"))
_HE_SHE: Final = frozenset(words("he she hes shes his her"))
_WRITER: Final = frozenset(words("i me myself we us"))
_RELATIVES_CANCER_REACH: Final = 10
_POSSESSIVE: Final = frozenset(words("her his their"))
_FIRST_PERSON: Final = frozenset(words("i me my myself im ive id ill mine we us our"))
# The writer talking about themselves again after someone else's symptom: not "we" or "our"
# ("the kids were sick and we were up all night" is still about them).
_SELF_AGAIN: Final = _FIRST_PERSON - frozenset(words("us we our"))
# Anyone a question may be asked for: the writer, another person, "he" or "she".
_ANYONE: Final = _FIRST_PERSON | _OTHERS | _HE_SHE
# A person word right after one of these is an object, not the one with the symptom: "got
# tangled in the dog's lead and went down", "tripped over the cat and fell down the stairs".
# Also one who was called or told about it ("my watch rang my daughter when it detected a hard
# fall", "I phoned my son after a bad fall") and a simile ("sick as a dog with a temp").
_OBJECT_BEFORE: Final = frozenset(
    words("over in into on onto with by from off under near about after round around")
) | _stem_set("rang ring rung called call phoned phone texted text messaged alerted told as")
_ARTICLES: Final = frozenset(words("the a an my our his her their your"))
# Things that fall or collapse without anyone getting hurt: "my phone fell off the table",
# "the picture fell off the wall", "the cake collapsed"; a pet's fall is for the vet. Not a
# ladder, chair, roof, shelf or anything one stands or sits on, and never when it fell "on
# me", "onto my back", "under me".
_THING_FELL: Final = frozenset(words("fell falls collapsed collapses"))
_THINGS: Final = frozenset(
    words(
        "phone phones mobile tablet ipad kindle picture pictures painting frame mirror clock "
        "glasses sunglasses hat cap helmet vase mug cup glass plate book books box bag keys "
        "remote laptop tv lid button buttons wheel tyre handle knob plaster sticker label "
        "poster curtain curtains "
        "blind blinds battery screen cake sourdough souffle bread icing tent toy toys ball "
        "bottle pen earring shoe sock wallpaper tile tiles leaf leaves apple apples fruit "
        "pot pan vase ornament photo photos sign cat cats kitten dog dogs puppy hamster"
    )
)
_THING_SKIP: Final = frozenset(words("the a an my our his her their your just then had has have"))
# Someone under it after all ("fell off the shelf onto my back", "on top of me"): keep it.
_ONTO_SOMEONE: Final = frozenset(words("me my him her us them someone top head under onto"))
# A cancer specialist named as someone's job: "my sister is an oncologist", "I work as an
# oncologist". A patient "sees an oncologist" or has "my oncologist".
_SPECIALISTS: Final = frozenset(words("oncologist oncologists"))
_IS_A: Final = frozenset(words("is as im hes shes was whos thats"))
# The same of a cancer service named with a job: "I'm an oncology physio", "she's an oncology
# nurse", "a radiotherapy radiographer". Not "I'm an oncology patient", nor "my oncology
# nurse" (a patient's nurse).
_ONCOLOGY: Final = frozenset(words("oncology oncological radiotherapy chemotherapy chemo"))
_JOBS: Final = frozenset(
    words(
        "physio physios physiotherapist physiotherapists nurse nurses pharmacist radiographer "
        "dietitian dietician therapist researcher scientist hca receptionist secretary porter "
        "administrator doctor consultant registrar specialist worker"
    )
)
# "Pissed off" and "pissing me off" are annoyance, not urine ("pissed off cos I've got a
# tournament"); only with "off" right after (or "me off"): "pissed myself getting off the
# bus" is the symptom.
_PISSED: Final = frozenset(words("pissed pissing pisses"))
_OFF_AFTER: Final = (("off",), ("me", "off"), ("him", "off"), ("her", "off"))
# "constantly" after a verb's object or particle is how often the writer does something
# ("picking her up constantly", "bending down constantly"), not constant pain.
_DOING_BEFORE: Final = frozenset(words("up down him her them"))
# A child named by their age ("my 5yo", "our 3 year old") is someone else, as "my son" is.
_AGE_OWNERS: Final = frozenset(words("my our his her their"))
_YEAR: Final = frozenset(words("year years yr yrs"))
# "up with her", "up with them": up at night with someone, not "up every night with pain".
_CARED_FOR: Final = frozenset(words("her him them"))
# An explicit negation right before a symptom ("no fever", "without any weight loss"), only
# in categories marked `negatable`; these words may stand between the two.
_NEGATIONS: Final = _stem_set(
    "no not without never nor dont doesnt havent hasnt didnt isnt arent wasnt zero nobody"
)
# For the knowledge lint: a phrase that shrinks to one of these matches any denial.
NEGATION_STEMS: Final = _NEGATIONS
_NEGATION_SKIP: Final = frozenset(words("a an any had have got been sign signs of real at"))
_NEGATED_VERBS: Final = _stem_set("wake wakes keep keeps get gets have has feel feels")
# Someone else's symptom stays urgent when the writer asks for them: a carer, a worried child
# ("my mum's lost a lot of weight ... what should I do?"), or a message passed on ("he asked me
# to ask"). Matched as word sequences anywhere after the symptom.
_CARER_CUES: Final = (
    ("what should i do", ""),
    ("what should we do", ""),
    ("what do i do", ""),
    ("what do we do", ""),
    ("what can i do", ""),
    ("what can we do", ""),
    ("should i take him", "m"),
    ("should i take her", "f"),
    ("should we take him", "m"),
    ("should we take her", "f"),
    ("should i call", ""),
    ("should we call", ""),
    ("he asked me", "m"),
    ("she asked me", "f"),
    ("asking for him", "m"),
    ("asking for her", "f"),
    ("i look after", ""),
    ("i care for", ""),
    ("im his carer", "m"),
    ("im her carer", "f"),
    # Asking what they should do or get: "what exercises can I get him doing".
    ("for him", "m"),
    ("for her", "f"),
    ("get him", "m"),
    ("get her", "f"),
    ("can he", "m"),
    ("can she", "f"),
    ("does he", "m"),
    ("does she", "f"),
    ("book him", "m"),
    ("book her", "f"),
    ("should he", "m"),
    ("should she", "f"),
    ("will he", "m"),
    ("will she", "f"),
    ("would he", "m"),
    ("would she", "f"),
    ("he refuses", "m"),
    ("she refuses", "f"),
    ("let me call", ""),
    # Asking on their behalf: "he wants to see a physio", "she's asking if physio would help".
    # (Not "I drive him in every day": carers who drive ask about their own backs too.)
    ("he wants to see", "m"),
    ("she wants to see", "f"),
    ("hes asking", "m"),
    ("shes asking", "f"),
    # Their back is what the message is about: "keeps holding her back", "complaining about
    # his back ever since", "she's got back pain".
    ("his back", "m"),
    ("her back", "f"),
    ("hes got back pain", "m"),
    ("shes got back pain", "f"),
    ("he is complaining of back pain", "m"),
    ("she is complaining of back pain", "f"),
    ("he is having back pain", "m"),
    ("she is having back pain", "f"),
    ("he has back pain", "m"),
    ("she has back pain", "f"),
)
# The cues that only say who the writer is ("I'm his carer") keep the symptom theirs unless
# the writer then asks about their own body: "my son has cancer and I'm his carer, my back
# aches from bending over his bed" asks about the writer's back.
_IDENTITY_CUES: Final = frozenset(("i look after", "i care for", "im his carer", "im her carer"))
# Their back named keeps it theirs the same way: "my mum had cancer and her back is fine,
# but my back aches" asks about the writer's back.
_THEIR_BACK_CUES: Final = frozenset(
    (
        "his back",
        "her back",
        "hes got back pain",
        "shes got back pain",
        "he is complaining of back pain",
        "she is complaining of back pain",
        "he is having back pain",
        "she is having back pain",
        "he has back pain",
        "she has back pain",
    )
)
_OWN_BODY: Final = _stem_set(
    "back backs spine neck shoulder shoulders hip hips knee knees arm arms wrist"
)
# A cue with "he" or "she" must fit the person with the symptom: in "my friend's husband is
# having chemo ... she asked me", the one asking is not the one who is ill.
_MALE: Final = _stem_set(
    "dad father daddy husband son boyfriend brother uncle nephew grandpa grandfather grandad his"
)
_FEMALE: Final = _stem_set(
    "mum mom mother mam mummy wife daughter girlfriend sister aunt auntie niece grandma "
    "grandmother granny nan nana gran her"
)
# Someone unnamed ("someone with myeloma"), who is the writer when they say so: "asking for
# myself". Only then: "my dad had foot drop ... I'm asking for myself" is still about dad.
_GENERIC: Final = _stem_set("someone somebody")
_SELF_CUES: Final = (
    "asking for myself",
    "asking for me",
    "i was diagnosed",
    "i've been diagnosed",
)
# A screening question and its answer: "asked if/whether ... and I said no".
_ASKED: Final = _stem_set("asked asks asking ask")
_ANSWERED: Final = _stem_set("said say told answered replied")
_ASKED_REACH: Final = 8  # room for a list: "asked if I had any bladder or bowel problems"
# "asked if I had any bladder problems, I don't": the bare denial, then the clause ends or
# goes on with one of these; not "I don't know" or "I don't remember".
_BARE_DENIALS: Final = _stem_set("dont havent didnt hadnt")
_AFTER_DENIAL: Final = _stem_set("and so everything all thankfully luckily thank")
_ASKED_LINK: Final = frozenset(words("if whether weather about"))
# Words allowed between "when I was" and an age: "when I was about 12".
_AGE_SKIP: Final = frozenset(words("about around only just like maybe"))
# A sentence ends at . ! ? or a new line: a phrase is only found inside one.
_SENTENCE_END: Final = re.compile(r"[.!?\n]")
# A question answered no straight away: "Night pain? No.", "fever? nope, just stiff", "any
# fevers, any weight loss? no to all of it". Not
# "Fever? No thermometer here": the "no" must stand alone.
_ANSWER_NO: Final = re.compile(
    r"\s*(?:no|nope|nah|never|none|nada|negative|not really"
    r"|no to (?:all|both|everything|any)(?: of (?:it|them|those|that|these))?)"
    r"\s*(?:[,.!;:)\-–—]|$)",
    re.IGNORECASE,
)
# A screening list answered item by item: "fever - no, night pain: none" is "fever? no; night
# pain? none", each item its own clause, so the existing answered-no reading takes only it.
_LISTED_NO: Final = re.compile(
    r"(^|[,;.!?\n:]\s*)([^,;.!?\n:=\-–—]{1,30}?)\s*[:=\-–—]\s*(no|nope|none|nil)\b"
    r"(?=\s*(?:[,.;!?/|)]|$))",
    re.IGNORECASE | re.MULTILINE,
)
_LISTED_NO_CUE: Final = re.compile(r"[:=\-–—]\s*(?:no|nope|none|nil)\b", re.IGNORECASE)
# Sentence ends and "but" bound a clause: "had a fever in March, all better now, but ..." puts
# the fever in the past; "... but now I have a fever again" starts a new clause.
_CLAUSE_END: Final = re.compile(r"[.!?;\n]+(?!\d)|\bbut\b", re.IGNORECASE)
# A temperature reading: "38.6", "38,6", "101 F", "39 degrees", "100.4°F".
_READING: Final = re.compile(
    r"(?<![\d.,])(\d{2,3})(?:[.,](\d{1,2}))?(?![\d.,]\d)\s*"
    r"(°\s*[cf]?|º\s*[cf]?|degrees?\s*[cf]?|deg\b|celsius|fahrenheit|[cf]\b)?",
    re.IGNORECASE,
)
# A number followed by one of these is not a temperature ("38.5 hours", "100.5 kg").
_NOT_TEMPERATURE_UNITS: Final = frozenset(
    words(
        "hours hrs hour h min mins minutes kg kgs kilo kilos lbs lb pounds stone st km kms "
        "miles mile m cm mm weeks week years year yrs days day percent k mg ml"
    )
)
_TEMPERATURE_WORDS: Final = re.compile(r"\b(temp|temperature|thermometer|fever|reading)", re.I)
# Two body weights, the later one lower: "he weighed 70kg in spring and he's 61kg now" is
# weight lost, told as numbers. Only with a past cue before the first and a "now" cue by the
# second, so a goal ("I'm 95kg and want to get to 85kg") is no loss.
_WEIGHT: Final = re.compile(
    r"(?<![\d.,])(\d{1,3}(?:[.,]\d)?)\s*(kg|kgs|kilos?|kilograms?|lbs?|pounds|st|stone)\b", re.I
)
_WEIGHT_BEFORE: Final = re.compile(
    r"\b(?:weighed|weighing|was|were|used to (?:be|weigh)|went from|dropped from|down from"
    r"|normally|usually)\b",
    re.I,
)
_WEIGHT_NOW: Final = re.compile(r"\b(?:now|today|currently|down to|only)\b", re.I)
_TO_KG: Final = {"lb": 0.4536, "lbs": 0.4536, "pounds": 0.4536, "st": 6.35, "stone": 6.35}
# The later weight said without its unit right after the first: "I used to be 70kg, now I'm
# 61". Only close behind it (", now I'm 45" after "when I was 30" is an age) and never a
# number of years, weeks or a time of day.
_WEIGHT_NOW_BARE: Final = re.compile(
    r"\W{0,3}\s*now,? (?:i'?m |i am |im |down to |only )?(\d{1,3}(?:[.,]\d)?)\b"
    r"(?!\s*(?:%|years?|yrs?|y/?o|weeks?|days?|months?|am|pm|times|hours?|mins?))",
    re.I,
)
# ... or after it, the "now" behind the number: "I used to be 190lb and I'm 172 now".
_WEIGHT_BARE_THEN_NOW: Final = re.compile(
    r"\W{0,3}\s*(?:and |but )?(?:i'?m|i am|im|he'?s|she'?s) (\d{1,3}(?:[.,]\d)?)\s*now\b", re.I
)
# Between two weights after "went from": "went from 11st 4 to 10st 2" is a change told whole,
# with no "now" needed (the odd pounds of a weight in stone may come between).
_WEIGHT_FROM_TO: Final = re.compile(
    r"\W*(?:\d{1,2}\s*(?:lbs?|pounds)?\s*)?(?:to|down to)\s*$", re.I
)


# Clothes a size or more smaller: "my trousers went from a 34 to a 30 waist".
_SMALLER_CLOTHES: Final = re.compile(
    r"\b(?:trousers|jeans|pants|waist|belt|dress|skirt|clothes|shirt|size)\b[^.!?]{0,30}?"
    r"\bfrom (?:a |an |size )?(\d{1,2}) (?:to|down to) (?:a |an |size )?(\d{1,2})\b",
    re.I,
)


def read_weights(text: str) -> str:
    """The text with "lost weight" put after a lower second body weight (see `_WEIGHT`), or
    after clothes that went down a size or more."""
    sizes = _SMALLER_CLOTHES.search(text)
    if sizes is not None and int(sizes.group(2)) < int(sizes.group(1)):
        return f"{text[: sizes.end()]} lost weight {text[sizes.end() :]}"
    readings = list(_WEIGHT.finditer(text))
    for first, second in itertools.pairwise(readings):
        a, b = (
            float(m.group(1).replace(",", ".")) * _TO_KG.get(m.group(2).casefold(), 1.0)
            for m in (first, second)
        )
        if not (b <= a * 0.95 and a - b >= 3):
            continue
        before = _WEIGHT_BEFORE.search(text[max(0, first.start() - 30) : first.start()])
        if before is None:
            continue
        told_whole = (
            before.group(0).casefold().endswith("from")
            and _WEIGHT_FROM_TO.match(text[first.end() : second.start()]) is not None
        )
        if (
            not told_whole
            and _WEIGHT_NOW.search(text[max(0, second.start() - 25) : second.end() + 10]) is None
        ):
            continue
        return f"{text[: second.end()]} lost weight {text[second.end() :]}"
    for first in readings:
        bare = _WEIGHT_NOW_BARE.match(text, first.end()) or _WEIGHT_BARE_THEN_NOW.match(
            text, first.end()
        )
        if (
            bare is None
            or _WEIGHT_BEFORE.search(text[max(0, first.start() - 30) : first.start()]) is None
        ):
            continue
        unit = _TO_KG.get(first.group(2).casefold(), 1.0)
        a, b = (float(v.replace(",", ".")) * unit for v in (first.group(1), bare.group(1)))
        if b <= a * 0.95 and a - b >= 3:
            return f"{text[: bare.end()]} lost weight {text[bare.end() :]}"
    return text


# How far (in words) from a symptom a past year is taken for it (`_past_year`).
_YEAR_REACH: Final = 8

# Star-sign emoji (aries..pisces): "I'm a Cancer ♋" is about the zodiac, not an illness.
_ZODIAC: Final = re.compile("[\u2648-\u2653]")
# The face with a thermometer says "I have a fever" (the normaliser drops emoji): "🤒 + back pain".
_FEVER_FACE: Final = "\U0001f912"
# "mam" is "mum" in northern England, Wales and Ireland, but "I have" in Polish: in a message
# with Polish letters it is the writer ("mam gorączkę": I have a fever), not their mother.
_POLISH_LETTERS: Final = re.compile("[ąćęłńśźżĄĆĘŁŃŚŹŻ]")
_POLISH_MAM: Final = re.compile(r"\bmam\b", re.IGNORECASE)
# "Can't get it up" said of an erection (filler drops "it", so as words it is "can't get up");
# not when a place or a height follows: "can't get it up the stairs", "above my head".
_CANT_GET_IT_UP: Final = re.compile(
    r"\b(?:can'?t|cannot|can not|couldn'?t|could not|unable to)\s+get\s+it\s+up\b"
    r"(?!\s+(?:the|those|these|onto|on|into|over|above|past|higher|any|there|to|here|high"
    r"|stairs|again|off|my|his|her)\b)",
    re.IGNORECASE,
)
# A clock time between 1 and 4 in the morning ("3am", "2:30 a.m.", "4 in the morning") is read
# as "small hours": "am" is filler and a bare "3" means nothing, so the time would otherwise be
# lost. 5am and later are left alone: that is when many people get up for work.
_SMALL_HOURS: Final = re.compile(
    r"(?<![\d:.])(?:[1-4](?:[:.][0-5]\d)?\s*a\.?m\b"
    r"|[1-4](?:[:.][0-5]\d)?\s*(?:o\W?clock\s*)?in the morning\b"
    r"|(?:one|two|three|four)\s*(?:o\W?clock\s*)?in the morning\b)",
    re.IGNORECASE,
)
# What `_SMALL_HOURS`, `_STAR_SIGN` and `_READING` cannot match without (a digit 1-4 or "in
# the morning"; "cancer"; a digit), searched first in every message: most have none, and
# these scan several times faster than the patterns, which start with a look-behind or \b
# and so are tried at every position. Same flags as the patterns, so what they match
# case-insensitively (a dotted capital I in "MORNİNG") the cue finds too.
_SMALL_HOURS_CUE: Final = re.compile(r"[1-4]|in the morning", re.IGNORECASE)
_STAR_SIGN_CUE: Final = re.compile("cancer", re.IGNORECASE)
_READING_CUE: Final = re.compile(r"\d")


# Every word one of `RedFlagDetector._stems`' context rules may rewrite (the rule then
# looks at the words around it): such a word never takes its short way. Keep it in step with
# the rules there; tests/test_safety.py checks the short way against the rules on every
# word of the vocabulary.
_REWRITTEN: Final = frozenset(
    {"bits", "wee", "bowel", "bowels", "bowl", "bowls", "constant", "constantly", "stone"}
    | {"stones", "with", "legged", "yo", "old"}
    | _PISSED
    | _ONCOLOGY
    | _COLLAPSE
    | _THING_FELL
    | _SPECIALISTS
)


@dataclass(frozen=True)
class RedFlagHit:
    """A red flag found in a message: its category, the knowledge phrase, and the score."""

    category_id: str
    phrase: str
    score: float


@dataclass(frozen=True)
class Reading:
    """What the check found: a red flag, or else the first category whose words were there but
    ruled out by their context (denied, someone else's, in the past, another sense), for which
    the bot adds a short reminder of where to go if it is the writer's after all."""

    hit: RedFlagHit | None = None
    set_aside: str | None = None
    # No red-flag phrase at all, but the message reads like the urgent messages of this
    # category (bot/likeness.py): the same reminder, for wordings no phrase has yet.
    resembles: str | None = None

    @property
    def reminder(self) -> str | None:
        """The category a reminder line should name, if any."""
        return self.set_aside or self.resembles


@dataclass(frozen=True)
class _Phrase:
    category: int
    text: str
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class _Concept:
    category: int
    text: str
    groups: tuple[tuple[tuple[str, ...], ...], ...]
    within: int
    # Every word of each group's options: a concept is only tried when each group has at
    # least one of its words in the message, so most messages skip most concepts cheaply.
    words: tuple[frozenset[str], ...]
    # Each option's words as a set, parallel to `groups`: `_spans` finds nothing unless every
    # word of an option is in the message, so an option missing one is not searched at all.
    needs: tuple[tuple[frozenset[str], ...], ...]


def _spans(tokens: Sequence[str], positions: dict[str, list[int]]) -> list[tuple[int, int]]:
    """(first, last) positions wherever every token occurs, in any order, in one window."""
    for t in tokens:
        if t not in positions:
            return []
    if len(tokens) == 1:
        # A single word spans its own place, every place it has: what the loop below gives,
        # without its per-place work (a fifth of the phrases and most concept options).
        return [(p, p) for p in positions[tokens[0]]]
    # Anchor on the rarest token; take each other token's nearest occurrence around it.
    anchor = min(tokens, key=lambda t: len(positions[t]))
    window = len(tokens) + _SLACK
    found: list[tuple[int, int]] = []
    for start in positions[anchor]:
        used = [start]
        for token in tokens:
            if token == anchor:
                continue
            places = positions[token]
            nearest = places[0] if len(places) == 1 else min(places, key=lambda p: abs(p - start))
            if abs(nearest - start) > window:
                break
            used.append(nearest)
        else:
            found.append((min(used), max(used)))
    return found


def _in_order(
    tokens: Sequence[str], positions: dict[str, list[int]], limit: int
) -> list[tuple[int, int]]:
    """(first, last) wherever ``tokens`` occur in their own order within ``limit`` words."""
    if any(t not in positions for t in tokens):
        return []
    found: list[tuple[int, int]] = []
    for start in positions[tokens[0]]:  # positions are in message order
        at = start
        for token in tokens[1:]:
            later = [p for p in positions[token] if p > at]
            if not later:
                break
            at = later[0]
        else:
            if at - start < limit:
                found.append((start, at))
    return found


# Cue phrases by their first word: a message visits only the cues its own words start.
CueIndex = Mapping[str, tuple[tuple[str, ...], ...]]


def _by_first_word(cues: Iterable[tuple[str, ...]]) -> CueIndex:
    index: dict[str, list[tuple[str, ...]]] = {}
    for cue in cues:
        index.setdefault(cue[0], []).append(cue)
    return {word: tuple(found) for word, found in index.items()}


def _cue_places(
    raw: Sequence[str], cues: CueIndex, first: int, end_by: int
) -> Iterator[tuple[int, int]]:
    """(at, end) wherever a cue stands as ``raw[at:end]``, with ``first <= at`` and
    ``end <= end_by``; in message order. One pass over the words, each looking up the cues it
    starts: comparing every cue at every place was a third of a long message's check."""
    stop = min(end_by, len(raw))
    for at in range(max(0, first), stop):
        for cue in cues.get(raw[at], ()):
            end = at + len(cue)
            if end <= stop and tuple(raw[at:end]) == cue:
                yield at, end


def _concept_spans(
    concept: _Concept, positions: dict[str, list[int]], present: AbstractSet[str]
) -> list[tuple[int, int, tuple[int, ...]]]:
    """(first, last, where each group starts) wherever one option of every group occurs
    within the window. ``present``: the words of ``positions``, as a set."""
    occurrences: list[list[tuple[int, int]]] = []
    for group, needs in zip(concept.groups, concept.needs, strict=True):
        # Options in their written order (the nearest-span ties below go to the first), and
        # only those whose every word is there: `_spans` would find nothing in the others.
        found = [
            span
            for option, need in zip(group, needs, strict=True)
            if need <= present
            for span in _spans(option, positions)
        ]
        if not found:
            return []
        occurrences.append(found)
    spans: list[tuple[int, int, tuple[int, ...]]] = []
    for lo, hi in occurrences[0]:
        first, last = lo, hi
        starts = [lo]
        for others in occurrences[1:]:
            if len(others) == 1:
                olo, ohi = others[0]
            else:
                olo, ohi = min(others, key=lambda s: min(abs(s[0] - hi), abs(lo - s[1])))
            first, last = min(first, olo), max(last, ohi)
            starts.append(olo)
        # `within` counts the words between the group words, not the words themselves.
        if last - first + 1 <= concept.within + len(concept.groups):
            spans.append((first, last, tuple(starts)))
    return spans


def _a_thing(raw: Sequence[str], i: int) -> bool:
    """Whether raw[i] ("fell", "collapsed") is said of a thing, not of the writer: "my phone
    fell off the table", "the tent collapsed". Not when it came down on someone ("the shelf
    fell on me", "the box fell off the shelf onto my back")."""
    before = [t for t in raw[max(0, i - 3) : i] if t not in _THING_SKIP]
    if not before or before[-1] not in _THINGS:
        return False
    after = raw[i + 1 : i + 9]
    return not any(t in _ONTO_SOMEONE for t in after)


def _a_job(before: Sequence[str]) -> bool:
    """Whether the two words before a specialist say it is someone's job: "is an", "I'm an",
    "my wife's an", "works as an". Not "sees an" or "saw an": that is a patient."""
    if len(before) < 2 or before[1] not in ("a", "an"):
        return False
    who = before[0]
    return who in _IS_A or (who.endswith("s") and who[:-1] in _PEOPLE)


def _feared(raw: Sequence[str], start: int) -> bool:
    """Whether the word at ``start`` (one of a cancer match's) is what something may "mean"
    (see `_MEAN`)."""
    p = start - 1
    while p >= 0 and start - p <= 2 and raw[p] in _MEAN_SKIP:
        p -= 1
    return p >= 0 and raw[p] in _MEAN


def _nothing_is(raw: Sequence[str], clause: Sequence[int], at: int) -> bool:
    """Whether "nothing" denies the symptom word at ``at`` in its clause (see `_NOTHING`), or
    is that denial itself: "nothing" is also a numbness word ("can feel nothing down there")."""
    if raw[at] == _NOTHING:
        q = at + 1
        while q < len(raw) and q - at <= 3 and raw[q] in _NOTHING_VERBS:
            q += 1
        return q < len(raw) and raw[q] in _DENIABLE and _nothing_is(raw, clause, q)
    p = at - 1
    while p >= 0 and at - p <= 3 and raw[p] in _NOTHING_VERBS:
        p -= 1
    return (
        p >= 0
        and raw[p] == _NOTHING
        and clause[p] == clause[at]
        and (p == 0 or raw[p - 1] not in _FEEL_BEFORE)
    )


def _a_childs_age(raw: Sequence[str], i: int) -> bool:
    """Whether raw[i] ("yo", "old") ends a child's age after its owner: "my 5 yo", "our 3
    year old" (the tokeniser splits "5yo" and "5-year-old"). Not "I'm 45 yo": the writer."""
    before = raw[max(0, i - 3) : i]
    if raw[i] == "old":
        if not before or before[-1] not in _YEAR:
            return False
        before = raw[max(0, i - 4) : i - 1]
    return len(before) >= 2 and before[-1].isdigit() and before[-2] in _AGE_OWNERS


def _minding(after: Sequence[str]) -> bool:
    """Whether the words after "up with" name someone looked after: "her", "the baby", "my son"."""
    if not after:
        return False
    if after[0] in _CARED_FOR or after[0] in _PEOPLE:
        return True
    return after[0] in _ARTICLES and after[1:2] != [] and after[1] in _PEOPLE


def _passing(tokens: Sequence[str], sentence: str) -> bool:
    """Whether a numbness or tired-legs match is pressure from sitting that went as soon as
    the writer got up, or legs like jelly after exercise (see `_PASSING_WORDS`)."""
    words_used = {
        t
        for p, t in enumerate(tokens)
        if t not in FILLER
        and not (t == "saddl" and any(w in _ON for w in tokens[max(0, p - 3) : p]))
    }
    if not words_used <= _PASSING_WORDS:
        return False
    if not _FATIGUE_WORDS.isdisjoint(tokens) and _EXERTION.search(sentence):
        return True
    if not _PRESSURE.search(sentence) or _LASTING.search(sentence):
        return False
    # Relief said, not denied: "it doesn't go away when I stand up" is no relief.
    return any(
        not _DENIED.search(sentence[max(0, m.start() - 20) : m.start()])
        for m in _RELIEVED.finditer(sentence)
    )


def _bruised_only(matched: AbstractSet[str], text: str) -> bool:
    """Whether an injury match is a young adult's fall from standing that only bruised them
    (see `_GROUND_FALL`)."""
    return (
        matched <= _GROUND_FALL
        and _YOUNG_WRITER.search(text) is not None
        and _ONLY_BRUISED.search(text) is not None
        and _WORSE_THAN_BRUISED.search(text) is None
    )


def _stiff_on_waking(matched: AbstractSet[str], sentence: str) -> bool:
    """Whether a night-pain match of sleeping and waking words alone is the writer waking up
    stiff, with no pain named in the sentence (see `_STIFF_WAKING`)."""
    return (
        matched <= _WAKING_WORDS
        and _STIFF_WAKING.search(sentence) is not None
        and _PAIN_SAID.search(sentence) is None
    )


@dataclass(frozen=True)
class _Veto:
    tokens: tuple[str, ...]
    # A veto holding a whole symptom phrase ("mum had cancer") cancels only the words it covers;
    # a qualifier ("last year") cancels a phrase a few words away from it.
    reach: int


class RedFlagDetector:
    """Finds red-flag phrases in a message; recall first, ``unless`` phrases veto a category."""

    def __init__(
        self, red_flags: RedFlagsFile, normaliser: Normaliser, max_chars: int = 20_000
    ) -> None:
        self.normaliser = normaliser
        # Words `_stems` gives back as they are: known to the typo corrector (so it leaves
        # them alone, and the dropped-g rule, which needs an unknown word, cannot apply), not
        # a dialect spelling, and not a word any context rule there rewrites. Most words of a
        # message are such words; they skip the rules one by one.
        self._plain: frozenset[str] = normaliser.vocabulary - _DIALECT.keys() - _REWRITTEN
        self.max_chars = max_chars
        self.category_ids: tuple[str, ...] = tuple(c.id for c in red_flags.categories)
        self.negatable: tuple[bool, ...] = tuple(c.negatable for c in red_flags.categories)
        self.phrases: list[_Phrase] = []
        self.concepts: list[_Concept] = []
        self.unless: list[list[_Veto]] = []
        for index, category in enumerate(red_flags.categories):
            for phrase in category.phrases:
                tokens = self._tokens(phrase, correct=False)
                if tokens:
                    self.phrases.append(_Phrase(index, phrase, tokens))
            own = [frozenset(p.tokens) for p in self.phrases if p.category == index]
            # Each own phrase filed under its least word: a veto holds it only if it has that.
            own_by_word: dict[str, list[frozenset[str]]] = {}
            for phrase_words in own:
                own_by_word.setdefault(min(phrase_words), []).append(phrase_words)
            for concept in category.concepts:
                groups = tuple(
                    tuple(o for o in (self._tokens(x, correct=False) for x in group) if o)
                    for group in concept.all_of
                )
                if all(groups):
                    text = " + ".join("/".join(group[:3]) for group in concept.all_of)
                    group_words = tuple(frozenset(t for o in g for t in o) for g in groups)
                    needs = tuple(tuple(frozenset(o) for o in g) for g in groups)
                    self.concepts.append(
                        _Concept(index, text, groups, concept.within, group_words, needs)
                    )
            vetoes = [self._tokens(p, correct=False) for p in category.unless]
            # Where no negation is trusted (bladder and bowel), an all-clear naming one of the
            # category's symptom words ("peeing fine", "waterworks normal") also cancels only
            # the words it covers: "peeing fine but my bum is numb" still fires.
            symptom_words: set[str] = set()
            if not category.negatable:
                symptom_words.update(t for o in own if len(o) == 1 for t in o)
                symptom_words.update(
                    t
                    for c in self.concepts
                    if c.category == index
                    for g in c.groups
                    for o in g
                    if len(o) == 1
                    for t in o
                )
            reach: list[int] = []
            for veto_tokens in vetoes:
                words = frozenset(veto_tokens)
                holds = not symptom_words.isdisjoint(words) or any(
                    o <= words for word in words for o in own_by_word.get(word, ())
                )
                reach.append(0 if holds else _VETO_REACH)
            self.unless.append([_Veto(v, r) for v, r in zip(vetoes, reach, strict=True) if v])
        # Longer phrases first: the most specific explanation is the one reported.
        self.phrases.sort(key=lambda p: -len(p.tokens))
        # Each phrase, concept and veto is filed under one of its words: a message only tries
        # those filed under its own words, and of these only the ones whose every word it
        # has (`_spans` finds nothing otherwise). The word is the one the fewest red-flag
        # texts use, a stand-in for the rarest in messages: filed under its first word, a
        # message with "cant" or "leg" tried dozens of phrases that then failed.
        uses: dict[str, int] = {}
        for tokens in (
            *(p.tokens for p in self.phrases),
            *(o for c in self.concepts for g in c.groups for o in g),
            *(v.tokens for vetoes_of in self.unless for v in vetoes_of),
        ):
            for token in set(tokens):
                uses[token] = uses.get(token, 0) + 1

        def key(tokens: tuple[str, ...]) -> str:
            return min(tokens, key=uses.__getitem__)  # the first of equals: deterministic

        self.by_token: dict[str, list[tuple[int, frozenset[str]]]] = {}
        for index, entry in enumerate(self.phrases):
            self.by_token.setdefault(key(entry.tokens), []).append(
                (index, frozenset(entry.tokens))
            )
        # A concept is filed under its first group's options: without one of them it has no
        # span (`_concept_spans` needs an option of every group).
        self.concepts_by_token: dict[str, list[int]] = {}
        for number, filed_concept in enumerate(self.concepts):
            for option in filed_concept.groups[0]:
                filed = self.concepts_by_token.setdefault(key(option), [])
                if number not in filed:
                    filed.append(number)
        self.vetoes_by_token: list[dict[str, list[tuple[int, frozenset[str]]]]] = []
        for vetoes_of in self.unless:
            filed_vetoes: dict[str, list[tuple[int, frozenset[str]]]] = {}
            for number, veto in enumerate(vetoes_of):
                filed_vetoes.setdefault(key(veto.tokens), []).append(
                    (number, frozenset(veto.tokens))
                )
            self.vetoes_by_token.append(filed_vetoes)
        self.past: tuple[str, ...] = tuple(c.past for c in red_flags.categories)
        time = red_flags.time
        self.time_past = [t for t in (self._tokens(p, correct=False) for p in time.past) if t]
        self.time_distant = [
            t for t in (self._tokens(p, correct=False) for p in time.distant) if t
        ]
        self.time_over = [t for t in (self._tokens(p, correct=False) for p in time.over) if t]
        self.temperature_word = red_flags.temperature_word
        self.carer_cues = tuple(
            (cue, gender, phrase in _IDENTITY_CUES or phrase in _THEIR_BACK_CUES)
            for phrase, gender in _CARER_CUES
            for cue in self._sequences([phrase])
        )
        self.self_cues = self._sequences(_SELF_CUES)
        self.talk_cues = _by_first_word(self._sequences(_TALKED_ABOUT))
        self.disclaimers = _by_first_word(self._sequences(_DISCLAIMERS))
        self.night_disclaimers = _by_first_word(self._sequences(_NIGHT_DISCLAIMERS))
        self.checked_cues = _by_first_word(self._sequences(_CHECKED_FOR))
        ruled_out = self._sequences(["ruled out", "rule out"])[0]
        self.ruled_out, self.ruled_out_words = _by_first_word([ruled_out]), len(ruled_out)
        self.this_year = datetime.date.today().year
        # Set by whoever has labelled messages to learn from (build_matching).
        self.likeness: UrgencyModel | None = None

    def _sequences(self, phrases: Sequence[str]) -> tuple[tuple[str, ...], ...]:
        """Phrases as stemmed word sequences, filler kept: cues are matched word for word."""
        return tuple(t for t in (tuple(self._stems(p)) for p in phrases) if t)

    def words_of(self, text: str) -> tuple[str, ...]:
        """The words of a knowledge phrase that count when matching (filler dropped)."""
        return self._tokens(text, correct=False)

    def _tokens(self, text: str, *, correct: bool) -> tuple[str, ...]:
        # Knowledge phrases read clock times as messages do: "up at 2am" is "up small hours".
        stems = self.normaliser.stems(_SMALL_HOURS.sub(" small hours ", text), correct=correct)
        return tuple(t for t in stems if t not in FILLER)

    def _stems(self, text: str) -> list[str]:
        """Stemmed tokens as `Normaliser.stems` gives them, with dialect spellings read as the
        plain word and everyday words never "corrected" into a red-flag word.

        Words run together are not split here: "restless" would be "rest less" and "nobody"
        "no body". Knowledge cues are read the same way, so both sides agree.
        """
        vocabulary = self.normaliser.vocabulary
        plain = self._plain
        raw = tokenize(text)
        if plain.issuperset(raw):  # most clauses: no word any rule below can change
            return self.normaliser.stems(" ".join(raw), correct=False)
        tokens: list[str] = []
        for i, token in enumerate(raw):
            if token in plain:
                tokens.append(token)  # most words: no rule below can change them
                continue
            token = _DIALECT.get(token, token)
            if token == "bits" and i > 0 and raw[i - 1] in _BITS_OWNER:
                if raw[i + 1 : i + 2] == [] or raw[i + 1] not in _BITS_NOT:
                    token = "privates"
            elif token == "wee" and raw[i + 1 : i + 2] and raw[i + 1] in _WEE_SMALL:
                token = "small"
            elif (
                token in ("bowel", "bowels", "bowl", "bowls")
                and raw[i + 1 : i + 2] == ["of"]
                and i > 0
                and raw[i - 1] in _BOWL_BEFORE
            ):
                token = "dish"  # not "bowl", which the corrector reads as "bowel"
            elif (
                token in ("constant", "constantly") and raw[i + 1 : i + 2] and raw[i + 1] in _WORRY
            ):
                token = "often"
            elif token == "constantly" and i > 0 and raw[i - 1] in _DOING_BEFORE:
                token = "often"  # "picking her up constantly": how often, not constant pain
            elif token in _PISSED and any(
                tuple(raw[i + 1 : i + 1 + len(after)]) == after for after in _OFF_AFTER
            ):
                token = "annoyed"
            elif token in ("yo", "old") and _a_childs_age(raw, i):
                token = "child"  # "my 5yo fell off the sofa": the child, as "my son" is
            elif (
                token in _ONCOLOGY
                and raw[i + 1 : i + 2]
                and raw[i + 1] in _JOBS
                and _a_job(raw[max(0, i - 2) : i])
            ):
                token = "clinic"  # "I'm an oncology physio": a job, not anyone's cancer
            elif token in ("stone", "stones") and raw[i + 1 : i + 2] == ["throw"]:
                token = "near"  # "a stone's throw from the station"
            elif token in _COLLAPSE and i > 0 and raw[i - 1] in _COLLAPSE_NOT_BODY:
                token = "slump"
            elif token in _THING_FELL and _a_thing(raw, i):
                token = "moved"  # "the picture fell off the wall", "the cake collapsed"
            elif token == "with" and i > 0 and raw[i - 1] == "up" and _minding(raw[i + 1 : i + 3]):
                token = "watching"  # "up with her every night": caring, not in pain
            elif token in _SPECIALISTS and _a_job(raw[max(0, i - 2) : i]):
                token = "doctor"  # "my husband's an oncologist": his job, not anyone's cancer
            elif token == "legged" and i > 0 and raw[i - 1] == "cross":
                token = "crosslegged"  # a way of sitting, not a second "leg"
            # A dropped g: "freezin", "shakin" are "freezing", "shaking".
            elif (
                len(token) >= 5
                and token.endswith("in")
                and token not in vocabulary
                and token + "g" in vocabulary
            ):
                token += "g"
            # A known word is its own correction (a rule's word, such as "with", often is).
            if token not in _EVERYDAY and token not in _PEOPLE and token not in vocabulary:
                token = " ".join(self._correct(t) for t in token.split())
            tokens.append(token)
        return self.normaliser.stems(" ".join(tokens), correct=False)

    def _correct(self, token: str) -> str:
        """The typo corrector's word, or two letters swapped back ("wieght", "fveer"): a swap
        costs the corrector two edits and often misses its cutoff."""
        fixed = self.normaliser.correct(token)
        vocabulary = self.normaliser.vocabulary
        if fixed != token or token in vocabulary or len(token) < 4 or token.isdigit():
            return fixed
        for i in range(len(token) - 1):
            swapped = token[:i] + token[i + 1] + token[i] + token[i + 2 :]
            if swapped in vocabulary:
                return swapped
        return token

    def check(self, text: str) -> RedFlagHit | None:
        """The first red flag the message describes, or None."""
        return self._read(text).hit

    def read(self, text: str) -> Reading:
        """The first red flag the message describes; if none, the first category whose
        wording was found but ruled out by its context; if none, the category the message
        reads like to :attr:`likeness` (see :class:`Reading`)."""
        reading = self._read(text)
        if reading.hit is None and reading.set_aside is None and self.likeness is not None:
            return Reading(resembles=self.likeness.category_of(text))
        return reading

    def _read(self, text: str) -> Reading:
        """:meth:`read` by the phrases alone."""
        text = self._read_temperatures(_ZODIAC.sub(" star sign ", text[: self.max_chars]))
        if _FEVER_FACE in text:
            text = text.replace(_FEVER_FACE, " fever ")
        if _POLISH_LETTERS.search(text) is not None:
            text = _POLISH_MAM.sub("i have", text)
        if "get it up" in text.casefold():
            text = _CANT_GET_IT_UP.sub(" cant get an erection ", text)
        if _READING_CUE.search(text) is not None:
            text = read_weights(text)
        if _LISTED_NO_CUE.search(text) is not None:
            text = _LISTED_NO.sub(r"\1; \2? \3", text)
        if _SMALL_HOURS_CUE.search(text) is not None:
            text = _SMALL_HOURS.sub(" small hours ", text)
        if _STAR_SIGN_CUE.search(text) is not None:
            text = _STAR_SIGN.sub(" star sign ", text)
        # Each clause stemmed on its own, so time words ("in March ... all better now") are
        # only taken for a symptom in their own clause. A phrase stays inside one sentence
        # ("does it help back pain? nothing serious" is not "nothing helps the pain"), and a
        # question answered no ("night pain? no, only when I bend") rules out what it asks.
        raw: list[str] = []
        clause: list[int] = []
        sentence: list[int] = []
        parts: list[tuple[str, list[str], str]] = []
        start = 0
        for end in [*_CLAUSE_END.finditer(text), None]:
            piece = text[start : end.start() if end else len(text)]
            parts.append((piece, self._stems(piece), end.group(0) if end else ""))
            if end:
                start = end.end()
        answered: set[int] = set()
        number_of_sentence = 0
        sentence_text: list[str] = [""]
        after_but: set[int] = set()  # clauses that begin with "but"
        for number, (piece, stems, stop) in enumerate(parts):
            sentence_text[-1] += piece + stop
            raw.extend(stems)
            clause.extend([number] * len(stems))
            sentence.extend([number_of_sentence] * len(stems))
            if "?" in stop and number + 1 < len(parts) and _ANSWER_NO.match(parts[number + 1][0]):
                answered.add(number)
            if _SENTENCE_END.search(stop):
                number_of_sentence += 1
                sentence_text.append("")
            if stop.casefold() == "but":
                after_but.add(number + 1)
        # Phrases match on the words that matter; context rules look at every word.
        where = [i for i, t in enumerate(raw) if t not in FILLER]
        if not where:
            return Reading()
        positions: dict[str, list[int]] = {}
        for i, r in enumerate(where):
            positions.setdefault(raw[r], []).append(i)
        # Where the writer last speaks of themselves ("I", "my"), for the someone-else rule.
        last_self = max((i for i, t in enumerate(raw) if t in _SELF_AGAIN), default=-1)
        vetoes: dict[int, list[tuple[int, int, int, int]]] = {}
        set_aside: str | None = None
        present = set(positions)
        for category, label, matched, own_words in self._found(
            positions, present, raw, where, sentence
        ):
            if category not in vetoes:
                unless = self.unless[category]
                # A negated veto is no veto: "I haven't been trying to lose weight".
                # A negation inside it too: "bowels are not normal" is no all-clear.
                vetoes[category] = [
                    (lo - veto.reach, hi + veto.reach, clause[where[hi]], sentence[where[hi]])
                    for veto in (unless[n] for n in self._veto_candidates(category, present))
                    for lo, hi in self._veto_spans(category, veto.tokens, positions)
                    # An all-clear is said in one clause: "busy at work but at night it wakes
                    # me" is no "work nights".
                    if clause[where[lo]] == clause[where[hi]]
                    # "not trying to lose weight": where negation is trusted, one a few words
                    # before it counts too (not in bladder lists: "no numbness, bladder fine").
                    if not (
                        self.negatable[category]
                        and not _NEGATIONS.isdisjoint(raw[max(0, where[lo] - 3) : where[lo]])
                    )
                    and not self._negated(raw, clause, where[lo])
                    and not self._relative_asked_for(raw, veto.tokens, where[hi])
                    and not any(
                        raw[p] in _NEGATIONS and raw[p] not in veto.tokens
                        for p in range(where[lo], where[hi] + 1)
                    )
                    # The writer inside one about another person makes it theirs too: "my
                    # mum and I both had breast cancer" is no "mum had cancer".
                    and not (
                        not _OTHERS.isdisjoint(veto.tokens)
                        and any(
                            raw[p] in _WRITER and raw[p] not in veto.tokens
                            for p in range(where[lo], where[hi] + 1)
                        )
                    )
                ]
            near = vetoes[category]
            for lo, hi, starts in matched:
                # A veto reaches back across "but" ("slipped but caught the counter"), never
                # forward: "grabbed the counter but still went down hard".
                # Nor beyond its sentence: "I have a fever. Is a heat pack a bad idea?" A
                # concept may span two sentences; a veto in either counts ("... before skiing?
                # I fell loads last season").
                symptom = clause[where[lo]]
                told_in = (sentence[where[lo]], sentence[where[hi]])
                if any(
                    not (hi < vlo or lo > vhi)
                    and after_but.isdisjoint(range(own + 1, symptom + 1))
                    and told in told_in
                    for vlo, vhi, own, told in near
                ):
                    continue
                # An injury told with "me" in it is the writer's: "my dog knocked me over and I
                # hurt my back". (Not night pain: "the twins keep me up" is the twins'.)
                mine = self.category_ids[category] == _INJURY and not _ME.isdisjoint(
                    raw[where[lo] : where[hi] + 1]
                )
                if not mine and self._someone_else(raw, where[lo], last_self):
                    continue
                # A relative's cancer told beside the writer's own back, and no one else's
                # back: "my mum has breast cancer and lifting her is hurting my own back".
                if self.category_ids[category] == _CANCER and (
                    self._relatives_cancer_own_back(raw, where[lo])
                    or any(_feared(raw, where[p]) for p in starts)
                ):
                    continue
                if self._talked_about(raw, where[lo], where[hi], sentence):
                    continue
                if self._disowned(
                    raw,
                    (where[lo], where[hi]),
                    self.category_ids[category] == _NIGHT,
                    (sentence, clause),
                    sentence_text,
                ):
                    continue
                if self.negatable[category] and (
                    any(self._negated(raw, clause, where[p], own_words) for p in starts)
                    or self._answered_no(raw, where[lo], clause)
                    or clause[where[lo]] in answered
                ):
                    continue
                # Where negation is not trusted, a symptom word itself denied still is:
                # "no numbness anywhere, legs strong" (but "no feeling", "no control" are
                # the symptom, not its denial).
                if not self.negatable[category] and (
                    any(
                        self._denied_word(raw, where[p], own_words, clause, answered)
                        for p in starts
                    )
                    or self._denied_place(raw, where[lo], own_words, clause, answered)
                ):
                    continue
                if self._ruled_out(raw, where[lo], where[hi], sentence):
                    continue
                if self._in_the_past(category, (lo, hi), raw, where, positions, clause):
                    continue
                if _passing(
                    [raw[where[p]] for p in range(lo, hi + 1)], sentence_text[sentence[where[lo]]]
                ):
                    continue
                if self.category_ids[category] == _INJURY and _bruised_only(
                    {raw[where[p]] for p in starts}, text
                ):
                    continue
                if self.category_ids[category] == _NIGHT and _stiff_on_waking(
                    {raw[where[p]] for p in starts}, sentence_text[sentence[where[lo]]]
                ):
                    continue
                return Reading(RedFlagHit(self.category_ids[category], label, 100.0))
            # Every match of this category was ruled out by its context.
            set_aside = set_aside or self.category_ids[category]
        return Reading(set_aside=set_aside)

    def _found(
        self,
        positions: dict[str, list[int]],
        present: AbstractSet[str],
        raw: Sequence[str],
        where: Sequence[int],
        sentence: Sequence[int],
    ) -> Iterator[tuple[int, str, list[tuple[int, int, tuple[int, ...]]], frozenset[str]]]:
        """Each phrase, then each concept, that the message has, with its spans: phrases in
        their sorted order (longest first), concepts in file order.

        Found one at a time, as `check` asks: its first hit that no rule rules out ends the
        check, and what comes after it in this order (often every concept) is never looked
        for. The rules for one hit do not depend on the hits after it, so the answer is the
        one that finding them all first would give.
        """
        for index in self._phrase_candidates(present):
            phrase = self.phrases[index]
            # Each of the phrase's words can be negated, not only its first: "got a cold, no
            # temperature" is no "got a temperature".
            spans: list[tuple[int, int, tuple[int, ...]]] = [
                (lo, hi, tuple(p for p in range(lo, hi + 1) if raw[where[p]] in phrase.tokens))
                for lo, hi in _spans(phrase.tokens, positions)
                if sentence[where[lo]] == sentence[where[hi]]
            ]
            if spans:
                yield phrase.category, phrase.text, spans, frozenset(phrase.tokens)
        for number in self._concept_candidates(present):
            concept = self.concepts[number]
            if any(w.isdisjoint(present) for w in concept.words):
                continue
            concept_spans = _concept_spans(concept, positions, present)
            if concept_spans:
                # A concept's starts are its groups' first words, never a negation.
                yield concept.category, concept.text, concept_spans, frozenset()

    def _phrase_candidates(self, present: AbstractSet[str]) -> list[int]:
        """Indexes of the phrases whose every word is in ``present``, in `phrases` order.

        The same phrases, in the same order, as trying every phrase and keeping those that
        `_spans` finds (it finds nothing when a word is missing), so the first hit is the same.
        """
        by_token = self.by_token
        return sorted(
            [i for t in present if t in by_token for i, need in by_token[t] if need <= present]
        )

    def _concept_candidates(self, present: AbstractSet[str]) -> list[int]:
        """Indexes of the concepts that may have a span, in file order: every concept with an
        option of its first group whose filing word is in ``present`` (one without such an
        option has no span)."""
        filed = self.concepts_by_token
        return sorted({n for t in present if t in filed for n in filed[t]})

    def _veto_candidates(self, category: int, present: AbstractSet[str]) -> list[int]:
        """Indexes of the category's vetoes whose every word is in ``present``, in order."""
        filed = self.vetoes_by_token[category]
        return sorted(
            [n for t in present if t in filed for n, need in filed[t] if need <= present]
        )

    def _read_temperatures(self, text: str) -> str:
        """The text with fever-range temperature readings replaced by `temperature_word`.

        A bare "38" is an age as often as a reading, so a number counts only with a decimal
        ("38.6"), a unit ("101 F", "39 degrees") or a temperature word shortly before it.
        """
        word = self.temperature_word
        if word is None or _READING_CUE.search(text) is None:
            return text  # a reading needs a digit

        def replace(m: re.Match[str]) -> str:
            whole, decimals, unit = m.group(1), m.group(2), (m.group(3) or "").casefold()
            after = text[m.end() : m.end() + 12].split()
            if after and after[0].casefold().strip(".,!?") in _NOT_TEMPERATURE_UNITS:
                return m.group(0)
            cue = _TEMPERATURE_WORDS.search(text[max(0, m.start() - 30) : m.start()])
            if not (decimals or unit or cue):
                return m.group(0)
            value = float(f"{whole}.{decimals or 0}")
            if unit.endswith("f") or unit.startswith("fahr") or value >= 90:
                value = (value - 32) * 5 / 9
            if 38.0 <= value <= 43.5:
                return f" {word} "
            return m.group(0)

        return _READING.sub(replace, text)

    def _in_the_past(
        self,
        category: int,
        span: tuple[int, int],
        raw: Sequence[str],
        where: Sequence[int],
        positions: dict[str, list[int]],
        clause: Sequence[int],
    ) -> bool:
        """Whether the symptom's own clause puts it in the past and (if required) over.

        Only for categories whose `past` allows it: never bladder/bowel, leg weakness or a
        history of cancer, where an old symptom is still the red flag.
        """
        rule = self.past[category]
        if rule == "urgent":
            return False
        own = clause[where[span[0]]]

        # Time words are read in their own order, next to each other: "all better now", not
        # "all gone baggy" or "my back ... in the middle" ("back in").
        kept = [raw[i] for i in where]

        def said(markers: Sequence[tuple[str, ...]], *, of_age: bool = False) -> bool:
            return any(
                clause[where[lo]] == own
                and clause[where[lo + len(marker) - 1]] == own
                and not self._negated(raw, clause, where[lo])
                # "I'm in my twenties", "he's at high school": who they are now.
                and not (
                    of_age and not _BEING_NOW.isdisjoint(raw[max(0, where[lo] - 2) : where[lo]])
                )
                for marker in markers
                for lo in positions.get(marker[0], ())
                if tuple(kept[lo : lo + len(marker)]) == marker
            )

        distant = said(self.time_distant, of_age=True) or self._past_year(
            raw, clause, own, (where[span[0]], where[span[1]])
        )
        if rule == "distant" and distant:
            return True
        return (distant or said(self.time_past)) and said(self.time_over)

    def _past_year(
        self, raw: Sequence[str], clause: Sequence[int], own: int, symptom: tuple[int, int]
    ) -> bool:
        """A year or an age long past in the clause, near the symptom: "in 2009", "when I was
        12". Not "since 2019": that is still going on. Nor a year told of something else far
        along the clause: "hot, sweaty, shaky, and my back hurts more than when I did my disc
        in 2019".
        """
        for p, token in enumerate(raw):
            if clause[p] != own or not token.isdigit():
                continue
            if not symptom[0] - _YEAR_REACH <= p <= symptom[1] + _YEAR_REACH:
                continue
            if (
                len(token) == 4
                and 1900 <= int(token) < self.this_year
                and raw[p - 1 : p] == ["in"]
            ):
                return True
            before = [t for t in raw[max(0, p - 4) : p] if t not in _AGE_SKIP]
            if len(token) <= 2 and before[-3:] == ["when", "i", "was"]:
                return True
        return False

    @staticmethod
    def _cue(raw: Sequence[str], start: int, cues: Sequence[tuple[str, ...]]) -> bool:
        """Whether one of the cue word sequences occurs in raw[start:]."""
        for cue in cues:
            n = len(cue)
            stop = len(raw) - n + 1
            if not cue:
                if start < stop:
                    return True
                continue
            # Only where the cue's first word is (found by `index`, in C), not at every word:
            # the carer cues are looked for in every message with someone else's symptom.
            p = start
            while p < stop:
                try:
                    p = raw.index(cue[0], p, stop)
                except ValueError:
                    break
                if tuple(raw[p : p + n]) == cue:
                    return True
                p += 1
        return False

    def _veto_spans(
        self, category: int, tokens: Sequence[str], positions: dict[str, list[int]]
    ) -> list[tuple[int, int]]:
        """Where an `unless` phrase stands: its words together, at most `_VETO_SLACK` others
        between ("after work, even at night it wakes me" is no "work nights"). Where no
        negation is trusted (bladder and bowel, leg weakness) only in its own order too:
        "pain going down my leg" must not cancel "legs going numb"."""
        limit = len(tokens) + _VETO_SLACK
        if tokens[0] in _NEGATIONS:
            # "no groin numbness" must be said as such: "no idea, groin numbness" is no
            # all-clear.
            return _in_order(tokens, positions, len(tokens))
        if not self.negatable[category]:
            return _in_order(tokens, positions, limit)
        return [(lo, hi) for lo, hi in _spans(tokens, positions) if hi - lo < limit]

    def _ruled_out(
        self, raw: Sequence[str], start: int, last: int, sentence: Sequence[int]
    ) -> bool:
        """Whether a check for the symptom came back clear, in its own sentence: "checked
        for infection, all clear", it was "ruled out", or it was only "a scare"."""
        own = sentence[start]
        if any(
            raw[p + 1 : p + 2] == [_SCARE] and raw[p - 1] in ("a", "the")
            for p in range(max(start, 1), last + 1)
        ):
            return True  # "had a cancer scare": a worry that turned out to be nothing
        # The same in more words: "a cauda equina scare", "had a bowel cancer scare".
        if raw[last + 1 : last + 2] == [_SCARE] and not {"a", "the"}.isdisjoint(
            raw[max(0, start - 3) : last]
        ):
            return True
        if any(
            sentence[at] == own and sentence[end - 1] == own
            for at, end in _cue_places(
                raw, self.ruled_out, last + 1, last + 3 + self.ruled_out_words
            )
        ):
            return True
        if _CLEAR.isdisjoint(raw[p] for p in range(last + 1, len(raw)) if sentence[p] == own):
            return False
        return any(
            start - end <= 3 and sentence[at] == own
            for at, end in _cue_places(raw, self.checked_cues, 0, start)
        )

    def _talked_about(
        self, raw: Sequence[str], start: int, last: int, sentence: Sequence[int]
    ) -> bool:
        """Whether the symptom at ``start``..``last`` is a subject of talk (`_TALKED_ABOUT`),
        not had: a cue shortly before it or among its words ("back pain a sign of cancer")."""
        return any(
            start - end <= _TALK_REACH
            and sentence[at] == sentence[start]
            and _SELF_AGAIN.isdisjoint(raw[end : last + 1])
            for at, end in _cue_places(raw, self.talk_cues, start - _TALK_REACH - 3, last)
        )

    def _disowned(
        self,
        raw: Sequence[str],
        span: tuple[int, int],
        night: bool,
        sentence_and_clause: tuple[Sequence[int], Sequence[int]],
        sentence_text: Sequence[str],
    ) -> bool:
        """Whether the symptom at ``span`` (its first and last word) is asked about in
        general and then disowned (see `_DISCLAIMERS`; night pain also by
        `_NIGHT_DISCLAIMERS`)."""
        start, last = span
        sentence, clause = sentence_and_clause
        own = sentence[start]
        if sentence[last] != own or not sentence_text[own].rstrip().endswith("?"):
            return False
        # "is my dad's saddle numbness an emergency?" is asked for someone, not in general.
        asked = {t for p, t in enumerate(raw) if sentence[p] == own}
        if not _ANYONE.isdisjoint(asked):
            return False
        places = list(_cue_places(raw, self.disclaimers, last + 1, len(raw)))
        if night:
            places += _cue_places(raw, self.night_disclaimers, last + 1, len(raw))
        for at, end in places:
            if sentence[at] == own:
                continue
            if end == len(raw) or clause[end] != clause[end - 1] or raw[end] in _DISCLAIMER_AFTER:
                return True
        return False

    def _someone_else(self, raw: Sequence[str], start: int, last_self: int) -> bool:
        """Whether the symptom is someone else's and the writer does not ask for them."""
        person = self._other_person(raw, start, last_self)
        if person is None:
            return False
        if person in _GENERIC and self._cue(raw, 0, self.self_cues):
            return False
        return not self._asked_for(raw, start, person)

    @staticmethod
    def _relatives_cancer_own_back(raw: Sequence[str], start: int) -> bool:
        """Whether the cancer at ``start`` is a relative's (a relative, or "he", "she", "his",
        "her", among the ten words before it, the writer not speaking of themselves after that)
        while the only back the message names is the writer's own ("my back", "my own lower
        back"), never the relative's ("her back", "mums back")."""
        before = raw[max(0, start - _RELATIVES_CANCER_REACH) : start]
        others = [i for i, t in enumerate(before) if t in _OTHERS or t in _HE_SHE]
        # The writer speaking of themselves after the relative makes it theirs: "plus the
        # kids, I know ... my myeloma is stable".
        if not others or not _FIRST_PERSON.isdisjoint(before[others[-1] + 1 :]):
            return False
        owners = []
        for p, token in enumerate(raw):
            if token not in _BACK_OR_SPINE:
                continue
            q = p - 1
            while q > 0 and p - q <= 2 and raw[q] in _BACK_BETWEEN:
                q -= 1  # "my own lower back": the owner stands before the describing words
            owners.append(raw[q] if q >= 0 else "")
        return "my" in owners and _POSSESSIVE.isdisjoint(owners) and _OTHERS.isdisjoint(owners)

    def _asked_for(self, raw: Sequence[str], start: int, person: str) -> bool:
        """Whether, after ``start``, the writer asks on behalf of ``person`` (a carer cue that
        fits them): then the symptom is urgent for them."""
        gender = "m" if person in _MALE else "f" if person in _FEMALE else ""
        own_body = any(
            raw[p] == "my" and raw[p + 1] in _OWN_BODY for p in range(start + 1, len(raw) - 1)
        )
        for cue, cue_gender, unless_own_body in self.carer_cues:
            if unless_own_body and own_body:
                continue
            if (not cue_gender or not gender or cue_gender == gender) and self._cue(
                raw, start + 1, [cue]
            ):
                return True
        return False

    def _relative_asked_for(self, raw: Sequence[str], tokens: Sequence[str], end: int) -> bool:
        """Whether an `unless` phrase naming a relative ("dad had cancer"), ending at ``end``,
        stands in a message that then asks on that relative's behalf ("... now he's
        complaining of his back, is physio worth it for him?"): their history and their back,
        so it is no all-clear."""
        person = next((t for t in tokens if t in _OTHERS), None)
        return person is not None and self._asked_for(raw, end, person)

    @staticmethod
    def _other_person(raw: Sequence[str], start: int, last_self: int) -> str | None:
        """The person word if the symptom is another's and the writer then talks about their own.

        "My mother fell this morning and her back hurts, would physio help?" is written for
        her: it stays a red flag. Only when the writer comes back to themselves afterwards
        ("... and I hurt my back lifting her") is the symptom taken as someone else's.
        """
        if last_self <= start:  # no "I" or "my" after it
            return None
        if start > 0 and raw[start - 1] in _POSSESSIVE:
            return raw[start - 1]  # "her cancer", "his fall"
        for p in range(start - 1, max(-1, start - 1 - _OTHERS_REACH), -1):
            if raw[p] in _FIRST_PERSON:
                return None
            if raw[p] in _OTHERS:
                before = p - 1
                if before >= 0 and raw[before] in _ARTICLES:
                    before -= 1
                if before >= 0 and raw[before] in _OBJECT_BEFORE:
                    continue  # "over the dog": an object, not the one it happened to
                return raw[p]
        return None

    def _denied_word(
        self,
        raw: Sequence[str],
        at: int,
        own_words: frozenset[str],
        clause: Sequence[int],
        answered: AbstractSet[int],
    ) -> bool:
        """Where negation is not trusted, whether the symptom word at ``at`` is itself denied
        ("no numbness", "no bladder issues") or answered no to ("any leaking? no to all",
        "asked about bladder problems, I haven't"). Only a `_DENIABLE` word, or one named as
        a matter (`_MATTERS` after it): "no bladder control" is the symptom. A limb named
        before the word counts with it: "no leg weakness"."""
        if raw[at] == _NOTHING:
            return _nothing_is(raw, clause, at)  # "nothing's numb", not "I feel nothing"
        named = raw[at] in _LIMBS and at + 1 < len(raw) and raw[at + 1] in _DENIABLE
        if raw[at] not in _DENIABLE and not named:
            # A bladder or bowel word only as a matter: "no bladder or bowel problems".
            p = at + 1
            while (
                p < len(raw)
                and raw[p] not in _MATTERS
                and (raw[p] in _LISTED_SYMPTOMS or raw[p] in _LIST_JOINS)
            ):
                p += 1
            if p == len(raw) or raw[p] not in _MATTERS:
                return False
        return (
            self._negated(raw, clause, at, own_words)
            or _nothing_is(raw, clause, at)
            or clause[at] in answered
            or self._answered_no(raw, at, clause)
        )

    def _denied_place(
        self,
        raw: Sequence[str],
        at: int,
        own_words: frozenset[str],
        clause: Sequence[int],
        answered: AbstractSet[int],
    ) -> bool:
        """Whether the match at ``at`` is only where a denied symptom word would be: "no
        numbness in the saddle area", "no tingling around my back passage" (`_PLACE_LINKS`
        between the two). "numbness in the saddle area" alone stays the symptom."""
        p = at - 1
        while p >= 0 and at - p <= 4 and raw[p] in _PLACE_LINKS:
            p -= 1
        return (
            p >= 0
            and p < at - 1
            and raw[p] in _DENIABLE
            and clause[p] == clause[at]
            and self._denied_word(raw, p, own_words, clause, answered)
        )

    @staticmethod
    def _answered_no(raw: Sequence[str], start: int, clause: Sequence[int]) -> bool:
        """A screening question answered no: "the physio asked if I'd lost weight, I said no"."""
        before = raw[max(0, start - _ASKED_REACH) : start]
        # "asked if", "asked me if", "asked whether", "asked about". "whether" is not in the
        # typo vocabulary and comes out as "weather".
        asked = any(
            before[i] in _ASKED and (_ASKED_LINK & set(before[i + 1 : i + 3]))
            for i in range(len(before))
        )
        if not asked:
            return False
        after = [
            t for p, t in enumerate(raw[start + 1 :], start + 1) if clause[p] == clause[start]
        ]
        if any(
            after[i] in _ANSWERED and after[i + 1 : i + 2] == ["no"] for i in range(len(after))
        ):
            return True
        # Or "I don't" / "I haven't" said bare, in that clause or the next one.
        follow = [
            t for p, t in enumerate(raw[start + 1 :], start + 1) if clause[p] == clause[start] + 1
        ]
        for words_after in (after, follow):
            for i in range(len(words_after) - 1):
                if words_after[i] == "i" and words_after[i + 1] in _BARE_DENIALS:
                    rest = words_after[i + 2 : i + 3]
                    if not rest or rest[0] in _AFTER_DENIAL:
                        return True
        return False

    @staticmethod
    def _negated(
        raw: Sequence[str],
        clause: Sequence[int],
        start: int,
        phrase: frozenset[str] = frozenset(),
    ) -> bool:
        """Whether an explicit negation stands right before the symptom ("no fever"), in its
        own clause: "Numbness? No. Leaking? Yes" does not deny the leaking.

        A negation that is one of the matched ``phrase``'s words ("not sleeping") is part
        of the symptom, not a denial of it.
        """
        # "not even when I lie down" stresses the symptom ("even when I lie down"), it does
        # not deny it: a match starting at "even" is never negated.
        if raw[start] == "even":
            return False
        p = start - 1
        while p >= 0 and raw[p] in _NEGATION_SKIP:
            p -= 1
        # One verb may stand between: "it doesn't wake me at night" negates a match that
        # starts at "me" ("gets me up at night" found out of order).
        if p > 0 and raw[p] in _NEGATED_VERBS:
            p -= 1
        # A list of symptoms shares its negation: "no bladder or numbness issues", "no fever
        # or chills". Only over symptom words: "not sure and numb down there" is no denial.
        for _ in range(3):
            if p > 0 and raw[p] in _LIST_JOINS and raw[p - 1] in _LISTED_SYMPTOMS:
                p -= 2
                while p >= 0 and raw[p] in _NEGATION_SKIP:
                    p -= 1
        return (
            p >= 0 and clause[p] == clause[start] and raw[p] in _NEGATIONS and raw[p] not in phrase
        )
