"""Question matching: normalise, rewrite synonyms, score topics with rapidfuzz, decide."""

from __future__ import annotations

import itertools
import math
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress
from typing import Any, Final, Literal

from rapidfuzz import fuzz, process

from bot.config import MatchingSettings
from bot.schema import FaqFile, SynonymsFile

Outcome = Literal["answer", "suggest", "unknown"]


def words(text: str) -> list[str]:
    """Whitespace-separated words of a word list written as one string."""
    return text.split()


# Words that carry no topic: function words plus the chatter around a question ("hi", "pls").
# Negations are not here on purpose: the red-flag check works on the same tokens and needs them.
# Nor is "who": it carries the intent of "who is physio for" (who-should-consider).
STOP_WORDS: Final = frozenset(
    words(
        """
    a an the and or but if so of to in on at by for with from into onto about as than then
    is am are was were be been being do does did doing done have has had having get got gotten
    getting
    i me my mine myself you your yours we us our they them their he him his she her it its
    this that these those there here what whats which whom whose when where why how hows
    can could would should will shall may might must just really actually quite very too also
    any some all much many more most lot lots bit kind sort thing things stuff like
    hi hello hey hiya thanks thank please pls plz ok okay yes yeah yep lol oh um uh well
    im ive id ill youre youve dont doesnt didnt isnt arent wasnt wont cant couldnt shouldnt
    not no nor
    question quick wondering wonder tell know want need let go going gonna wanna maybe
    one ones someone something anything everything way ways
    two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty
    hundred third fourth fifth sixth
    monday tuesday wednesday thursday friday saturday sunday mondays tuesdays wednesdays
    thursdays fridays saturdays sundays
    """
    )
)
# Everyday words that are one letter away from a knowledge word ("seat" / "sweat", "kid" /
# "kind", "woke" / "woken"): known, so never "corrected" into something they do not mean.
COMMON_WORDS: Final = frozenset(
    words(
        """
    seat seats kid kids asleep woke wake awake sat sit cat car cars bed beds fit fine line
    lift lifts left lost lose last fast past rest test best west pain paint pin pins pan
    hip hips lip tip top stop shop ship sheet sweet meet feet feel fell fall wall well tell
    bad bag back pack rack lack sack hurt hut shut bit but bet bite site side wide ride
    diet died dies tied tired hard card cord core more mores sore sure cure care cage
    ward word work worm warm walk talk tall call cold hold old bold told sold gold fold
    ice nice rice lice spin skin shin thin chin kin king kind mind find bind wind wine
    dog dogs jog job mob sob rob hop hope rope cope copes coped nose hose host most post
    yank yanks lead leads load loads crick neck nick sick tick kick lick pick brick
    cover covers over reset left wrong form forms oil cough weather whether rate leaning
    """
    )
)
# What the bot does not cover (docs/topics.md): other body parts when nothing of the back
# (or a leg, where back pain often runs) is mentioned; not "hands" ("hands-on") or "toes"
# ("touch my toes"), which back questions use; prices and insurance, drug doses, other
# therapies. A message about these is never answered with a topic, however many words it
# shares with one ("neck stretches?", "how much is a session"); it gets choices at most.
OTHER_PARTS: Final = frozenset(
    words(
        """
    neck necks knee knees shoulder shoulders calf calves foot feet heel heels ankle ankles
    finger fingers thumb thumbs wrist wrists elbow elbows arm arms jaw head
    flexor flexors sunburn sunburnt rash rashes mole moles
    headache headaches plantar fasciitis tendon tendons acl acls mcl pcl meniscus menisci toe
    throat eye eyes ear ears earache sinus sinuses
    anxiety depression depressed panic insomnia migraine migraines fibromyalgia diabetes
    cholesterol asthma eczema psoriasis acne stress heart lung lungs kidney kidneys liver
    rotator achilles carpal bunion bunions
    tooth toothache dentist dentists dental molar molars orthodontist gum gums
    grief grieving bereavement loneliness lonely phobia phobias ocd adhd autism ptsd addiction
    """
    )
)
BACK_WORDS: Final = frozenset(
    words(
        """
    back backs spine spinal lumbar disc discs disk disks sciatica sciatic lumbago vertebra
    vertebrae tailbone coccyx backache backaches leg legs buttock buttocks bum glutes nerve
    nerves hamstring hamstrings posture core blade blades scapula scapulae
    """
    )
)
NOT_COVERED: Final = frozenset(
    words(
        """
    price prices cost costs fee fees charge charges insurance insurer insured medicare
    medicaid refund dose doses dosage mg milligrams prescribe prescription overdose
    password findings radiologist payment payments voucher vouchers
    reimburse reimbursed reimbursement deductible copay copayment bupa vhi hsa fsa
    compensation lawyer lawyers solicitor solicitors sue suing lawsuit tribunal
    precio precios tarifa tarifas coste costo costos reembolso aseguradora aseguradoras
    póliza poliza
    """
    )
)
# Other therapies: not covered, unless the message asks whether physio is *like* one of
# them ("will the physio crack my back like a chiropractor?" is a manual-therapy question).
OTHER_THERAPIES: Final = frozenset(
    words(
        """
    acupuncture acupuncturist chiropractor chiropractors chiropractic chiro chiros cupping
    reiki cbd osteopath osteopaths osteopathy osteopathic homeopathy homeopathic naturopath
    reflexology needling tens spa spas acupunture accupuncture acupuncure chiropracter
    cbt counsellor counsellors counselor counselors counselling counseling psychotherapy
    psychotherapist psychotherapists psychologist psychologists psychiatrist psychiatrists
    hypnotherapy hypnotherapist hypnosis emdr
    """
    )
)
_LIKENESS: Final = frozenset(words("like same similar different difference"))
_NEGATIONS: Final = frozenset(words("not no dont without"))
# Names of common painkillers and other drugs people take for back pain. Which one, how
# much and with what is for a doctor or pharmacist; a message naming one is only about
# physio when it also names physio or exercise, or asks to do without the drug ("been on
# ibuprofen for weeks, how else can I ease it without meds").
DRUG_NAMES: Final = frozenset(
    words(
        """
    ibuprofen paracetamol acetaminophen naproxen diclofenac aspirin codeine cocodamol
    codydramol tramadol morphine oxycodone hydrocodone oxycontin fentanyl gabapentin
    pregabalin lyrica neurontin diazepam valium amitriptyline nortriptyline duloxetine
    cymbalta celecoxib meloxicam etoricoxib cyclobenzaprine methocarbamol baclofen
    tizanidine orphenadrine prednisone prednisolone tylenol advil nurofen aleve motrin
    voltaren panadol solpadeine opioid opioids opiate opiates nsaid nsaids painkiller
    painkillers relaxant relaxants antidepressant antidepressants steroid steroids
    inflammatories antiinflammatory antiinflammatories
    glucosamine chondroitin turmeric curcumin cbd magnesium
    """
    )
)
# Operations on other parts of the body than the spine ("will weight loss surgery help my
# back"): like a drug, only about physio when physio or exercise is named too.
OTHER_PROCEDURES: Final = frozenset(
    words(
        """
    bariatric gastric hysterectomy caesarean cesarean appendectomy gallbladder cataract lasik
    liposuction
    """
    )
)
_OTHER_PROCEDURE: Final = re.compile(r"\b(?:weight loss|c) (?:surgery|operation|op|section)\b")
# A replaced hip or knee is another joint, however close to the back; a cold sore or a sore
# throat is no sore back.
_OTHER_PART_PHRASES: Final = re.compile(
    r"\b(?:hip|knee|shoulder|ankle|elbow) replacements?\b|\bcold sores?\b|\bsore throat\b"
    r"|\b(?:back|front|wisdom|baby|false|sore|sensitive|loose|chipped|crooked) teeth\b"
    r"|\b(?:pulled|pull|pulling|torn|tore|tear|strained|strain|injured|sprained|tweaked)"
    r" (?:my |a |his |her |the |their )?(?:hamstrings?|groin|quads?|quadriceps|calf|calves"
    r"|hip flexors?|adductors?)\b|\bhamstring (?:injury|injuries|tear|tears|strain|pull)\b"
    r"|\brestless legs?\b"
)
# Words that show a message asks about physio itself, or about doing without a drug
# ("what else helps", "get off the painkillers", "I'd rather not take pills").
THERAPY_WORDS: Final = frozenset(
    words(
        """
    physio physios physiotherapy physiotherapist physiotherapists physical pt therapist
    therapists therapy exercise exercises exercising stretch stretches stretching rehab
    massage manual without instead alternative alternatives natural naturally less fewer
    off stop stopping quit reduce cut wean else replace avoid rather
    """
    )
)
# A question about a scan or report ("what does my MRI say", "interpret my x-ray") asks for
# a reading of it, which only the doctor who ordered it can give; unless it also asks about
# physio ("the x-ray said wear and tear, can therapy help?").
_REPORTS: Final = frozenset(
    words("mri mris scan scans xray xrays ray rays report reports results ct")
)
_READING: Final = frozenset(
    words("mean means meaning explain interpret interpreting read look says say mentions")
)
# Subjects far from the body: pets, computer parts, films and music, lawns, office targets,
# money and shopping, clothes and shoes, travel and restaurants. Next to them the knowledge
# base's words are used in another sense ("my cat's posture", "stretch goals", "a treatment
# plan for the lawn", "the condition of my car", "the best laptop to buy"), so such a
# message is only answered when it also names the writer's body, pain or therapy.
OTHER_SUBJECTS: Final = frozenset(
    words(
        """
    cat cats kitten kittens dog dogs puppy puppys puppies pet pets horse horses hamster
    hamsters rabbit rabbits pony ponies ferret ferrets tortoise greyhound greyhounds
    labrador labradors spaniel spaniels terrier terriers retriever retrievers collie collies
    parrot vet vets
    cpu gpu processor intel ryzen ssd wifi router modem backup icloud printer software
    film films movie movies cast actor actors actress trailer sequel netflix
    lyrics song songs album
    lawn lawns grass turf shrub shrubs moss fertiliser fertilizer compost
    goal goals kpi kpis okr okrs deadline deadlines promotion salary budget
    sell selling resell mortgage invest investing stocks crypto buy buying bought purchase
    cheap cheapest brand brands deal deals discount
    tv television rerun reruns cinema channel streaming
    jeans trousers fabric shirt sweater jumper shoe shoes sneakers
    restaurant restaurants taxi cab uber flight flights hotel hotels
    mot mots mechanic mechanics tyre tyres tire tires engine engines gearbox brakes
    suspension windscreen exhaust dealership
    weather forecast rain raining rainy snow snowing snowy frost frosty heatwave storm
    storms sunny sunshine thunder
    league leagues fixture fixtures playoff playoffs scoreline
    relationship relationships divorce dating breakup boyfriend girlfriend
    """
    )
)
# Subjects whose own names use the base's words ("a documentary about spinal surgeons", "a
# pun about physical therapy", "does creatine build muscle"): films and shows, jokes and poems,
# supplements. Only the writer's pain, own body, posture or exercise makes such a message a
# question ("I laughed at a joke and my back went"); "spinal", "physical", "physio" or
# "muscle" alone do not.
STRICT_SUBJECTS: Final = frozenset(
    words(
        """
    netflix film films movie movies plot trailer sequel remake remakes cinema documentary
    actor actors actress sitcom sitcoms
    joke jokes pun puns riddle riddles poem poems limerick
    protein proteins whey creatine supplement supplements collagen vitamin vitamins
    """
    )
)
_STRICT_HEALTH: Final = frozenset(
    words(
        """
    pain pains painful hurt hurts hurting ache aches aching achy sore stiff stiffness tight
    injury injured backache backaches sciatica sciatic lumbago disc discs herniated slipped
    spasm spasms numb numbness tingling exercise exercises exercising stretch stretches
    stretching posture postural slouch slouching slouched slump slumped slumping hunch
    hunched hunching sit sitting sat seated
    """
    )
)
# Domain words in their other sense: processor names ("core i 7"), backing up a device or
# files ("back up my photos"; not "my back up"). Phones and laptops are not other subjects:
# hunching over them is a posture question. ("my back up" is looked behind from after "back":
# the same test as before it, but only tried where "back" is, not at every letter.)
_OTHER_SENSE: Final = re.compile(
    r"\bcore (?:i|ultra) ?\d\b"
    r"|\bback (?:garden|gardens|yard|door|doors|office|story|stories|pay|end|catalogue|burner)\b"
    r"|\b(?:a|good|best|great|this|that) books?\b"
    r"|\b(?:full|half|quarter|running|fly|wing|centre|center) ?backs?\b|\bback (?:line|row)s?\b"
    r"|\bwho (?:won|wins|is winning|scored)\b|\bcold (?:snap|spell|front)s?\b"
    r"|\b(?:has|have|had|got|gets|get|having) (?:my|your|his|her|their|our) back"
    r"(?= (?:when|whenever|no matter|if|and|anymore|always|though|like)\b|$)"
    r"|\b(?:turn|turns|turned|turning) (?:my|your|his|her|their|our) back on\b"
    r"|\bback(?<!\bmy back)(?<!\bthe back) (?:up|ups)"
    r" (?:my|your|the|all|a|an|files?|photos?|data)\b"
    # A thing's back, and words of the domain in another sense.
    r"|\bback (?:seats?|to school)\b|\b(?:hard|external) (?:disc|disk)s?\b|\bdisc (?:drive|golf)\b"
    r"|\bphysical (?:copy|copies|store|shop|edition|media)\b"
    r"|\bflexible (?:working|hours|job|schedule|rota)\b|\bstretch marks?\b"
    r"|\bchronic(?:ally)? (?:late|lateness|procrastinat\w*)\b"
    r"|\bstretch(?:ing)? (?:a |the |my )?(?:canvas|budget|money|shoes?|boots?|leather)\b"
    r"|\bbend(?:ing)? (?:a |the )?(?:copper |metal |plastic )?(?:pipes?|wire|rods?|tubes?)\b"
    r"|\b(?:book|booking) (?:a |the )?(?:table|flight|hotel|holiday|taxi|cab|tickets?)\b"
    r"|\bappointment (?:at|with) (?:the |my )?(?:passport|bank|post office|council|embassy"
    r"|consulate|hairdresser|salon|barber|vet|dentist|optician|garage)\b"
)
# The back said to be fine, or not the problem: the other part named is what is asked about.
_BACK_CLEARED: Final = re.compile(
    r"\b(?:my |the )?back (?:is |s |feels |seems )?"
    r"(?:totally |completely |perfectly |absolutely )?(?:fine|ok|okay|alright|good)\b"
    r"|\bnot (?:my|the) back\b|\bback (?:is not|isnt) the problem\b"
    r"|\bno back (?:pain|ache|problems?|issues?)\b"
)
# How someone sits or stands is a posture question whatever they look at ("slumped in front
# of the TV", "hunched over the laptop").
_POSTURE_WORDS: Final = frozenset(
    words(
        "posture postural slouch slouching slouched slump slumped slumping hunch hunched "
        "hunching sit sitting sat seated"
    )
)
_CAREER: Final = frozenset(
    words(
        "earn earns earning earnings career careers university universities uni vacancy "
        "vacancies hiring apprenticeship internship interview interviews interviewer "
        "interviewers cv essay essays dissertation dissertations thesis coursework"
    )
)
# Studying or applying for physio ("I'm applying for a physiotherapy course",
# "how do I become a physio"); not what degree a physio has, which is a question about them.
_CAREER_PHRASES: Final = re.compile(
    r"\bpersonal statements?\b|\b(?:physio|physiotherapy|physical therapy) students?\b"
    r"|\b(?:study|studying|studied|become|becoming|qualify as|qualifying as) an?"
    r" (?:physio|physiotherapist|physical therapist|pt)\b|\b(?:study|studying) (?:physio\w*"
    r"|physical therapy)\b"
    r"|\b(?:for|into|my|apply(?:ing)? (?:for|to)) (?:a |an |the )?(?:physio\w*|physical therapy)"
    r" (?:degrees?|courses?|programmes?|programs?|schools?|placements?|apprenticeships?)\b"
)
# Paperwork and shopping are for a doctor, an employer or a shop, whoever's back it is: a sick
# or fit note, "where can I buy …", a spare part.
_PAPERWORK_SHOPPING: Final = re.compile(
    r"\b(?:sick|fit) notes?\b|\b(?:sick|medical|doctors?) certificates?\b"
    r"|\b(?:doctors?|gp|medical) notes? for\b"
    r"|\bwhere (?:can|could|do|should|would|to) (?:i |we |you )?(?:buy|purchase|order)\b"
    r"|\b(?:replacement|spare) parts?\b"
)
_CAREER_CUES: Final = frozenset(
    words(
        """
    statement statements student students study studying studied become becoming qualify
    qualifying degree degrees course courses programme programmes program programs school
    schools placement placements apprenticeship apprenticeships
    """
    )
)
_PAPERWORK_CUES: Final = frozenset(
    words("sick fit certificate certificates note notes buy purchase order replacement spare")
)
_NOT_BODY_BACK_CUES: Final = frozenset(
    words(
        "has have had got gets get having tooth teeth molar molars fine ok okay alright all "
        "turn turns turned turning"
    )
)
# "back" in another sense, hidden from the body tests: "my partner has my back when …" (an
# idiom), "my back tooth", a back said to be fine.
_NOT_BODY_BACK: Final = (
    re.compile(
        r"\b(?:has|have|had|got|gets|get|having) (?:my|your|his|her|their|our) (back)"
        r"(?= (?:when|whenever|no matter|if|and|anymore|always|though|like)\b|$)"
    ),
    re.compile(r"\b(back) (?:tooth|teeth|molars?)\b"),
    re.compile(r"\b(?:turn|turns|turned|turning) (?:my|your|his|her|their|our) (back) on\b"),
    # "my back is fine, can physio help restless legs": the back is not what is asked about.
    re.compile(r"\b(back) (?:is |s |feels )(?:fine|ok|okay|alright|all right)\b"),
)
# After "anyway" or "by the way" the writer asks what they came for: the back pain told
# before it is said in passing ("my lower back is a bit stiff, anyway which fabric suits
# curtains"), so the rest of the message is read on its own.
_CHANGE_OF_SUBJECT: Final = re.compile(
    r"\b(?:anyway|anyways|anyhow|btw|by the way|on another note|unrelated|off topic"
    r"|changing the subject|different question|separate question"
    r"|(?:actual|real|main) question(?: is)?|what i really want to know(?: is)?)\b"
)
_CHANGE_OF_SUBJECT_WORDS: Final = frozenset(
    words("anyway anyways anyhow btw note unrelated topic subject")
)
_QUESTION_KINDS: Final = frozenset(words("actual real main different separate"))


def _turns_subject(tokens: Sequence[str]) -> bool:
    """Whether the message may change the subject (a quick test before the word runs)."""
    known = frozenset(tokens)
    return (
        not _CHANGE_OF_SUBJECT_WORDS.isdisjoint(known)
        or ("way" in known and "by" in known)
        or ("question" in known and not _QUESTION_KINDS.isdisjoint(known))
        or ("know" in known and "really" in known)
    )


# The first words of `_OTHER_PART_PHRASES`' runs: it is only searched when one is there.
_PART_PHRASE_CUES: Final = frozenset(
    words(
        """
    replacement replacements sore sores teeth hamstring hamstrings groin quad quads
    quadriceps calf calves flexor flexors adductor adductors restless
    """
    )
)
_FIRST_PERSON: Final = frozenset(words("i me im ive id myself"))
_PAIN: Final = frozenset(
    words("pain pains painful hurt hurts hurting ache aches aching achy sore stiff injury")
)
_ANIMALS: Final = frozenset(
    words(
        "cat cats kitten kittens dog dogs puppy puppys puppies pet pets horse horses hamster "
        "hamsters rabbit rabbits pony ponies ferret ferrets tortoise greyhound greyhounds "
        "labrador labradors spaniel spaniels terrier terriers retriever retrievers collie collies "
        "dachshund dachshunds poodle poodles pug pugs beagle beagles corgi corgis bulldog "
        "bulldogs frenchie frenchies husky huskies alsatian alsatians whippet whippets lurcher "
        "lurchers staffie staffies cockapoo cockapoos labradoodle labradoodles mare gelding "
        "stallion donkey donkeys"
    )
)
# Physio itself: "core exercises for my horse" is still the horse's.
_PHYSIO: Final = frozenset(
    words(
        "physio physios physiotherapy physiotherapist physiotherapists physical pt therapist "
        "therapists therapy rehab"
    )
)
_MY_BODY: Final = frozenset(
    words(
        "back backs spine neck leg legs hip hips bum buttock buttocks shoulder shoulders knee "
        "knees"  # "backs": "my back's gone" once the apostrophe goes
    )
)
# A relative named next to a pet: "my dad walks the dog and his sciatica flares" is his.
_RELATIVES: Final = frozenset(
    words(
        "dad mum mom mam father mother husband wife partner son daughter grandad grandpa "
        "grandma gran granny nan nana brother sister boyfriend girlfriend"
    )
)


def _own_body(tokens: Sequence[str]) -> bool:
    """Whether the writer names their own body: "my back", "my lower back", "I hurt my hip";
    not a pet's ("my dog's back legs")."""
    return (
        any(
            t == "my"
            and i + 1 < len(tokens)
            and tokens[i + 1] not in _ANIMALS
            and any(w in _MY_BODY for w in tokens[i + 1 : i + 3])
            for i, t in enumerate(tokens)
        )
        or "backache" in tokens
    )


# Next to a pet, "his physio exercises" or "her back legs" are the pet's.
_PET_CARE: Final = re.compile(
    r"\b(?:his|her|its|their) (?:physio\w*|rehab|hydrotherapy|exercises|back|spine|legs?"
    r"|hips?|hind|operation|op|surgery)\b"
)
_AFTER_PREPOSITION: Final = frozenset(words("off from by over onto under"))
_DETERMINERS: Final = frozenset(words("my the a an our his her their"))


def _animal_as_object(tokens: Sequence[str]) -> bool:
    """Whether an animal is only what the writer fell off or over ("a fall off my horse")."""
    return any(
        t in _ANIMALS
        and (
            tokens[i - 1] in _AFTER_PREPOSITION
            or (tokens[i - 1] in _DETERMINERS and i > 1 and tokens[i - 2] in _AFTER_PREPOSITION)
        )
        for i, t in enumerate(tokens)
        if i > 0
    )


def _back_named(tokens: Sequence[str]) -> bool:
    """Whether "back" is someone's ("my back", "a bad back", "back problems"), not "back up";
    "my back's" ("my backs" once the apostrophe goes) too."""
    return any(
        (t == "back" or (t == "backs" and i > 0 and tokens[i - 1] == "my"))
        and (i + 1 == len(tokens) or tokens[i + 1] not in _BACK_COMPOUND)
        and (
            (i > 0 and tokens[i - 1] in _OWNED_BACK)
            or (i + 1 < len(tokens) and tokens[i + 1] in _BACK_TROUBLE)
        )
        for i, t in enumerate(tokens)
    )


# Knees as part of a back stretch or of lifting: "knees to chest", "bend your knees", "a
# pillow between my knees", "can't reach past my knees". Not another part asked about.
_KNEES_IN_EXERCISE: Final = re.compile(
    r"\bknees? to (?:my |your |the )?chest\b|\bbend(?:ing|s)? (?:my |your |the |at the )?knees\b"
    r"|\b(?:pillow|cushion) (?:between|under) (?:my |your |the )?knees\b"
    r"|\breach (?:past |to |below |beyond )?(?:my |your |their |the )?knees\b"
)
# Exercise names and sayings with an animal in them ("cat cow", "bird dog", "a YouTube
# rabbit hole", "dog tired") name no animal.
_EXERCISE_NAMES: Final = re.compile(
    r"\b(?:cat (?:and )?(?:cow|camel)|bird dogs?|downward dog|rabbit holes?|dog tired"
    r"|cat naps?|sick as a dog|like a (?:dog|horse))\b"
)
# The writer's body, pain or therapy. "back" counts when it is someone's ("my back", "a bad
# back", "the lower back"), not in "back up" or "back to the future".
HEALTH_WORDS: Final = frozenset(
    words(
        """
    pain pains painful hurt hurts hurting ache aches aching achy sore stiff stiffness tight
    injury injured injure spine spinal lumbar disc discs sciatica sciatic nerve nerves
    muscle muscles physio physios physiotherapy physiotherapist physical pt therapist
    therapy exercise exercises rehab doctor gp surgery operation clinic appointment
    symptoms spasm spasms backache lumbago appointments session sessions physiotherapists
    therapists injuries surgeon body joint joints hip hips leg legs bum buttock buttocks
    flare flares flareup episode episodes relapse numb numbness tingling tingly twinge
    twinges cramp cramps weakness tender swelling inflamed inflammation pulled strained
    sprained slipped herniated bulging trapped pinched arthritis vertebra vertebrae tailbone
    coccyx glutes hamstring hamstrings backaches
    """
    )
)
# A message at least a third of whose content words the knowledge base never uses, and that
# names no back, body, pain, therapy, posture, exercise or booking word, is about something
# else ("treatment for dandruff", "who won the football"): not answered. (Messages that do
# name one keep the looser `max_unknown_share`: "are you open on sundays" is a question.)
_UNANCHORED_UNKNOWN_SHARE = 0.33
# The anchor words are English: the rule leaves alone a message written in another
# language, whose own function words are unknown to it ("me duele la espalda cuando…"): one
# with accented letters or a common Spanish function word.
_FOREIGN: Final = frozenset(
    words(
        """
    de del la el los las que para por con una es mi mis cuando como cuanto tengo puedo hay
    muy pero esta este estoy tiene duele
    """
    )
)
# (The last line: the same few words in Spanish, the bot's other language.)
_TOPIC_ANCHORS: Final = frozenset(
    words(
        """
    posture postural slouch slouching slouched slump slumped slumping hunch hunched hunching
    sit sat sitting seated desk chair standing sleeping stretch stretches stretching
    flexibility mobility exercise exercises workout plank planks pilates yoga swim swimming
    walking lift lifting lifted carry carrying bend bending bent kneel kneeling twist twisting pick
    open opening book booking booked rebook reschedule cancel seen visit visits contact call
    ring email phone number slot slots available availability calling phoning whatsapp address
    espalda dolor duele fisio fisioterapia fisioterapeuta ejercicio ejercicios ciatica
    columna hernia cita citas postura estiramiento estiramientos rehabilitacion
    """
    )
)
# "the back garden", "my back door": "back" is no body part before these.
_BACK_COMPOUND: Final = frozenset(
    words("garden gardens yard door doors office story stories pay end catalogue burner")
)
# "back problems", "back wahala": the back is the subject whoever's it is.
_BACK_TROUBLE: Final = frozenset(
    words("problem problems issue issues trouble troubles wahala muscles muscle injury")
)
_OWNED_BACK: Final = frozenset(
    words(
        """
    my your his her their our the a lower upper mid middle bad sore stiff achy painful
    aching weak injured whole dodgy
    """
    )
)
# "how much is a session" asks a price; "how many (ibuprofen) can I take" a dose; "what's
# wrong with my back" / "what's causing it" a diagnosis. Word runs, so "how much does physio
# help", "how much exercise" and "is bad posture causing my pain" are not caught; nor is "how
# many days should I leave it" (a time, or a count of sessions or exercises, is no dose).
_PRICE_DOSE_DIAGNOSIS: Final = re.compile(
    r"\bhow (?:much (?:is|are|for|per|do you charge|would it cost)"
    r"|many (?!(?:days?|weeks?|months?|years?|hours?|minutes?|times?|sessions?|appointments?"
    r"|visits?|reps?|sets?|exercises?|stretches?)\b)\w+ (?:can|should) i)\b"
    r"|\bwhat(?:s| is) (?:wrong with|causing)\b"
    r"|\b(?:sessions?|appointments?|visits?|assessments?|consultations?) (?:is |are )?free\b"
    r"|\bfree (?:of charge|sessions?|consultations?|assessments?|trials?)\b|\bfor free\b"
    r"|\bcu[aá]nto (?:cuesta|cuestan|vale|valen|cobran|cobr[aá]is|sale)\b"
    r"|\b(?:cubre|cubren) (?:el|mi|la|los) (?:seguro|mutua|sanidad)\b|\bseguro m[eé]dico\b"
    r"|\bmoney back\b|\b(?:can|could|do|how|will|would) (?:i|we|you) claim\b"
    r"|\bclaim (?:it|this|the cost) (?:back|on|through)\b"
    r"|\b(?:can|do|how|should|will|would|must) (?:i|we|you) (?:have to |need to )?pay\b"
    r"|\bpay (?:by|with|upfront|up front|in advance|on the day|per)\b"
    r"|\bpay for (?:the |a |my |each |every )?(?:sessions?|appointments?|physio|treatment"
    r"|assessments?|visits?)\b"
    r"|\b(?:plan|policy|insurance|scheme) (?:cover|covers|pay for|pays for)\b"
)
# Tokens this short are too ambiguous to correct as typos ("pt" is not a typo of "put").
MIN_CORRECTABLE = 3
# Text beyond this is never looked at: time per message stays bounded whatever arrives.
_SENTENCE_SPLIT = re.compile(r"[.!?;:\n]+|\s[-–—]+\s")
_APOSTROPHES: Final = "’'`´"
# One character class, not an alternation: tokenising is most of the load time.
_NON_WORD = re.compile(r"[\W_]+")
# The same, new lines kept: they separate the texts `_tokenize_many` reads together.
_NON_WORD_BUT_LINES = re.compile(r"(?:[^\w\n]|_)+")
_CANNOT = re.compile(r"\b(?:cannot|can not|unable to)\b")
_REPEATS = re.compile(r"(\w)\1\1+")
# "8kg" -> "8 kg", "40mph" -> "40 mph": numbers and units are separate words.
_DIGIT_EDGE = re.compile(r"(?<=\d)(?=[^\W\d])|(?<=[^\W\d])(?=\d)")
_DIGIT = re.compile(r"\d")
# Each text is tokenised by the normaliser, the matcher and the red-flag check, at load time
# (twice per language) and per message; a small cache of recent texts saves the repeats.
_TOKENIZE_CACHE = 8192
_CACHE_LIMIT = 50_000
# A word filed under more questions than this only finds candidates when no rarer word does.
_MAX_POSTINGS = 400


_VOWELS: Final = frozenset("aeiou")


# Roots kept apart from their "e" form: "losing weight" is what people report, "to lose
# weight" what they want, and the red-flag check must tell the two apart; "pacing" (of
# activity, a pain-management word) is not "pace", which "place" is one letter from.
_NO_E: Final = frozenset({"los", "pac"})


def _short_vowel(root: str) -> bool:
    """Consonant, vowel, consonant (not w, x or y): a root such as "wak" or "hop"."""
    a, b, c = root[0], root[1], root[2]
    return a not in _VOWELS and b in _VOWELS and c not in _VOWELS and c not in "wxy"


# Nouns whose "-ing" is no verb ending, where stripping it makes another word: "evening" is
# not "even" ("even at rest", "even lying down").
_NOUNS_IN_ING: Final = {"evening": "evening", "evenings": "evening"}


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """A light, consistent suffix strip: the same on both sides is what matters, not grammar."""
    if len(token) <= 3 or token.isdigit():
        return token
    if token in _NOUNS_IN_ING:
        return _NOUNS_IN_ING[token]
    if token.endswith("ness") and len(token) > 6:
        token = token[:-4]  # numbness -> numb, weakness -> weak
    if token.endswith("ies") and len(token) > 4:
        token = token[:-3] + "y"
    elif token.endswith(("sses", "ches", "shes", "xes", "zes")):
        token = token[:-2]
    elif token.endswith("s") and not token.endswith(("ss", "us", "is")):
        token = token[:-1]
    verb = False
    if token.endswith("ing") and len(token) > 5:
        token, verb = token[:-3], True
    elif token.endswith("ed") and len(token) > 4:
        token, verb = token[:-2], True
    elif token.endswith("ly") and len(token) > 5:
        token = token[:-2]
    if len(token) > 3 and token[-1] == token[-2] and token[-1] not in "lsz":
        token = token[:-1]  # sitting -> sitt -> sit
    elif verb and len(token) == 3 and _short_vowel(token) and token not in _NO_E:
        # waking -> wak -> wake, as "wakes" gives: a verb of this shape that kept a single
        # consonant before -ing/-ed had an "e" (hoping/hope; hopping doubled it to hopp).
        token += "e"
    if len(token) > 4 and token[-1] in "ey":
        token = token[:-1]  # move/moving -> mov, injury/injured -> injur
    return token


# Dropped from the word-pair features: chatter and pronouns. Question words ("who", "when",
# "how", "what") and verbs such as "work", "worth", "wait" stay: "who is physio for", "what
# does a physio do" and "does physio work" differ only in them.
_PHRASE_FILLER: Final = frozenset(
    stem(w)
    for w in words(
        "a an the hi hello hey hiya thanks thank please pls plz ok okay lol oh um uh "
        "im ive my i me"
    )
)
# Additive smoothing of the per-topic word and word-pair model.
NB_ALPHA = 0.1
# Up to this many topics the word-pair model is normalised over every topic (as calibrated);
# beyond it, over the candidate topics only, so time per message stays bounded.
_NB_ALL_TOPICS = 200


@lru_cache(maxsize=1024)
def nb_gain(count: int) -> float:
    """log((n + alpha) / alpha): what a feature seen n times in a topic adds to its score."""
    return math.log((count + NB_ALPHA) / NB_ALPHA)


def nb_floors(classes: Iterable[Mapping[str, int]]) -> tuple[float, ...]:
    """log P(unseen feature | class) for each class of counts, over their joint vocabulary; a
    feature seen n times adds :func:`nb_gain` (n) to it."""
    classes = list(classes)
    vocabulary = len(set().union(*classes)) or 1
    return tuple(
        math.log(NB_ALPHA / (sum(own.values()) + NB_ALPHA * vocabulary)) for own in classes
    )


def nb_posteriors(loglik: Sequence[float]) -> list[float]:
    """Log-likelihoods as probabilities summing to 1 (shifted by the largest: no overflow)."""
    top = max(loglik)
    odds = [math.exp(v - top) for v in loglik]
    total = sum(odds)
    return [v / total for v in odds]


def phrase_features(stems: Sequence[str]) -> list[str]:
    """Words and adjacent word pairs (\"who physical\"), chatter dropped, for the topic model."""
    kept = [t for t in stems if t not in _PHRASE_FILLER and not t.isdigit()]
    return kept + [f"{a} {b}" for a, b in itertools.pairwise(kept)]


def example_features(normaliser: Normaliser, text: str) -> list[str]:
    """The words and word pairs a labelled message teaches (knowledge/examples.yaml), and the
    ones a message is read by against them. Not typo-corrected: measured the same on the
    tuning sets at a fraction of the load time; both sides must agree."""
    return phrase_features(normaliser.stems(text, correct=False))


# The features of knowledge/examples.yaml's messages, kept across loads: a reload after an
# admin's edit (and every load after the first in a process) only reads the messages that
# changed. Keyed by the synonyms' rewrites too, the one part of the knowledge they depend on.
# People's messages are never stored here: `example_features` reads those.
_LEARNED: dict[tuple[int, str], tuple[str, ...]] = {}


def learned_counts(normaliser: Normaliser, texts: Iterable[str]) -> Counter[str]:
    """The :func:`example_features` of knowledge examples, counted over all of them; each
    text's features are remembered for the next load. The texts not seen before are
    tokenised together, in one pass of each regular expression over them joined by new lines
    (`_tokenize_many`): one call per text was most of a load's time."""
    rewrites = normaliser.rewrites_key
    counted: Counter[str] = Counter()
    new: list[str] = []
    for text in texts:
        found = _LEARNED.get((rewrites, text))
        if found is None:
            new.append(text)
        else:
            counted.update(found)
    if len(_LEARNED) + len(new) >= _CACHE_LIMIT:
        _LEARNED.clear()
    for text, tokens in zip(new, _tokenize_many(new), strict=True):
        features = _LEARNED[(rewrites, text)] = tuple(
            phrase_features(normaliser.stemmed(tokens, correct=False))
        )
        counted.update(features)
    return counted


def tokenize(text: str) -> list[str]:
    """NFKC, casefold, apostrophes dropped ("can't" -> "cant"), emoji and punctuation gone."""
    return list(_tokenize(text))


@lru_cache(maxsize=_TOKENIZE_CACHE)
def _tokenize(text: str) -> tuple[str, ...]:
    return tuple(_words_of(text, _NON_WORD).split())


def _words_of(text: str, non_word: re.Pattern[str]) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    for mark in _APOSTROPHES:  # a few `in` tests are cheaper than one translate
        if mark in text:
            text = text.replace(mark, "")
    if "cannot" in text or "can not" in text or "unable" in text:  # the regex only if it can
        text = _CANNOT.sub("cant", text)
    text = non_word.sub(" ", text)
    # The search first: a substitution with a template costs several times a search that
    # finds nothing, and most texts have no letter three times in a row.
    if _REPEATS.search(text) is not None:
        text = _REPEATS.sub(r"\1\1", text)  # "sooooo" -> "soo", "jjjjjjj" -> "jj"
    if _DIGIT.search(text) is not None:
        text = _DIGIT_EDGE.sub(" ", text)
    return text


def _tokenize_many(texts: Sequence[str]) -> list[tuple[str, ...]]:
    """:func:`_tokenize` of each text, the texts joined by new lines and read in one pass:
    no step reaches across a new line (every pattern stops at one, and `_NON_WORD_BUT_LINES`
    keeps them), and a new line inside a text is a space, as `_NON_WORD` makes it anyway."""
    if not texts:
        return []
    joined = "\n".join(t.replace("\n", " ") for t in texts)
    lines = _words_of(joined, _NON_WORD_BUT_LINES).split("\n")
    if len(lines) != len(texts):  # a character that normalises to a new line: one by one
        return [_tokenize(t) for t in texts]
    return [tuple(line.split()) for line in lines]


@dataclass
class Normaliser:
    """Turns text into stemmed tokens: typo correction, synonym rewriting, stop words marked."""

    vocabulary: frozenset[str]
    # Stemmed variant token sequence -> stemmed replacement tokens, longest first when used.
    rewrites: dict[tuple[str, ...], tuple[str, ...]]
    typo_cutoff: float = 84.0
    _by_length: dict[int, list[str]] = field(default_factory=dict, repr=False)
    _corrections: dict[str, str] = field(default_factory=dict, repr=False)
    _splits: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    # The first word of each variant -> the lengths of its variants, longest first: only
    # those runs are looked up in `rewrites` (no other length can match).
    _lengths: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False)
    _starts: frozenset[str] = frozenset()
    _stop_stems: frozenset[str] = frozenset()
    rewrites_key: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        for word in self.vocabulary:
            if len(word) >= MIN_CORRECTABLE and not word.isdigit():
                self._by_length.setdefault(len(word), []).append(word)
        for words in self._by_length.values():
            words.sort()  # deterministic ties
        lengths: dict[str, set[int]] = {}
        for key in self.rewrites:
            lengths.setdefault(key[0], set()).add(len(key))
        self._lengths = {k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()}
        self._starts = frozenset(self._lengths)
        self._stop_stems = frozenset(stem(w) for w in STOP_WORDS)
        # What stems(correct=False) depends on besides the text: equal keys, equal stems.
        self.rewrites_key = hash(tuple(sorted(self.rewrites.items())))

    def __getstate__(self) -> dict[str, Any]:
        # Pickled by the knowledge cache: the typo corrections and splits remembered so far
        # hold words of people's messages, which are never written to disk.
        return {**self.__dict__, "_corrections": {}, "_splits": {}}

    @classmethod
    def build(
        cls, texts: Iterable[str], synonyms: SynonymsFile | None, typo_cutoff: float = 84.0
    ) -> Normaliser:
        vocabulary: set[str] = set(STOP_WORDS) | COMMON_WORDS
        for text in texts:
            vocabulary.update(tokenize(text))
        pairs: list[tuple[str, str]] = []
        if synonyms is not None:
            for entry in synonyms.synonyms:
                vocabulary.update(tokenize(entry.term))
                for variant in entry.variants:
                    vocabulary.update(tokenize(variant))
                    pairs.append((variant, entry.term))
        rewrites: dict[tuple[str, ...], tuple[str, ...]] = {}
        for variant, term in pairs:
            key = tuple(stem(t) for t in tokenize(variant))
            value = tuple(stem(t) for t in tokenize(term))
            if key and key != value:
                rewrites.setdefault(key, value)
        return cls(frozenset(vocabulary), rewrites, typo_cutoff)

    def correct(self, token: str) -> str:
        """The vocabulary word a typo was meant to be, or the token itself."""
        if token in self.vocabulary or len(token) < MIN_CORRECTABLE or token.isdigit():
            return token
        cached = self._corrections.get(token)
        if cached is not None:
            return cached
        # Short words need a closer match: one wrong letter in four is already a lot.
        cutoff = self.typo_cutoff if len(token) >= 5 else max(self.typo_cutoff, 85.0)
        best, best_score = token, 0.0
        for length in range(len(token) - 2, len(token) + 3):
            words = self._by_length.get(length)
            if not words:
                continue
            found = process.extractOne(
                token, words, scorer=fuzz.ratio, processor=None, score_cutoff=cutoff
            )
            if found is not None and found[1] > best_score:
                best, best_score = found[0], found[1]
        if len(self._corrections) >= _CACHE_LIMIT:
            self._corrections.clear()
        self._corrections[token] = best
        return best

    def fix(self, token: str) -> tuple[str, ...]:
        """:meth:`correct`, and two words run together split apart ("whatdoes", "lowerback").

        Only when no typo correction applies, and only into two vocabulary words that are both
        stop words ("howdo"), or of 3+ letters with one a stop word ("canphysio"): a function
        word typed without its space. "legit", "thinking" and "background" stay one word, not
        "leg it", "thin king", "back ground".
        """
        fixed = self.correct(token)
        if fixed != token or token in self.vocabulary or len(token) < 5 or token.isdigit():
            return (fixed,)
        cached = self._splits.get(token)
        if cached is not None:
            return cached
        found: tuple[str, ...] = (token,)
        vocabulary, stop = self.vocabulary, STOP_WORDS
        for cut in range(2, len(token) - 1):
            head, tail = token[:cut], token[cut:]
            if (
                head in vocabulary
                and tail in vocabulary
                and not head.isdigit()
                and (
                    (head in stop and tail in stop)
                    or ((head in stop or tail in stop) and min(len(head), len(tail)) >= 3)
                )
            ):
                found = (head, tail)
                break
        if len(self._splits) >= _CACHE_LIMIT:
            self._splits.clear()
        self._splits[token] = found
        return found

    def stems(self, text: str, *, correct: bool = True, split: bool = False) -> list[str]:
        """Stemmed tokens of ``text`` with synonyms rewritten; stop words still present.

        ``split`` also splits two words run together (:meth:`fix`); the matcher does, the
        red-flag check does not (a split it was not tuned on could make a symptom phrase).
        """
        return self.stemmed(_tokenize(text), correct=correct, split=split)

    def stemmed(
        self, tokens: Sequence[str], *, correct: bool = True, split: bool = False
    ) -> list[str]:
        """:meth:`stems` of text already tokenised (:func:`tokenize`)."""
        # Every message goes through here at least twice (the red-flag check and the
        # matcher), so the common cases take the short way: a known word is its own
        # correction (`correct` and `fix` give it back), and a text with no word that starts
        # a synonym has nothing to rewrite.
        vocabulary = self.vocabulary
        # Most texts have every word known: nothing to correct or split (one C call says so).
        if correct and not vocabulary.issuperset(tokens):
            if split:
                fix = self.fix
                tokens = [w for t in tokens for w in ((t,) if t in vocabulary else fix(t))]
            else:
                fix_typo = self.correct
                tokens = [t if t in vocabulary else fix_typo(t) for t in tokens]
        stemmed = list(map(stem, tokens))
        starts = self._starts
        if starts.isdisjoint(stemmed):
            return stemmed
        # The longest variant starting at each word is rewritten, left to right; a word
        # inside a rewritten run starts none. Only the words that start a variant are
        # visited: the words between them are copied a run at a time.
        out: list[str] = []
        done, end, rewrites, lengths = 0, len(stemmed), self.rewrites, self._lengths
        for i in [i for i, token in enumerate(stemmed) if token in starts]:
            if i < done:
                continue
            for size in lengths[stemmed[i]]:
                if size > end - i:
                    continue
                replacement = rewrites.get(tuple(stemmed[i : i + size]))
                if replacement is not None:
                    out.extend(stemmed[done:i])
                    out.extend(replacement)
                    done = i + size
                    break
        out.extend(stemmed[done:])
        return out

    def content(self, stems: Sequence[str]) -> list[str]:
        """Stems that carry meaning, in order, without repeats."""
        stop = self._stop_stems
        return list(
            dict.fromkeys([s for s in stems if s not in stop and len(s) > 1 and not s.isdigit()])
        )


@dataclass(frozen=True)
class Match:
    """One candidate topic and how well the message matched it (0-100)."""

    topic_id: str
    score: float


@dataclass(frozen=True)
class Decision:
    """What to do with a message: answer a topic, suggest a few, or say it is not known."""

    outcome: Outcome
    matches: tuple[Match, ...]
    reason: str

    @property
    def topic_id(self) -> str | None:
        """The answered topic when the outcome is "answer", else None."""
        return self.matches[0].topic_id if self.outcome == "answer" and self.matches else None

    @property
    def score(self) -> float:
        return self.matches[0].score if self.matches else 0.0


# A topic's score for a message, and whether the words that earned it include a specific one
# (not in most topics). A plain tuple: a few dozen are made per message, and a frozen
# dataclass costs several times more to make.
_Scored = tuple[float, bool]


def _interleaved(questions: Sequence[int], topic_of: Sequence[int]) -> list[int]:
    """``questions`` (in file order) reordered round-robin by topic: each topic's first, then
    each topic's second, ...; within a round, in file order."""
    seen: dict[int, int] = {}
    ranked: list[tuple[int, int]] = []
    for qi in questions:
        rank = seen.get(topic_of[qi], 0)
        seen[topic_of[qi]] = rank + 1
        ranked.append((rank, qi))
    return [qi for _, qi in sorted(ranked)]


class Matcher:
    """An index over every topic's questions, built once; :meth:`decide` is cheap per message."""

    def __init__(
        self,
        faq: FaqFile,
        synonyms: SynonymsFile | None = None,
        settings: MatchingSettings | None = None,
        normaliser: Normaliser | None = None,
        examples: Mapping[str, Sequence[str]] | None = None,
        other: Sequence[str] = (),
    ) -> None:
        self.settings = settings or MatchingSettings()
        texts = [q for t in faq.topics for q in (t.title, *t.questions)]
        self.normaliser = normaliser or Normaliser.build(
            texts, synonyms, self.settings.typo_cutoff
        )
        norm = self.normaliser
        self.topic_ids: tuple[str, ...] = tuple(t.id for t in faq.topics)
        self.topic_number: dict[str, int] = {t: i for i, t in enumerate(self.topic_ids)}
        self._last_stems: tuple[str, tuple[list[str], list[list[str]]]] | None = None
        # The last message's features, with the topic model's gains and size for them, which
        # `none_share` extends by the none class instead of walking the features again.
        self._last_gains: tuple[list[str], list[float], int] | None = None
        per_question: list[tuple[int, list[str]]] = []
        topic_tokens: list[set[str]] = [set() for _ in faq.topics]
        # A multinomial naive Bayes model per topic over words *and adjacent word pairs*,
        # stop words included: where the content words are the same ("who is physio for" /
        # "what does a physio do" / "does physio work"), the pairs tell the topics apart.
        nb_counts: list[dict[str, int]] = [{} for _ in faq.topics]
        for index, topic in enumerate(faq.topics):
            for question in (topic.title, *topic.questions):
                stems = norm.stems(question, correct=False)
                own = nb_counts[index]
                for feature in phrase_features(stems):
                    # Interned: the same word pair in many topics is stored once.
                    feature = sys.intern(feature)
                    own[feature] = own.get(feature, 0) + 1
                tokens = norm.content(stems)
                if tokens:
                    per_question.append((index, tokens))
                    topic_tokens[index].update(tokens)
        # People's own messages teach the topic model only: their words are not indexed for
        # the fuzzy and word-overlap scores, so the words they bring ("laptop", "toddler")
        # still count as unknown against a message about something else.
        for index, topic in enumerate(faq.topics):
            texts_of_topic = (examples or {}).get(topic.id, ())
            if not texts_of_topic:
                continue
            own = nb_counts[index]
            # Counted in C: thousands of messages, the largest part of what a load reads.
            counted = learned_counts(norm, texts_of_topic)
            for feature, n in counted.items():
                own[feature] = own.get(feature, 0) + n
        count = max(len(faq.topics), 1)
        df: dict[str, int] = {}
        for tokens_of_topic in topic_tokens:
            for token in tokens_of_topic:
                df[token] = df.get(token, 0) + 1
        # Document frequency over topics, not questions: a word every question of one topic
        # repeats is what makes that topic, not a common word.
        self.idf: dict[str, float] = {t: math.log(1 + count / (n + 0.5)) for t, n in df.items()}
        # Words the knowledge base never uses count against a match ("capital of France"),
        # but less than its rarest word, or long stories could never be answered.
        self.unknown_idf = math.log(1 + count / 0.5) * self.settings.unknown_weight
        self.generic_df = max(2, int(count * self.settings.generic_share))
        self.df = df
        self.specific_tokens = frozenset(t for t, n in df.items() if n <= self.generic_df)
        # Per question, in parallel tuples indexed by question number (the scoring loop reads
        # them for every candidate): its topic, content stems, those stems sorted and joined
        # for the fuzzy scorer, and the sum of their idf.
        self.question_topics: tuple[int, ...] = tuple(topic for topic, _ in per_question)
        self.question_tokens: tuple[frozenset[str], ...] = tuple(
            frozenset(tokens) for _, tokens in per_question
        )
        self.question_texts: tuple[str, ...] = tuple(
            " ".join(sorted(tokens)) for _, tokens in per_question
        )
        self.question_weights: tuple[float, ...] = tuple(
            sum(self.idf[t] for t in tokens)  # content() already dropped repeats
            for _, tokens in per_question
        )
        postings: dict[str, list[int]] = {}
        # How many questions of each topic use each word, for the topic bonus.
        counts: list[dict[str, int]] = [{} for _ in faq.topics]
        for qi, (number, question_tokens) in enumerate(
            zip(self.question_topics, self.question_tokens, strict=True)
        ):
            for token in question_tokens:
                postings.setdefault(token, []).append(qi)
                counts[number][token] = counts[number].get(token, 0) + 1
        # Each word's questions interleaved across topics (every topic's first question using
        # it, then every topic's second, ...), so that when a common word's questions tie,
        # the candidates cut from the front of the list come from every topic that uses it,
        # not only from the topics written first in faq.yaml.
        self.postings: dict[str, tuple[int, ...]] = {
            k: tuple(_interleaved(v, self.question_topics)) for k, v in postings.items()
        }
        self.topic_counts: tuple[dict[str, int], ...] = tuple(counts)
        pair_df = Counter(f for own in nb_counts for f in own if " " in f)
        self.nb_counts: tuple[dict[str, int], ...] = tuple(nb_counts)
        # Messages the bot should not answer (knowledge/examples.yaml's `other`: other subjects,
        # look-alikes such as "stretching leather shoes"), one more class beside the topics.
        # A confident match that reads more like them than like any topic is only offered.
        self.none_counts: dict[str, int] = dict(learned_counts(norm, other))
        self.none_floors: tuple[float, ...] = nb_floors([*nb_counts, self.none_counts])
        # log P(unseen feature | topic); a seen one adds log((count + alpha) / alpha) to it.
        self.nb_floor: tuple[float, ...] = nb_floors(nb_counts)
        # Word pairs used by few topics count as specific words ("physical work").
        self.specific_pairs: frozenset[str] = frozenset(
            f for f, n in pair_df.items() if n <= self.generic_df
        )
        # A small base scores every topic for every message (and every own question when
        # the knowledge is linted at load): feature -> (topic, gain) visits only the topics
        # that use a feature. Not built for large bases, where it would double the memory.
        self.nb_by_feature: dict[str, tuple[tuple[int, float], ...]] = {}
        if len(faq.topics) <= _NB_ALL_TOPICS:
            by_feature: dict[str, list[tuple[int, float]]] = {}
            for number, own in enumerate(nb_counts):
                # Most features belong to one topic: no empty list made for each of them.
                for feature, n in own.items():
                    users = by_feature.get(feature)
                    if users is None:
                        by_feature[feature] = [(number, nb_gain(n))]
                    else:
                        users.append((number, nb_gain(n)))
            self.nb_by_feature = {f: tuple(v) for f, v in by_feature.items()}

    def __getstate__(self) -> dict[str, Any]:
        # Pickled by the knowledge cache: the last message read is never written to disk.
        return {**self.__dict__, "_last_stems": None, "_last_gains": None}

    # --- scoring ------------------------------------------------------------------------------

    def _stems(self, text: str) -> tuple[list[str], list[list[str]]]:
        """Stems of the whole (bounded) message, and of each of its last sentences/clauses."""
        text = text[: self.settings.max_chars]
        last = self._last_stems  # decide() asks twice: to rank, and for the not-covered rules
        if last is not None and last[0] == text:
            return last[1]
        norm = self.normaliser
        parts = [p for p in _SENTENCE_SPLIT.split(text) if p.strip()]
        if len(parts) <= 1:
            result: tuple[list[str], list[list[str]]] = (norm.stems(text, split=True), [])
        else:
            # Each sentence is normalised once; the whole message is their concatenation.
            stems = [norm.stems(part, split=True) for part in parts]
            result = ([t for part in stems for t in part], stems[-self.settings.max_segments :])
        self._last_stems = (text, result)
        return result

    def segments(self, text: str) -> list[list[str]]:
        """The whole (bounded) message first, then each sentence or clause of it."""
        return self._segments(*self._stems(text))

    def _segments(self, whole_stems: list[str], parts: list[list[str]]) -> list[list[str]]:
        norm = self.normaliser
        whole = norm.content(whole_stems)
        out = [whole]
        for part in parts:
            tokens = norm.content(part)
            if tokens and tokens != whole:
                out.append(tokens)
        return out

    def _topic_model(self, features: list[str], topics: Iterable[int]) -> dict[int, float]:
        """Posterior of each topic under the word and word-pair model (sums to 1 over them).

        ``features`` are the message's :func:`phrase_features`.
        """
        counts = self.nb_counts
        topics = list(topics)
        if self.nb_by_feature and len(topics) == len(counts):
            return self._topic_model_all(features)
        # Features no considered topic uses say nothing about which one is meant.
        features = [f for f in dict.fromkeys(features) if any(f in counts[t] for t in topics)]
        loglik: dict[int, float] = {}
        floors, size, gain = self.nb_floor, len(features), nb_gain
        for topic in topics:
            own = counts[topic]
            # Every feature costs the floor; a seen one gains log((n + alpha) / alpha).
            loglik[topic] = floors[topic] * size + sum(
                [gain(own[f]) for f in features if f in own]
            )
        if not loglik:
            return {}
        return dict(zip(loglik, nb_posteriors(list(loglik.values())), strict=True))

    def _topic_model_all(self, features: list[str]) -> dict[int, float]:
        """:meth:`_topic_model` over every topic of a small base, through the feature index."""
        # Topics are numbered 0..n-1: lists, not dicts, hold one value per topic.
        gains = [0.0] * len(self.nb_counts)
        if not gains:
            return {}
        by_feature, size = self.nb_by_feature, 0
        for feature in dict.fromkeys(features):
            users = by_feature.get(feature)
            if users is None:
                continue  # no topic uses it: it says nothing about which one is meant
            size += 1
            for topic, gain in users:
                gains[topic] += gain
        self._last_gains = (features, gains, size)
        loglik = [floor * size + gain for floor, gain in zip(self.nb_floor, gains, strict=True)]
        return dict(enumerate(nb_posteriors(loglik)))

    def none_share(self, text: str, candidates: Sequence[str] = ()) -> float:
        """The posterior that ``text`` is none of the topics but one of the messages the bot
        should not answer, under the word and word-pair model with that class beside them; 0
        without such messages. A large base (no feature index) weighs only the topics in
        ``candidates`` (ids), so the time per message stays bounded."""
        if not self.none_counts:
            return 0.0
        counts, none, by_feature = self.nb_counts, self.none_counts, self.nb_by_feature
        features = phrase_features(self._stems(text)[0])
        last = self._last_gains
        if by_feature and last is not None and last[0] == features:
            # `decide` ranked this message just before: the topics' gains are the topic
            # model's; only the none class's are added, in the same order, so to the bit.
            gains, size = [*last[1], 0.0], last[2]
            for feature in dict.fromkeys(features):
                n = none.get(feature, 0)
                if n:
                    size += feature not in by_feature  # no topic counted it in the size
                    gains[-1] += nb_gain(n)
            floors = self.none_floors
            return nb_posteriors([f * size + g for f, g in zip(floors, gains, strict=True)])[-1]
        gains = [0.0] * (len(counts) + 1)
        size = 0
        numbers = [self.topic_number[t] for t in candidates] if not by_feature else []
        for feature in dict.fromkeys(features):
            n = none.get(feature, 0)
            if by_feature:
                users: Iterable[tuple[int, float]] = by_feature.get(feature, ())
            else:
                users = [(t, nb_gain(counts[t][feature])) for t in numbers if feature in counts[t]]
            seen = bool(n)
            for topic, gain in users:
                gains[topic] += gain
                seen = True
            if not seen:
                continue  # no class uses it: it says nothing about which one is meant
            size += 1
            if n:
                gains[-1] += nb_gain(n)
        if not size:
            return 0.0
        # Every topic of a small base (as calibrated), the candidates of a large one; then none.
        weighed = [*numbers, len(counts)] if not by_feature else range(len(counts) + 1)
        floors = self.none_floors
        return nb_posteriors([floors[i] * size + gains[i] for i in weighed])[-1]

    def _weight(self, token: str) -> float:
        return self.idf.get(token, self.unknown_idf)

    def _score_tokens(
        self, tokens: Sequence[str], skip: int = -1, candidates: int | None = None
    ) -> dict[int, _Scored]:
        """Score of each candidate topic for one run of content stems, from its best
        ``candidates`` questions (the setting's ``candidates`` unless given)."""
        s = self.settings
        limit = s.candidates if candidates is None else candidates
        if not tokens:
            return {}
        query = frozenset(tokens)
        # Summed in message order, never set order: the same message scores the same in
        # every process whatever the hash seed (float sums depend on their order).
        idf, unknown = self.idf.get, self.unknown_idf  # what `_weight` gives, without the call
        weights = {t: idf(t, unknown) for t in dict.fromkeys(tokens)}
        total = sum(weights.values())
        # Candidates: questions sharing a word, gathered from the inverted index, rarest word
        # first. Words in many topics would pull in a large part of the base for little
        # evidence, so they only gather candidates while nothing rarer has.
        postings, df, generic_df = self.postings, self.df, self.generic_df
        known = sorted([t for t in weights if t in postings], key=df.__getitem__)
        if not known:
            return {}
        # The rarest word always gathers. When it is the only one (the next is too common, or
        # there is none), every candidate has the same overlap, so the best are simply its
        # first questions: often a common word with hundreds of them ("physio?").
        gathering = [known[0]]
        for token in known[1:]:
            if df[token] > generic_df or len(postings[token]) > _MAX_POSTINGS:
                break
            gathering.append(token)
        if len(gathering) == 1:
            best = list(postings[known[0]][:limit])
        else:
            overlap: dict[int, float] = {}
            add_to = overlap.get
            for token in gathering:
                # A plain loop: measured faster than chaining map/zip into `dict.update` at
                # every posting length here (most gathering words have a few questions, and
                # building the iterators cost more than the loop they replaced).
                w = weights[token]
                for qi in postings[token]:
                    overlap[qi] = add_to(qi, 0.0) + w
            # The best by overlap, ties in gathering order: what heapq.nlargest gives (it is
            # documented as this very expression), but a C sort is several times faster.
            best = sorted(overlap, key=overlap.__getitem__, reverse=True)[:limit]
        if skip >= 0 and skip in best:
            best.remove(skip)  # left out after the cut: it still took a candidate's place
        if not best:
            return {}
        query_text = " ".join(sorted(query))
        texts, owns, scales = self.question_texts, self.question_tokens, self.question_weights
        topics, topic_counts = self.question_topics, self.topic_counts
        # Both texts are already sorted content stems, so plain ratio is token_sort_ratio.
        # rapidfuzz scores the candidates in C (the same scorer as fuzz.ratio one by one,
        # the message read once) and yields them in candidate order: no sort back from
        # best-first, a third faster than `process.extract` for the same numbers.
        fuzzy = process.extract_iter(
            query_text, [texts[qi] for qi in best], scorer=fuzz.ratio, processor=None
        )
        left_out = skip if skip >= 0 else None
        # The message's words and their weights in message order: a sum over some of them is
        # `sum(compress(values, map(chosen.__contains__, words)))`, every step in C, in the
        # order (and so to the bit) of the plain loop it replaced, several times faster on
        # the long messages that set the tail of the time per message.
        words, values = list(weights), list(weights.values())
        qw, nw, fw, bonus = s.query_weight, s.question_weight, s.fuzzy_weight, s.topic_bonus
        den = qw + nw + fw
        # This loop runs for every candidate of every message (and of the load: the lint
        # ranks every own question), so it is kept lean: the weight of the shared words is
        # summed once per distinct set of them, a topic's cover once per topic, and a topic
        # keeps its best score and the words that earned it, the specific flag computed
        # once for the winner. The arithmetic is the same, operation for operation, as
        # scoring each candidate on its own, so the scores are the same to the last bit.
        inter_of: dict[frozenset[str], float] = {}
        covers: dict[int, float] = {}
        top: dict[int, float] = {}
        winner: dict[int, frozenset[str]] = {}
        # Below any score, so a topic's first candidate always sets its best.
        below, best_of, inter_got, cover_got = -math.inf, top.get, inter_of.get, covers.get
        for qi, (_, ratio, _) in zip(best, fuzzy, strict=True):
            shared = query & owns[qi]
            inter = inter_got(shared)
            if inter is None:
                inter = inter_of[shared] = sum(compress(values, map(shared.__contains__, words)))
            topic = topics[qi]
            cover = cover_got(topic)
            if cover is None:
                if left_out is None:
                    # Every word in `topic_counts` is used by at least one of its questions.
                    counts = topic_counts[topic]
                    cover = sum(compress(values, map(counts.__contains__, words)))
                else:
                    cover = self._topic_cover(topic, words, values, left_out)
                covers[topic] = cover
            scale = scales[qi]
            question_cover = inter / scale if scale else 0.0
            score = (
                100 * (qw * (inter / total) + nw * question_cover + fw * (ratio / 100)) / den
                + bonus * (cover - inter) / total
            )
            # A topic scores its best question (the first of equals; above 100, the last).
            if score > best_of(topic, below):
                top[topic] = 100.0 if score > 100.0 else score
                winner[topic] = shared
        specific_tokens = self.specific_tokens
        return {
            topic: (score, not winner[topic].isdisjoint(specific_tokens))
            for topic, score in top.items()
        }

    def _topic_cover(
        self, topic: int, words: list[str], values: list[float], left_out: int | None
    ) -> float:
        """Weight of the query words (``words``, with their weights ``values``, in message
        order) that any question of the topic uses, but the left-out one."""
        counts = self.topic_counts[topic]
        if left_out is None or self.question_topics[left_out] != topic:
            # Every word of `counts` is used by at least one question of the topic.
            return sum(compress(values, map(counts.__contains__, words)))
        own = self.question_tokens[left_out]
        return sum(
            [w for t, w in zip(words, values, strict=True) if counts.get(t, 0) - (t in own) > 0]
        )

    def rank(self, text: str, skip: int = -1) -> tuple[list[Match], bool]:
        """Topics best first, and whether the best one shares a specific content word.

        ``skip`` leaves one indexed question out, so the lint can ask where a knowledge-base
        question would land if it were a new message.
        """
        matches, specific, _, _ = self._rank(text, skip)
        return matches, specific

    def unknown_share(self, text: str) -> float:
        """Share of the message's content words that no question of the base uses."""
        return self._unknown_share(self.normaliser.content(self._stems(text)[0]))

    def _unknown_share(self, content: list[str]) -> float:
        # After typo correction and synonyms: "sciatia" and "physio" are known words.
        if not content:
            return 0.0
        return sum(t not in self.idf for t in content) / len(content)

    def _rank(
        self, text: str, skip: int = -1, limit: int | None = None
    ) -> tuple[list[Match], bool, float, float]:
        """:meth:`rank`, with the unknown share and the best topic's score from the words alone
        (before the topic model's points); only the first ``limit`` matches are made."""
        whole_stems, parts = self._stems(text)
        combined: dict[int, _Scored] = {}
        segments = self._segments(whole_stems, parts)  # the whole message's content first
        penalty = 0.0  # the whole message; its sentences after it score lower
        cut = self.settings.candidates
        for tokens in segments:
            for topic, (score, specific) in self._score_tokens(tokens, skip, cut).items():
                value = score - penalty
                previous = combined.get(topic)
                if previous is None or value > previous[0]:
                    combined[topic] = (value, specific or (previous is not None and previous[1]))
            penalty = self.settings.segment_penalty
            cut = self.settings.segment_candidates
        weight = self.settings.topic_model_weight
        word_scores = {topic: score for topic, (score, _) in combined.items()}
        if combined and weight > 0:
            # Only words the base knows inform the topic model; over every topic of a small
            # base (as calibrated), over the candidates of a large one.
            every = len(self.topic_ids) <= _NB_ALL_TOPICS
            features = phrase_features(whole_stems)
            posterior = self._topic_model(
                features, range(len(self.topic_ids)) if every else list(combined)
            )
            pairs = self.specific_pairs.intersection(features)
            nb_counts = self.nb_counts
            rescale = 100 + weight
            for topic, (score, specific) in list(combined.items()):
                # The message's few specific pairs looked up in the topic's features (in C,
                # `isdisjoint` walks the smaller side), not the other way round: a topic has
                # hundreds of them.
                if not specific and pairs:
                    specific = not nb_counts[topic].keys().isdisjoint(pairs)
                bonus = weight * posterior.get(topic, 0.0)
                # Rescaled so a score still runs from 0 to 100.
                combined[topic] = ((score + bonus) * 100 / rescale, specific)
        ranked = sorted(combined.items(), key=lambda kv: (-kv[1][0], kv[0]))
        matches = [
            Match(self.topic_ids[t], round(max(score, 0.0), 1)) for t, (score, _) in ranked[:limit]
        ]
        specific = bool(ranked) and ranked[0][1][1]
        word_score = word_scores[ranked[0][0]] if ranked else 0.0
        return matches, specific, self._unknown_share(segments[0]), word_score

    def not_covered(self, text: str) -> str | None:
        """The word showing the message asks what the bot does not cover, or None."""
        tokens = tokenize(text[: self.settings.max_chars])
        found = self._not_covered(tokens, text)
        if found is None and _turns_subject(tokens):
            # "…my lower back is a bit stiff, anyway which fabric suits curtains": the part
            # after the last change of subject is the question.
            joined = " ".join(tokens)
            turns = list(_CHANGE_OF_SUBJECT.finditer(joined))
            if turns:
                rest = joined[turns[-1].end() :].strip()
                if rest:
                    found = self._not_covered(rest.split(), rest)
        return found

    def _not_covered(self, tokens: list[str], text: str) -> str | None:
        """:meth:`not_covered` on the message's words (``text``: the message they are from)."""
        joined = " ".join(tokens)
        # The words as written, not typo-corrected: "arching" is no "aching". Each search for
        # the first word of a list below is only run when the message has one (a set test),
        # most have none: this runs for every message.
        known = frozenset(tokens)
        if "back" in known and not known.isdisjoint(_NOT_BODY_BACK_CUES):
            # "back" in another sense ("has my back when …", "my back tooth") is no body part.
            hidden = {m.start(1) for idiom in _NOT_BODY_BACK for m in idiom.finditer(joined)}
            if hidden:
                at = itertools.accumulate((len(t) + 1 for t in tokens), initial=0)
                tokens = ["back_" if a in hidden else t for t, a in zip(tokens, at, strict=False)]
                known = frozenset(tokens)
        # "not asking about doses", "no insurance": a negated price or dose is not asked.
        if not known.isdisjoint(NOT_COVERED):
            found = next(
                (
                    t
                    for i, t in enumerate(tokens)
                    if t in NOT_COVERED and _NEGATIONS.isdisjoint(tokens[max(0, i - 3) : i])
                ),
                None,
            )
            if found is not None:
                return found
        asks = _PRICE_DOSE_DIAGNOSIS.search(joined) or (
            None if known.isdisjoint(_PAPERWORK_CUES) else _PAPERWORK_SHOPPING.search(joined)
        )
        if asks is not None:
            return asks.group(0)
        therapy = not known.isdisjoint(THERAPY_WORDS)
        if not known.isdisjoint(OTHER_THERAPIES):
            found = next(t for t in tokens if t in OTHER_THERAPIES)
            if not (therapy and not known.isdisjoint(_LIKENESS)):
                return found
        found = None
        if not (known.isdisjoint(DRUG_NAMES) and known.isdisjoint(OTHER_PROCEDURES)):
            found = next(t for t in tokens if t in DRUG_NAMES or t in OTHER_PROCEDURES)
        elif (procedure := _OTHER_PROCEDURE.search(joined)) is not None:
            found = procedure.group(0)
        if found is not None and not therapy:
            return found
        if not therapy and not known.isdisjoint(_REPORTS) and not known.isdisjoint(_READING):
            return next(t for t in tokens if t in _REPORTS)
        joint = None if known.isdisjoint(_PART_PHRASE_CUES) else _OTHER_PART_PHRASES.search(joined)
        parts = [t for t in tokens if t in OTHER_PARTS]
        if parts and {"knee", "knees"}.issuperset(parts) and _KNEES_IN_EXERCISE.search(joined):
            parts = []  # only knees, and only as part of a back stretch or of lifting
        part = joint.group(0) if joint else next(iter(parts), None)
        # "tore my groin": the groin is the part asked about, no back word; nor when the back
        # is said to be fine ("neck is stiff, back is totally fine").
        if part is not None and (
            BACK_WORDS.isdisjoint(known.difference(part.split()))
            or _BACK_CLEARED.search(joined) is not None
        ):
            return part
        other = _OTHER_SENSE.search(joined)
        exercise = (  # "cat cow", "bird dogs"
            not (known.isdisjoint(OTHER_SUBJECTS) and known.isdisjoint(_ANIMALS))
            and _EXERCISE_NAMES.search(joined) is not None
        )
        found, where = None, 0
        if other is not None:
            found, where = other.group(0), len(joined[: other.start()].split())
        elif not exercise and not known.isdisjoint(OTHER_SUBJECTS):
            where, found = next((i, t) for i, t in enumerate(tokens) if t in OTHER_SUBJECTS)
        if found is not None:
            # The other sense's own words are no evidence of a body ("hard disc", "physical
            # copy", "appointment at the bank"): only the rest of the message counts.
            rest = tokens[:where] + tokens[where + len(found.split()) :]
            others = frozenset(rest)
            if others.isdisjoint(_POSTURE_WORDS) and not self._about_health(rest, others):
                return found
        if (
            not known.isdisjoint(STRICT_SUBJECTS)
            and known.isdisjoint(_STRICT_HEALTH)
            and not _own_body(tokens)
            and not _back_named(tokens)
        ):
            return next(t for t in tokens if t in STRICT_SUBJECTS)
        # Working as a physio ("how much do physios earn") is no question about one's back.
        career = None if known.isdisjoint(_CAREER_CUES) else _CAREER_PHRASES.search(joined)
        if (career is not None or not known.isdisjoint(_CAREER)) and not (
            _own_body(tokens) or not known.isdisjoint(_PAIN)
        ):
            return career.group(0) if career else next(t for t in tokens if t in _CAREER)
        # An animal's sore back or stiff legs are the vet's: next to a pet, only the writer's
        # own body ("walking the dog hurt my back") or the writer's physio makes it a
        # question: "can I bring my dog to physio", "physio after a fall off my horse", not
        # "should my rabbit have physio after his op".
        if (
            not exercise
            and not known.isdisjoint(_ANIMALS)
            and known.isdisjoint(_RELATIVES)
            and (
                known.isdisjoint(_PHYSIO)
                or (known.isdisjoint(_FIRST_PERSON) and not _animal_as_object(tokens))
                or _PET_CARE.search(joined) is not None
            )
            and not _own_body(tokens)
        ):
            return next(t for t in tokens if t in _ANIMALS)
        if (
            known.isdisjoint(_FOREIGN)
            and joined.isascii()  # no token has a non-ASCII letter (one C call, not a loop)
            and known.isdisjoint(_TOPIC_ANCHORS)
            and not self._about_health(tokens, known)
        ):
            content = self.normaliser.content(self._stems(text)[0])
            unknown = [t for t in content if t not in self.idf]
            if content and len(unknown) >= _UNANCHORED_UNKNOWN_SHARE * len(content):
                word = next(
                    (t for t in tokens if stem(self.normaliser.correct(t)) == unknown[0]), None
                )
                return word or unknown[0]
        return None

    @staticmethod
    def _about_health(tokens: Sequence[str], known: frozenset[str]) -> bool:
        """Whether a message names the writer's body, pain or therapy ("my back", "sore")."""
        return not known.isdisjoint(HEALTH_WORDS) or _back_named(tokens)

    def decide(self, text: str) -> Decision:
        """Answer, suggest up to 3 topics, or say it does not know; with the reason."""
        s = self.settings
        # Only the matches shown are made, and the runner-up for the margin.
        matches, specific, unknown, word_score = self._rank(text, limit=max(s.top_k, 2))
        top = tuple(matches[: self.settings.top_k])
        if not matches:
            return Decision("unknown", (), "no content word in common with any topic")
        best = matches[0].score
        second = matches[1].score if len(matches) > 1 else 0.0
        outside = self.not_covered(text)
        if outside is not None:
            suggestions = tuple(m for m in top if m.score >= s.suggest_score)[:3]
            why = f"asks about `{outside}`, which the knowledge base does not cover"
            return Decision("suggest" if suggestions else "unknown", suggestions or top, why)
        if unknown > s.max_unknown_share:
            suggestions = tuple(m for m in top if m.score >= s.suggest_score)[:3]
            why = f"{unknown:.0%} of its words are not in the knowledge base"
            return Decision("suggest" if suggestions else "unknown", suggestions or top, why)
        confident = word_score >= s.min_word_score
        # Words alone below the floor are still answered when the word and word-pair model,
        # with the class of messages the bot should not answer beside the topics, is all but
        # sure the message is about a topic (never without such messages to weigh against).
        sure = not confident and s.sure_none_share > 0 and bool(self.none_counts)
        qualifies = best >= s.answer_score and best - second >= s.margin and specific
        if qualifies and confident:
            # Only now: most messages are never answered, and the others pay for it once.
            candidates = [m.topic_id for m in matches]
            elsewhere = self.none_share(text, candidates) if s.max_none_share < 1.0 else 0.0
            if elsewhere < s.max_none_share:
                return Decision(
                    "answer",
                    top,
                    f"score {best:.1f} >= {s.answer_score}, ahead by {best - second:.1f}",
                )
            suggestions = tuple(m for m in top if m.score >= s.suggest_score - s.margin)[:3]
            why = f"reads like a message about something else ({elsewhere:.0%})"
            return Decision("suggest", suggestions, why)
        if qualifies and sure:
            elsewhere = self.none_share(text, [m.topic_id for m in matches])
            if elsewhere < s.sure_none_share:
                return Decision(
                    "answer",
                    top,
                    f"score {best:.1f} >= {s.answer_score}, ahead by {best - second:.1f}; its"
                    f" words alone score {word_score:.1f}, but it reads like no message about"
                    f" something else ({elsewhere:.2%})",
                )
        if best >= s.suggest_score:
            why = (
                "only generic words in common"
                if not specific
                else f"score {best:.1f} below {s.answer_score}"
                if best < s.answer_score
                else f"runner-up within {s.margin}"
                if best - second < s.margin
                else f"its words alone score {word_score:.1f}, below {s.min_word_score}"
            )
            suggestions = tuple(m for m in top if m.score >= s.suggest_score - s.margin)[:3]
            return Decision("suggest", suggestions, why)
        return Decision("unknown", top, f"score {best:.1f} below {s.suggest_score}")
