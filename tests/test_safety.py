"""The red-flag check: lay wording, typos and word order caught; harmless look-alikes not."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.evaluation import load_cases
from bot.matching import words
from bot.safety import _SLACK, RedFlagDetector, _Concept, _concept_spans, _spans
from tests.matching_fixtures import SHIPPED_KB, shipped, tiny

_, DETECTOR = tiny()


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("cant pee since yesterday", "cauda-equina"),
        ("I CAN'T PEE!!!", "cauda-equina"),
        ("can't really pee properly", "cauda-equina"),  # a word inside the phrase
        ("it's numb down there", "cauda-equina"),
        ("I wet myself this morning", "cauda-equina"),
        ("I fell off a ladder", "major-trauma"),
        ("was in a car crsh today", "major-trauma"),  # typo
        ("long story about work... oh and my back wakes me at night", "night-pain"),
    ],
)
def test_red_flags_are_caught(text: str, category: str) -> None:
    hit = DETECTOR.check(text)
    assert hit is not None
    assert hit.category_id == category
    assert 0 < hit.score <= 100


@pytest.mark.parametrize(
    "text",
    [
        "can PT help after I fell off a ladder last year?",
        "I fell off the wagon with my exercises",
        "does stretching help at night?",
        "does physio help sciatica",
        "",
        "🙂",
    ],
)
def test_look_alikes_are_not_flagged(text: str) -> None:
    assert DETECTOR.check(text) is None


def test_unless_only_cancels_the_phrase_near_it() -> None:
    text = "I fell off the wagon with my exercises. " + "blah " * 20 + "then I fell off a roof"
    hit = DETECTOR.check(text)
    assert hit is not None
    assert hit.category_id == "major-trauma"


def test_a_red_flag_at_the_end_of_a_long_story_is_found() -> None:
    assert DETECTOR.check("my back hurts. " * 500 + "and I can't pee") is not None


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_check_never_fails(text: str) -> None:
    hit = DETECTOR.check(text)
    assert hit is None or hit.category_id in DETECTOR.category_ids


@pytest.mark.parametrize(
    "text",
    [
        "cant pee since yesterday and my back is agony",
        "legs keep giving way since this morning",
        "back pain and a fever of 39",
        "fell off a ladder yesterday and landed on my back",
        "history of prostate cancer, back started aching",
        "back pain wakes me up every night",
        "my mum had cancer last year and now I have a tumour on my spine",
    ],
)
def test_shipped_red_flags_fire(text: str) -> None:
    assert shipped().red_flags_detector.check(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "can PT help after a fall last year?",
        "does stretching help at night?",
        "my core feels weak after having twins",
        "I'm trying to lose weight on purpose, will core work help my back?",
        "my mum had cancer and lifting her hurt my back",
    ],
)
def test_shipped_near_misses_do_not_fire(text: str) -> None:
    assert shipped().red_flags_detector.check(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "no fever, just a stiff back",
        "I don't have a fever but my back is stiff",
        "without any weight loss, my back aches",
        "I haven't had a fall, my back just hurts",
        "no, it doesn't wake me at night, I'm just stiff when I get up",  # one verb between
    ],
)
def test_explicit_negation_right_before_a_negatable_symptom_rules_it_out(text: str) -> None:
    assert shipped().red_flags_detector.check(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "not sure if it's a fever but I can't stop shivering",  # not right before it
        "no fever but I have night sweats",  # only the negated symptom is ruled out
        "no bladder control since yesterday",  # never for cauda equina
        "no feeling down there",
        "I haven't been trying to lose weight but my clothes are falling off me",
    ],
)
def test_negation_is_trusted_only_where_it_cannot_hide_an_emergency(text: str) -> None:
    assert shipped().red_flags_detector.check(text) is not None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("my bladder doesn't feel right and I keep having accidents", "cauda-equina"),
        ("I keep peeing without realising", "cauda-equina"),
        ("pins and needles in my crotch", "cauda-equina"),
        ("my legs keep buckling under me", "leg-weakness"),
        ("my foot flops when I walk", "leg-weakness"),
        ("fell 3 metres off scaffolding at work", "major-trauma"),
        ("was hit by a van while cycling", "major-trauma"),
        ("I have osteoporosis and slipped in the bathroom", "major-trauma"),
        ("my temperature is running high and my back aches", "fever"),
    ],
)
def test_concept_groups_catch_words_near_each_other(text: str, category: str) -> None:
    hit = shipped().red_flags_detector.check(text)
    assert hit is not None
    assert hit.category_id == category


@pytest.mark.parametrize(
    "text",
    [
        "my uncle was in a car crash last week and I want to visit him, which ward is he on?",
        "one of my residents is incontinent and I lift her a lot",
        "my toddler keeps falling over and I hurt my back picking him up",
        "is it normal to feel stiff when I wake up",
        "I sat on the toilet seat too long and my back is stiff",
        "my back aches in wet weather",
        "should I use hot or cold packs on my back",
        "I work night shifts and my back hurts",
        "I lost weight on purpose and my back feels better",
    ],
)
def test_someone_else_weather_and_goals_are_not_red_flags(text: str) -> None:
    assert shipped().red_flags_detector.check(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "my wife says I wet myself in my sleep",  # the writer comes between: still theirs
        "my mum had cancer and now they found a tumour on my spine",
        "a friend drove me here after I fell off a ladder",
        # Written for someone else, who is the patient: still sent to urgent care.
        "my mother is 84 and fell in the kitchen, now her back hurts, would physio help?",
    ],
)
def test_someone_else_vetoes_only_their_own_symptom(text: str) -> None:
    assert shipped().red_flags_detector.check(text) is not None


@pytest.mark.parametrize(
    ("text", "urgent"),
    [
        # A relative's cancer, and then their back: asked on their behalf, so urgent for them.
        (
            "Dad had prostate cancer treatment a couple of years back and now he's complaining"
            " of his back. Is it worth physio?",
            True,
        ),
        ("Mum had breast cancer, now her back really hurts, can physio help?", True),
        ("my dad had cancer and his back is killing him, would physio help him?", True),
        # The writer's own back after a relative's history: the family veto still holds.
        ("My dad had cancer, I have back pain from gardening, can physio help?", False),
        (
            "my mum had cancer years ago and her back is fine, but my back aches from lifting,"
            " can physio help me?",
            False,
        ),
        ("my mum had cancer, is back pain hereditary?", False),
    ],
)
def test_a_relatives_cancer_is_theirs_when_the_message_asks_for_them(
    text: str, urgent: bool
) -> None:
    hit = shipped().red_flags_detector.check(text)
    assert (hit is not None and hit.category_id == "cancer") if urgent else hit is None


def test_a_broken_concept_is_reported_with_file_and_line(tmp_path: Path) -> None:
    from bot.knowledge import load_knowledge
    from bot.problems import KnowledgeError

    kb_dir = tmp_path / "knowledge"
    shutil.copytree(SHIPPED_KB, kb_dir)
    path = kb_dir / "red_flags.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "concepts:")
    # One group only: a concept needs at least two.
    lines[at + 1 : at + 1] = ["      - all_of:", "          - [bladder]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kb_dir)
    text = str(caught.value)
    assert f"red_flags.yaml:{at + 2}: categories[0].concepts[0].all_of" in text, text


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("38.6 this morning and my lower back is killing me", "fever"),
        ("thermometer read 38,2 and my back aches", "fever"),
        ("it was 101 F last night, back is sore", "fever"),
        ("temp 39 and back pain", "fever"),
        # A past fever only counts as over when the same clause says so.
        ("had a fever in March but now the fever is back with back pain", "fever"),
        ("had a fever last week and my back still hurts", "fever"),
        # Time never vetoes bladder or leg symptoms, nor a history of cancer.
        ("wet myself years ago when I was ill, all better now", "cauda-equina"),
        ("had cancer in 2015, all clear now, back aching", "cancer"),
        # Carers and worried relatives asking for someone: urgent for that person.
        (
            "my dad's lost a lot of weight and my back hurts from worry, what should we do?",
            "weight-loss",
        ),
        ("my mum fell down the stairs, I'm scared, should I call someone?", "major-trauma"),
        ("someone with myeloma, asking for myself: can physio help?", "cancer"),
        # An all-clear that is negated is no all-clear.
        ("my bowels are not normal since the pain started", "cauda-equina"),
        ("the doctor asked if I'd lost weight and I said yes, a stone", "weight-loss"),
        ("numbness started in my toes and is spreading up both legs", "leg-weakness"),
    ],
)
def test_context_rules_keep_real_red_flags(text: str, category: str) -> None:
    hit = shipped().red_flags_detector.check(text)
    assert hit is not None, text
    assert hit.category_id == category


@pytest.mark.parametrize(
    "text",
    [
        "I'm 38 and my back aches after running",  # an age, not a reading
        "I ran 38.5 km this week and my back is stiff",
        "37.4 this morning, back a bit stiff, which stretches?",
        "had a fever in January, long gone now, how do I rebuild my core?",
        "was knocked off my bike in 2012, fully recovered, now want to run again",
        "fell off a trampoline when I was 9, how do I protect my back now?",
        "my physio asked whether I had a fever and I said no",
        "I'm a night owl and my back is stiff from the sofa",
        "my water bladder in my rucksack, is a backpack bad for my back?",
        "my star sign is Cancer, what's a good posture for my back?",
        "Saturday Night Fever dance class and now my back is stiff",
        "what's the best way to shed a few pounds to help my back",
        "my friend's husband is having chemo, she asked me to ask how to lift him safely",
    ],
)
def test_time_sense_and_intent_vetoes(text: str) -> None:
    assert shipped().red_flags_detector.check(text) is None, text


def test_unless_phrases_keep_a_content_word_after_filler_is_dropped() -> None:
    # "when i was little" once became just "when" (little, i, was are filler) and vetoed
    # every fall near a "when". A veto must not shrink to a single stop word.
    from bot.matching import STOP_WORDS, stem

    stops = {stem(w) for w in STOP_WORDS}
    detector = shipped().red_flags_detector
    for category in shipped().red_flags.categories:
        for phrase in category.unless:
            tokens = detector._tokens(phrase, correct=False)
            assert tokens, (category.id, phrase)
            assert len(tokens) > 1 or tokens[0] not in stops, (category.id, phrase, tokens)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # What the person notices, without the medical word.
        ("only realised I'd been when I saw the wet patch on the sofa", "cauda-equina"),
        ("my carer says my pads are soaked every morning now, back is bad", "cauda-equina"),
        ("it just comes out on its own and I can't hold it, back gone", "cauda-equina"),
        ("cant feel a thing round my buttocks when I sit on the loo", "cauda-equina"),
        ("legs are giving out on me a bit more every day", "leg-weakness"),
        ("my foot keeps scuffing the pavement since my back went", "leg-weakness"),
        ("had a temp since Tuesday and my back is killing me", "fever"),
        ("keep going hot and cold and my spine is throbbing", "fever"),
        ("tengo fiebre and my back hurts", "fever"),
        ("missed a step at the station and went down on my backside", "major-trauma"),
        ("ladder gave way while I was clearing the gutters", "major-trauma"),
        ("I'm 81 and went flying over the rug this morning", "major-trauma"),
        ("on tamoxifen for five years now, back aching lately", "cancer"),
        ("had the breast op two years ago, back sore for weeks", "cancer"),
        ("stage 3 and my back hurts, can I still do exercises?", "cancer"),
        ("I'm shrinking for no reason and my back aches", "weight-loss"),
        ("a stone lighter and not dieting, lower back sore", "weight-loss"),
        ("my watch spins round my wrist now, back's been bad", "weight-loss"),
        ("awake at 3am every night with the pain in my back", "night-pain"),
        ("lying still doesn't help at all, it never switches off", "night-pain"),
        ("doesn't matter which way I lie, the ache won't let go", "night-pain"),
        ("up at 2am again with my back, no comfy position", "night-pain"),  # phrase time
        ("the numbness has moved round to where I sit", "cauda-equina"),
    ],
)
def test_everyday_wordings_of_red_flags_are_caught(text: str, category: str) -> None:
    hit = shipped().red_flags_detector.check(text)
    assert hit is not None, text
    assert hit.category_id == category, (text, hit)


@pytest.mark.parametrize(
    "text",
    [
        "should I use hot or cold on my back after gardening?",
        "my laptop crashed and I'd been hunched over it for hours, posture tips?",
        "crash course in lifting technique please",
        "the roof is leaking and I've been carrying buckets, how should I lift?",
        "I get up at 5am for work and my back is stiff, which stretches?",
        "I play lawn bowls twice a week, how do I protect my back?",
        "fasting for Ramadan and dropped a couple of kilos, gentle back stretches?",
        "the GP checked for weight loss or a fall: none of those, just stiff",
        "my jeans are loose since I started going to the gym, which back exercises?",
    ],
)
def test_everyday_look_alikes_are_not_flagged(text: str) -> None:
    assert shipped().red_flags_detector.check(text) is None, text


@pytest.mark.parametrize(
    "text",
    [
        # Everyday words one letter from a red-flag word are left as they are.
        "I'm leaving work early today because my back is stiff",  # not "leaking"
        "pain radiating down my thigh when I sit, which exercises?",  # not "radiation"
        "is sciatica treated with injections or with exercises?",  # not "infection"
        "how do I weed the borders without hurting my back",  # not "wee"
        "sat through a two hour meeting and my back is stiff",  # not "melting"
        "I saw a consultant about my back pain, what happens next?",  # not "constant"
        "I feel steady on my feet, just a stiff lower back",  # not "unsteady"
        "I live on my own and carry the shopping, is a backpack better?",  # not "liver"
        "I quit smoking in the summer and my back is stiff",  # not "soaking"
        "I've lost the urge to exercise since my back went, any tips?",
        "our puppy is incontinent and I'm always bending to clean up, stretches?",
        "nothing wrong with my waterworks, just a stiff back from digging",
        "had flu last month, fever gone, back stiff from lying in bed",
        # Painkillers that do nothing are said together, not "don't ... tablets ... help".
        "I don't want to keep taking tablets for my back, can PT help instead?",
        # A carer who then asks about their own back.
        "my dad has cancer and I look after him, my back is wrecked from lifting him",
        # "me" in the phrase itself does not make it the writer's.
        "my twins keep me up at night but my back is fine, which stretches for posture?",
        # A question answered no rules out what it asks (negatable categories only).
        "Fever? No. Just a stiff back from gardening, which stretches?",
        "Any weight loss? Nope. How often should I do my core work?",
        # A phrase stays inside one sentence.
        "Do the stretches help? Nothing else has shifted my back pain yet",
        # A negation before any of a concept's words, not only the first.
        "I'm 72, no falls, just stiff in the mornings. Is physio worth it?",
        "took the kids ice skating and nobody fell over, yet my back aches today",
        # Other senses: a Scots "wee" (small), the star sign, figures of speech.
        "just a wee bit sore after the hillwalk, which stretches?",
        "as a Cancer I overthink everything, what's a good posture for my back?",
        "this weather gives me the chills, how do I keep my back warm?",
        "I sweat a lot in the sauna, is that good for my back?",
        "fell down a rabbit hole reading about posture, is sitting on a ball good?",
        "I lost weight breastfeeding and my back aches from carrying the baby",
        # An all-clear naming the word itself, on bladder and bowel.
        "peeing fine, no groin numbness, just a sore back after moving house",
    ],
)
def test_everyday_words_answers_and_other_senses_are_not_flagged(text: str) -> None:
    assert shipped().red_flags_detector.check(text) is None, text


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # Dialect spellings read as the plain word.
        ("a cannae feel masel when I wipe, back's been bad", "cauda-equina"),
        ("went aff the top o the ladder yesterday", "major-trauma"),
        ("freezin one minute, roastin the next, and my spine aches", "fever"),
        ("my bits have gone numb since my back went", "cauda-equina"),
        ("fel of my horse on sunday and my back is agony", "major-trauma"),
        ("a've lost a stane an a'm no dietin, back's sair", "weight-loss"),
        ("mi cyaan hol mi wata and mi back a hurt", "cauda-equina"),
        # Two letters swapped cost the corrector two edits; the check swaps them back.
        ("lost alot of wieght without trying and my back aches", "weight-loss"),
        ("I fall from okada yesterday and my back dey pain me", "major-trauma"),
        # An all-clear covers only its own words; "but" does not hide what follows.
        ("peeing fine but my bum has gone numb since the weekend", "cauda-equina"),
        ("no groin numbness, but I can't feel the toilet paper", "cauda-equina"),
        ("Fever? Yes, 38.5 this morning and my back hurts", "fever"),
        # An object is not the person the symptom belongs to.
        ("I tripped over the dog and fell down the stairs, now my back hurts", "major-trauma"),
        ("my son has a fever and a stiff back, he's 7, should I call someone?", "fever"),
        ("my dad has had a fall and I'm his carer, his back is agony", "major-trauma"),
        ("I fell through the loft hatch onto the landing", "major-trauma"),
        ("on prednisolone for years and my back suddenly got worse", "fever"),
        # Time words must stand together: "my back ... in the mornings" is not "back in".
        ("my skirt has all gone loose and my back is sore in the evenings", "weight-loss"),
        # New everyday wordings.
        ("the CT showed a lesion on my liver and my back aches", "cancer"),
        ("woke up soaked and had to change my pyjamas, back is throbbing", "fever"),
        ("feeling hot and achy all day, lower back pain too", "fever"),
        ("my legs aren't working properly since yesterday and my back hurts", "leg-weakness"),
        ("my ankle won't come up when I walk, I keep catching it", "leg-weakness"),
        ("both my feet have gone to sleep and stay like that", "leg-weakness"),
        ("haven't slept a wink because my back is so bad", "night-pain"),
        ("a bull knocked me down in the field and my back is sore", "major-trauma"),
        ("got flattened by a late tackle at hockey, back is agony", "major-trauma"),
        ("slipped on the kitchen floor and landed badly, I'm 80", "major-trauma"),
        ("gone thin without any reason and my back is sore", "weight-loss"),
        ("the pain is at its worst at 3 in the morning", "night-pain"),
        ("I have to strain to get anything out when I wee, back agony", "cauda-equina"),
        ("I no longer feel when I need a wee, back has been bad", "cauda-equina"),
        ("keep missing the loo because I can't feel it coming, back is bad", "cauda-equina"),
        ("my wedding ring keeps slipping off, back aching", "weight-loss"),
        ("Fever? No thermometer here, but my back is agony", "fever"),  # no answer
        ("been incontinent since Tuesday and my back is bad", "cauda-equina"),
        ("passing water without knowing it, lower back agony", "cauda-equina"),
        ("I can't go up on tiptoe on my right foot any more", "leg-weakness"),
        ("temperature up and down all week and my back hurts", "fever"),
        ("the painkillers aren't helping at all and it never lets up", "night-pain"),
        ("my vag feels numb since my back went", "cauda-equina"),
        ("body is very hot and back is paining, what to do", "fever"),
        ("kal se potty pe control nahi hai aur kamar dard", "cauda-equina"),  # Hinglish
        # Core words in other languages people mix in (Portuguese, Tagalog, Polish, Spanish).
        ("tive câncer de mama e agora dói a coluna", "cancer"),
        ("nahulog ako sa hagdan at masakit ang likod ko", "major-trauma"),
        ("acordo toda noite com dor nas costas", "night-pain"),
        ("słabną mi nogi i boli kręgosłup", "leg-weakness"),
        ("perdi 6 quilos sem dieta, dor nas costas", "weight-loss"),
        ("le duele la espalda ni de día ni de noche", "night-pain"),
        ("on the loo it feels like I'm sitting on a cushion, not my own skin", "cauda-equina"),
        ("both my legs feel like they aren't mine and it's worse every day", "leg-weakness"),
        ("awake at 3am again with my back, fourth night in a row", "night-pain"),
        ("I can't feel a tampon going in, my back has been bad all week", "cauda-equina"),
        ("my legs have gone floppy, they don't listen to me when I walk", "leg-weakness"),
        ("both feet are numbish on the pedals and my back is sore", "leg-weakness"),
        ("having body heat since yesterday and my back pains a lot", "fever"),
        ("the thermometer keeps reading high and my back aches", "fever"),
        ("I come off a scaffold on Monday, only a couple of metres", "major-trauma"),
        ("went into a tree skiing and my back is killing me", "major-trauma"),
        ("came off the high board badly and my back hurts", "major-trauma"),
        ("on letrozole after breast ca and my back is getting worse", "cancer"),
        ("nothing makes any difference to this back pain, rest or moving", "night-pain"),
        # Weight lost, told as two numbers.
        ("my dad weighed 70kg at his check-up in spring and he's 61kg now", "weight-loss"),
        ("used to be 12 stone, now 10 stone and my back aches", "weight-loss"),
        (
            "my jeans went from a 34 to a 30 waist and I've changed nothing, back aches",
            "weight-loss",
        ),
        # An all-clear is said in one clause: "at work but at night" is no "work nights".
        ("fine when I'm busy at work but at night it ramps up and wakes me", "night-pain"),
    ],
)
def test_dialect_objects_and_new_wordings_are_caught(text: str, category: str) -> None:
    hit = shipped().red_flags_detector.check(text)
    assert hit is not None, text
    assert hit.category_id == category, (text, hit)


@pytest.mark.parametrize(
    "text",
    [
        # "Won't go away" says how long pain has lasted, not that it is there at rest or night.
        "my chronic back ache never really goes away, can exercise help?",
        "my hamstring niggle won't go away after football, what stretches?",
        # Other senses told by the next word: a bowl of food, worry, a cricket or market slump.
        "a bowl of porridge every morning at my desk, is hunching bad for my back?",
        "had a big bowel of pasta slumped on the sofa, is that bad for my back",
        "I'm constantly anxious about my back pain flaring up, how do I stay active?",
        "the middle order collapse cost us the match, my back aches from fielding",
        "the ghost story sent shivers up my spine, anyway, stretches for a stiff back?",
        "the office is at fever pitch this month and my shoulders are tense",
        "caught a chill at the bus stop, just sniffly, and my back is stiff",
        "always sweaty after a spin class, is that normal? my back feels good",
        "on a hot factory floor all day and sweating, my back aches by evening",
        "the garage says the knocking sound is the car's suspension, my back aches from driving",
        # Numbness from sitting on something, gone on getting up; legs tired after exercise.
        "my feet went numb in tight walking boots, fine once I loosened the laces, back is stiff",
        "bum went numb on the coach journey, fine once I got out, how should I sit on long trips?",
        "legs like jelly after the hill race yesterday, lower back tight, stretches?",
        # A fall that did not happen, an accident asked about, weight put on or lost for a day.
        "grabbed the worktop when I slipped and stayed on my feet, but my back twinged",
        "do you need to have had an injury or accident before booking physio?",
        "bulked up 5 kilos this winter and my posture has gone round, exercises?",
        "lost a stone before the wedding and feel great, which core exercises?",
        # An all-clear naming the saddle area itself.
        "no bladder problems and no numbness in my groin, just a stiff back",
        # A veto reaches back across "but": the slip was caught.
        "tripped on the kerb but caught my balance, my back is a bit sore, stretches?",
        # Things that fall, collapse or crash: no one is hurt.
        "my tablet fell off the sofa arm and the screen cracked, I'd been hunched over it",
        "the cake collapsed when I opened the oven, I'd been on my feet baking all day",
        "the booking app crashed twice, can I book a back appointment here instead?",
        "got chills listening to the choir, anyway, is singing posture good for my back?",
        "the rain never stops here and my lower back gets stiff, any tips?",
        "our cat fell off the wardrobe and I laughed so hard my back twinged",
        "the clinic is a stone's throw from my office, can I pop in at lunch for my back?",
        "a happy accident: the foam roller fell on the floor and I found a great back stretch",
        "had a bladder infection in spring, cleared up, now my back is stiff from the garden",
        "weighed myself and lost nothing this month, my back aches when I jog",
        # A cancer specialist as someone's job.
        "my girlfriend's an oncologist and stands in clinic all day, her back is tight",
        # Up at night with someone: caring, not night pain.
        "up with my son every night while he had croup, now my back is stiff from the chair",
        # Numbness from sitting, gone as soon as the writer stood up.
        "pins and needles in my bum on the long train ride, gone once I stood up, back ok",
        # A screening list answered "no to all" (negatable categories only).
        "any fevers, night pain or weight loss? no to all of them, it's just stiff",
    ],
)
def test_other_senses_passing_numbness_and_duration_are_not_flagged(text: str) -> None:
    assert shipped().red_flags_detector.check(text) is None, text


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("my back pain never goes away, not even when I lie down at night", "night-pain"),
        ("the pain won't go away whatever position I'm in", "night-pain"),
        ("nothing helps, not even when I lie down", "night-pain"),  # "not even" stresses
        ("I'm in constant pain, it never lets up", "night-pain"),
        ("dropped three dress sizes and I haven't been trying, back aches", "weight-loss"),
        # No relief, relief denied, both sides, or no exercise: still a red flag.
        ("my bum went numb on the drive and it still hasn't gone now I'm home", "cauda-equina"),
        ("bum numb from sitting at work and it doesn't go away when I stand", "cauda-equina"),
        ("both feet went numb sitting on the sofa, fine once I stood up", "leg-weakness"),
        ("legs like jelly since the weekend and my back is killing me", "leg-weakness"),
        ("legs like jelly after the gym and I keep tripping over", "leg-weakness"),
        ("a bowel accident in the night and my back is bad", "cauda-equina"),
        ("up every night with the pain in my lower back", "night-pain"),
        # ... but never forward: what follows "but" is told on its own.
        ("grabbed the rail but still hit the floor hard and my back is agony", "major-trauma"),
        ("always sweaty after my workout but now I have a fever and back pain", "fever"),
        ("my bum has been numb since Monday, it's fine once I stand up", "cauda-equina"),
        ("numb bum when I sit, fine once I stand but it comes back when I sit", "cauda-equina"),
        ("legs collapsed under me in the kitchen", "leg-weakness"),
        ("a van shunted me from behind at the lights, back is sore", "major-trauma"),
        ("fever and an itch all over, back aches", "fever"),  # "itch" is not "pitch"
        # Narrow vetoes: a car part or a question about needing an accident hides no crash.
        ("crashed my car and the suspension is wrecked, my back hurts", "major-trauma"),
        ("do I need to have had a scan after I fell off the ladder?", "major-trauma"),
        ("I've had a fever since the gym on monday and my back aches", "fever"),
        ("I saw an oncologist last week about my back", "cancer"),  # a patient
        ("a heavy box fell off the top shelf onto my back at work", "major-trauma"),
        ("the tent collapsed on top of me in the storm, my back hurts", "major-trauma"),
        ("got chills listening to music and now I'm burning up", "fever"),
        ("the pain never stops and my lower back is worse every week", "night-pain"),
        ("bladder infection and now I can't feel when I need to pee", "cauda-equina"),
        ("tripped on the stairs by accident and fell down the whole flight", "major-trauma"),
        # An injury with "me" in it is the writer's, whoever did it.
        ("our dog knocked me over on the path and I hurt my back", "major-trauma"),
        ("any trouble with your bladder? no to all of it, bit of leaking", "cauda-equina"),
    ],
)
def test_scoped_senses_keep_real_red_flags(text: str, category: str) -> None:
    hit = shipped().red_flags_detector.check(text)
    assert hit is not None, text
    assert hit.category_id == category, (text, hit)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # "waking" and "wakes" are one word for the check ("wak" and "wake" were two).
        ("the pain keeps waking me up", "night-pain"),
        ("my back gets me out of bed at night", "night-pain"),
        # An all-clear is a phrase: "work ... night" far apart is no "work nights".
        ("I work from home but even at night the pain wakes me", "night-pain"),
        # Pain "going down my leg" cancels only those words, never "legs going".
        ("my legs are going numb and weak", "leg-weakness"),
        # "unintentionally" is never typo-corrected into the "intentional" all-clear.
        ("lost weight unintentionally and my back hurts", "weight-loss"),
        # A negation a few words before an all-clear undoes it.
        ("I'm not trying to lose weight but I've lost a stone", "weight-loss"),
        ("barely anything comes out when I go for a wee and my back hurts", "cauda-equina"),
        # A carer asking what to get them doing: urgent for them.
        ("my wife's lost feeling down below, what exercises can I get her doing", "cauda-equina"),
        # Asked about, but with "my" in between: the writer's own.
        ("they asked about my bladder leaking", "cauda-equina"),
        # "no strength", "no control" are the symptom, not its denial.
        ("no strength in my legs and my back hurts", "leg-weakness"),
        ("no control of my bladder and my back is agony", "cauda-equina"),
        ("they tested for cancer and found a tumour in my spine", "cancer"),
        # Named as a matter only when a matter word follows: control is the symptom.
        ("no bladder control since yesterday", "cauda-equina"),
        # A bare "I don't" ends the answer; "I don't know" is no answer.
        (
            "the GP asked if I had bowel problems and I don't know, I've had accidents",
            "cauda-equina",
        ),
        # A scare is "a cancer scare"; the writer's own cancer is still theirs.
        ("I had a cancer scare years ago and now I have cancer again", "cancer"),
        ("my cancer scared me but it's back now", "cancer"),
        # "Without a diet" is the unexplained kind.
        ("lost 8 kilos without being on a diet and my back aches", "weight-loss"),
        # An all-clear never reaches into another sentence, and no all-clear is a synonym
        # term: "heat or ice" was read as "pain relief" and cancelled this fever.
        ("I have a fever, what pain relief can I take?", "fever"),
        ("I have a fever. Is a heat pack a bad idea?", "fever"),
        ("I fell off a ladder this morning. My old injury had fully healed.", "major-trauma"),
        # A "no" answers its own question only: the next one can still be a yes.
        ("any numbness? no. any leaking? yes a bit", "cauda-equina"),
        ("Fever? No. Bladder leaking? a little", "cauda-equina"),
    ],
)
def test_negations_all_clears_and_talk_keep_real_red_flags(text: str, category: str) -> None:
    hit = shipped().red_flags_detector.check(text)
    assert hit is not None, text
    assert hit.category_id == category, (text, hit)


@pytest.mark.parametrize(
    "text",
    [
        # A negation before any word of a phrase, not only its first.
        "stuffy nose and a cold but no temperature, can I still do my stretches?",
        # A symptom named as a subject of talk, not had.
        "what's the difference between sciatica and cauda equina?",
        "do physios ask about fevers at the first appointment?",
        "my physio mentioned foot drop, what does that mean?",
        "is back pain a sign of cancer?",
        # Other senses and all-clears.
        "the pain is going down my leg, is that sciatica?",
        "Mum is terrified of falling, would strengthening help her back?",
        "no leaks since I started pelvic floor exercises, are they good for my core?",
        "my back is fine at night, it only aches after gardening",
        "walking every day to lose weight, 3kg down so far, which stretches help my back?",
        # A symptom word denied right before it, even where negation is not otherwise trusted.
        "no numbness anywhere, legs strong, just a stiff back",
        "no trouble peeing, just stiff after moving house",
        # A list of symptoms shares its negation.
        "no fever or chills, just a stiff back",
        # A check for it that came back clear.
        "the GP tested for infection and it came back clear, can physio help my back?",
        "cancer was ruled out, can I start core work?",
        # A bladder or bowel word denied as a matter, or a screening question answered no.
        "herniated disc, no bowel or bladder problems, can physio help?",
        "the nurse asked if I had any bowel or bladder issues, I haven't, thankfully",
        "any numbness, any leaking? no to all of it, I just slouch",
        # A scare, a clear biopsy, a fever years back, someone else's fever.
        "had a cancer scare but it was nothing, how do I keep my back healthy?",
        "my biopsy came back clear, what core exercises can I do?",
        "had glandular fever at school years ago, is that why my back aches?",
        "half the class has a fever but I'm fine, my back just aches from the tables",
        # Other senses: a skill, tiredness, a foot something was dropped on, a cheek, a course.
        "I'm useless at lifting with my legs, how do I learn?",
        "legs dead tired after the half marathon, back tight too",
        "dropped a tin on my foot, it's fine, how do I lift safely?",
        "my cheek is still numb from the dentist, can I book physio for my back?",
        "I coach a tumbling class, how do I protect my back?",
        "down a stone on weight watchers, how do I keep my back happy?",
        "how do I get out of bed in the morning without my back screaming?",
        "do physios check for infections at the first visit?",
        "is the physio part of the cancer rehab team at the hospital?",
        # A goal, a gain, or a loss on purpose, in numbers.
        # "mine" is filler: "not mine" must never shrink to a bare "not" next to a leg word.
        "my legs are not sore, just my back",
        "legs not too bad but my back aches",
        "I'm 95kg and want to get to 85kg, will physio help my back?",
        "I was 60kg, now 70kg and my back hurts more",
        "my jeans went from a 30 to a 34 this year and my back hurts",
        "I was 90kg in January and I'm 82kg now thanks to slimming world",
        "how much is your weight loss programme for people with back pain?",
    ],
)
def test_talk_other_senses_and_all_clears_are_not_flagged(text: str) -> None:
    assert shipped().red_flags_detector.check(text) is None, text


_RED_FLAGS_FOR_PREFIXES = [
    "my bladder is leaking",
    "groin numbness since Tuesday",
    "my legs are going weak",
    "I fell off the roof onto my back",
    "I have a fever and my back hurts",
    "I had breast cancer and now my back aches",
    "I'm losing weight without trying",
    "the back pain wakes me up every night",
]
# Harmless negated chatter before a red flag never cancels it: an all-clear is a phrase of its
# own, a negation only denies the word right after it.
_NEGATED_CHATTER = [
    "not sure but ",
    "no idea, ",
    "not tired. ",
    "I don't know, ",
    "no worries, ",
    "not sure and ",
]


@pytest.mark.parametrize("chatter", _NEGATED_CHATTER)
@pytest.mark.parametrize("text", _RED_FLAGS_FOR_PREFIXES)
def test_negated_chatter_before_a_red_flag_never_cancels_it(chatter: str, text: str) -> None:
    assert shipped().red_flags_detector.check(chatter + text) is not None, chatter + text


# --- the fast paths of the check: the same answers as trying everything ----------------------


class _Everything(frozenset[str]):
    """A word set that holds every word: with it the filters below let everything through."""

    def __contains__(self, item: object) -> bool:
        return True

    def __ge__(self, other: object) -> bool:
        return True


def _red_flag_words() -> list[str]:
    detector = shipped().red_flags_detector
    words = {t for p in detector.phrases for t in p.tokens}
    words |= {t for c in detector.concepts for g in c.groups for o in g for t in o}
    words |= {t for vetoes in detector.unless for v in vetoes for t in v.tokens}
    return sorted(words)


@settings(max_examples=300, deadline=None)
@given(st.sets(st.sampled_from(_red_flag_words()), max_size=12))
def test_indexes_pick_exactly_the_texts_whose_words_are_all_there(present: set[str]) -> None:
    # `_spans` finds nothing unless every word is there, so the indexes must give every
    # phrase and veto that has all its words, in their own order, and every concept that
    # has an option of its first group.
    detector = shipped().red_flags_detector
    assert detector._phrase_candidates(present) == [
        i for i, p in enumerate(detector.phrases) if set(p.tokens) <= present
    ]
    for category, vetoes in enumerate(detector.unless):
        assert detector._veto_candidates(category, present) == [
            i for i, v in enumerate(vetoes) if set(v.tokens) <= present
        ]
    concepts = detector._concept_candidates(present)
    assert concepts == sorted(concepts)
    for number, concept in enumerate(detector.concepts):
        if any(set(option) <= present for option in concept.groups[0]):
            assert number in concepts


def _spans_reference(
    tokens: tuple[str, ...], positions: dict[str, list[int]]
) -> list[tuple[int, int]]:
    """`_spans` as it was before its short ways: the rarest token anchors, the nearest
    occurrence of each other one within the window joins it."""
    if any(t not in positions for t in tokens):
        return []
    anchor = min(tokens, key=lambda t: len(positions[t]))
    window = len(tokens) + _SLACK
    found: list[tuple[int, int]] = []
    for start in positions[anchor]:
        used = [start]
        for token in tokens:
            if token == anchor:
                continue
            nearest = min(positions[token], key=lambda p: abs(p - start))
            if abs(nearest - start) > window:
                break
            used.append(nearest)
        else:
            found.append((min(used), max(used)))
    return found


def _concept_spans_reference(
    concept: _Concept, positions: dict[str, list[int]]
) -> list[tuple[int, int, tuple[int, ...]]]:
    """`_concept_spans` as it was: every option of every group tried."""
    occurrences = []
    for group in concept.groups:
        found = [span for option in group for span in _spans_reference(option, positions)]
        if not found:
            return []
        occurrences.append(found)
    spans = []
    for lo, hi in occurrences[0]:
        first, last, starts = lo, hi, [lo]
        for others in occurrences[1:]:
            olo, ohi = min(others, key=lambda s: min(abs(s[0] - hi), abs(lo - s[1])))
            first, last = min(first, olo), max(last, ohi)
            starts.append(olo)
        if last - first + 1 <= concept.within + len(concept.groups):
            spans.append((first, last, tuple(starts)))
    return spans


def _positions(stems: list[str]) -> dict[str, list[int]]:
    positions: dict[str, list[int]] = {}
    for i, t in enumerate(stems):
        positions.setdefault(t, []).append(i)
    return positions


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_red_flag_words()), min_size=1, max_size=14))
def test_concept_spans_skip_only_options_that_cannot_match(stems: list[str]) -> None:
    positions = _positions(stems)
    for concept in shipped().red_flags_detector.concepts:
        spans = _concept_spans(concept, positions, set(positions))
        assert spans == _concept_spans(concept, positions, _Everything())
        assert spans == _concept_spans_reference(concept, positions)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["numb", "leg", "cant", "feel", "wee"]), min_size=1, max_size=16),
    st.lists(st.sampled_from(["numb", "leg", "cant", "feel"]), min_size=1, max_size=4).map(tuple),
)
def test_spans_short_ways_find_the_same_spans(stems: list[str], tokens: tuple[str, ...]) -> None:
    # One-word phrases and words that occur once take a short way in `_spans`.
    positions = _positions(stems)
    assert _spans(tokens, positions) == _spans_reference(tokens, positions)


# Every word a context rule of `_stems` looks at or rewrites, and their neighbours.
_STEMS_WORDS = words(
    """
    bits my of wee bit a bowel bowels bowl bowls constant constantly worried stone stones throw
    collapse collapsed market fell falls phone up with her the baby oncologist is an cross legged
    freezin shakin cannae fel masel sair
    down him them pissed pissing pisses off me my our 5 yo year yr old oncology physio nurse im
    """
)


def _without_short_way(detector: RedFlagDetector) -> RedFlagDetector:
    slow = copy.copy(detector)
    slow._plain = frozenset()  # every word through the rules one by one
    return slow


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(sorted(shipped().red_flags_detector.normaliser.vocabulary)),
            st.sampled_from(_STEMS_WORDS),
            st.text(alphabet="abcdefghinrstuw", min_size=1, max_size=8),
        ),
        max_size=12,
    )
)
def test_stems_short_way_for_plain_words_changes_nothing(words: list[str]) -> None:
    # The short way in `_stems` (a known word no rule touches is kept as it is) must give
    # what the rules one by one give.
    detector = shipped().red_flags_detector
    text = " ".join(words)
    assert detector._stems(text) == _without_short_way(detector)._stems(text)


def test_a_known_word_is_its_own_correction() -> None:
    # `_stems` keeps a known word as it is instead of asking the corrector: the corrector
    # must give every known word back unchanged.
    detector = shipped().red_flags_detector
    for word in sorted(detector.normaliser.vocabulary):
        assert detector._correct(word) == word


def test_stems_short_way_covers_no_word_a_rule_rewrites() -> None:
    detector = shipped().red_flags_detector
    slow = _without_short_way(detector)
    # Each vocabulary word alone, and after and before each rule's context words.
    contexts = ["{}", "my {}", "{} of", "a {} of", "{} bit", "{} throw", "market {}", "up {} her"]
    contexts += ["phone {}", "is an {}", "cross {}", "{} worried"]
    contexts += ["{} off", "{} me off", "down {}", "my 5 {}", "my 5 year {}", "is an {} nurse"]
    for word in sorted(detector.normaliser.vocabulary):
        for context in contexts:
            text = context.format(word)
            assert detector._stems(text) == slow._stems(text), text


def _cue_one_by_one(raw: list[str], start: int, cues: list[tuple[str, ...]]) -> bool:
    return any(
        tuple(raw[p : p + len(cue)]) == cue
        for cue in cues
        for p in range(start, len(raw) - len(cue) + 1)
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["i", "look", "after", "her", "what", "do"]), max_size=10),
    st.integers(min_value=0, max_value=11),
    st.lists(
        st.lists(st.sampled_from(["i", "look", "after", "her", "what", "do"]), max_size=3).map(
            tuple
        ),
        max_size=3,
    ),
)
def test_cue_search_finds_what_a_word_by_word_search_finds(
    raw: list[str], start: int, cues: list[tuple[str, ...]]
) -> None:
    # `_cue` jumps from one occurrence of a cue's first word to the next; it must find a cue
    # exactly where trying every position does (an empty cue too, and past the end).
    assert RedFlagDetector._cue(raw, start, cues) == _cue_one_by_one(raw, start, cues)


def test_finding_hits_one_at_a_time_gives_the_hit_finding_them_all_first_gives() -> None:
    # `check` stops at its first hit no rule rules out, so what comes after it in
    # `_found` is never looked for; on every development message and every knowledge phrase
    # it must answer as when every phrase and concept is found first.
    kb = shipped()
    detector = kb.red_flags_detector
    eager = copy.copy(detector)
    found = type(detector)._found
    eager._found = lambda *args: iter(list(found(detector, *args)))  # type: ignore[method-assign]
    eval_dir = SHIPPED_KB.parent / "tests" / "eval"
    texts = [case.text for path in sorted(eval_dir.glob("dev*.yaml")) for case in load_cases(path)]
    texts += [p for c in kb.red_flags.categories for p in (*c.phrases, *c.unless)]
    for text in texts:
        assert detector.check(text) == eager.check(text), text


def test_concept_options_of_several_words_keep_more_than_a_negation() -> None:
    # "not mine" once became a bare "not" ("mine" is filler), so "my legs are not sore" was
    # leg weakness. An option written as several words must not shrink to one negation.
    from bot.safety import _NEGATIONS

    detector = shipped().red_flags_detector
    for category in shipped().red_flags.categories:
        for concept in category.concepts:
            for group in concept.all_of:
                for option in group:
                    tokens = detector._tokens(option, correct=False)
                    if len(option.split()) > 1 and len(tokens) == 1:
                        assert tokens[0] not in _NEGATIONS, (category.id, option, tokens)


def test_no_all_clear_is_read_as_a_synonym_term() -> None:
    # synonyms.yaml turns "heat or ice" into "pain relief", so an all-clear written that way
    # cancelled a red flag next to any mention of pain relief.
    kb = shipped()
    detector = kb.red_flags_detector
    terms = {detector.words_of(s.term) for s in kb.synonyms.synonyms}
    for category in kb.red_flags.categories:
        for phrase in category.unless:
            assert detector.words_of(phrase) not in terms, (category.id, phrase)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # Found on the sixth round's blind sets: a phrase whose key word was filler, and a
        # cancer word with an everyday sense.
        (
            "Madam my hips and back are so tight from sitting on floor cooking, which stretch"
            " you recommend",
            None,
        ),
        ("I'm a secondary school teacher and I've been referred for lower back pain", None),
        ("I can't feel the bits you sit on", "cauda-equina"),
        ("my bits you sit on are numb since this morning", "cauda-equina"),
        ("I have secondary cancer in my spine and my back hurts", "cancer"),
    ],
)
def test_sixth_round_senses(text: str, category: str | None) -> None:
    hit = shipped().red_flags_detector.check(text)
    assert (hit.category_id if hit else None) == category


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # Families of wording from the sixth round's blind red-flag sets (written afresh here).
        ("had to check the seat was dry when I got up, back's been awful", "cauda-equina"),
        ("she's soiling herself since Monday and her back is agony", "cauda-equina"),
        ("can't get a stream going at all since my back went", "cauda-equina"),
        ("on the loo it feels like sitting on nothing, back hurts", "cauda-equina"),
        ("lower limb weakness and low back pain for a week", "leg-weakness"),
        ("rolled the car on the motorway yesterday, back is sore", "major-trauma"),
        ("bike vs car last night, back sore today", "major-trauma"),
        ("my ring keeps sliding off these days and my back aches", "weight-loss"),
        ("everyone says I look gaunt and my back hurts", "weight-loss"),
        ("throbbing nonstop in my lower back for a week", "night-pain"),
        # A carer telling of the other person's back: urgent for them.
        (
            "my grandad fell down the stairs and he's been complaining about his back",
            "major-trauma",
        ),
        ("my little girl has a fever and keeps holding her back", "fever"),
        ("my dad has a bad back and he hasn't peed since this morning", "cauda-equina"),
        ("since my back went things aren't working downstairs", "cauda-equina"),
        ("how do I fix a slipped bike chain", None),
        # Afraid of a fall that never happened.
        ("my dad is terrified of falling, would physio help keep his back strong?", None),
    ],
)
def test_sixth_round_families(text: str, category: str | None) -> None:
    hit = shipped().red_flags_detector.check(text)
    assert (hit.category_id if hit else None) == category


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # Families of wording from the seventh round's blind red-flag sets (written afresh here).
        ("my blather has gone funny since my back went", "cauda-equina"),
        ("I keep straining to wee and nothing much happens, back is sore", "cauda-equina"),
        ("saddle anesthesia with low back pain, can physio help?", "cauda-equina"),
        ("my slipper keeps flying off my right foot and my back aches", "leg-weakness"),
        ("my foot couldnt press the clutch properly, back pain down that leg", "leg-weakness"),
        ("both legs wobble when I climb the stairs since my back went", "leg-weakness"),
        ("🤒 and a sore back since yesterday", "fever"),
        ("big stack on the slopes yesterday and my back is killing me", "major-trauma"),
        ("my nan tripped on the rug and her back is sore", "major-trauma"),
        ("on hormone injections for my prostate, now my back hurts", "cancer"),
        ("I keep needing smaller jeans and I'm not dieting, back aches too", "weight-loss"),
        ("my back woke me at 3 again, what can I do", "night-pain"),
        ("back pain has me up most of the night lately", "night-pain"),
        ("my thigh just doesnt work on the stairs since my back went", "leg-weakness"),
        ("feels like wading through treacle with both legs, back is bad", "leg-weakness"),
        ("been running hot every evening and my back aches", "fever"),
        ("the carer found him on the floor this morning and his back hurts", "major-trauma"),
        ("pushing and pushing on the loo and no urge to go, back sore", "cauda-equina"),
        ("my nan says her back wakes her most nights", "night-pain"),
        ("she keeps needing to go but nothing comes out, and her back is bad", "cauda-equina"),
        ("I can't lift my leg into the car any more since my back went", "leg-weakness"),
        ("the numb patch on my thigh is getting bigger every day, back aches", "leg-weakness"),
        ("my daughter has a temperature and says her back hurts", "fever"),
        ("unwitnessed fall in the lounge, now complaining of back pain", "major-trauma"),
        ("wake up screaming with back pain most nights", "night-pain"),
        ("the pain never goes off, not even lying down", "night-pain"),
        ("dead legs after football last night, and my back is stiff, stretches?", None),
        ("took a lead fall, the rope caught me and I never hit anything, back's tight", None),
        # A later weight said without its unit, lower by more than a little.
        ("was 12 stone, now 10 and not trying, my back aches", "weight-loss"),
        ("I used to weigh 80kg, now I'm 70 and my back aches", "weight-loss"),
        ("I used to be 70kg, now I'm 75 and my back aches, would losing some help?", None),
        ("I was 80kg when I was 30, now I'm 45 and my back aches", None),
        # A carer asking for the person with the red flag keeps it urgent for them.
        (
            "My father is being treated for prostate cancer and has developed new back pain."
            " He wants to see a physio. I drive him to his appointments.",
            "cancer",
        ),
        (
            "My mother is being treated for breast cancer and has developed new back pain."
            " She wants to see a physio.",
            "cancer",
        ),
        # Later passes: a written-off car, a toe that scrapes, "demam", the chills.
        ("wrote my car off on the motorway yesterday and now my back is stiff", "major-trauma"),
        ("my big toe keeps scraping the ground since my back went", "leg-weakness"),
        ("demam since yesterday and my back is very sore", "fever"),
        ("got the chills and my lower back is killing me", "fever"),
        ("my grandad has gotten so thin and his back is bad, would physio help?", "weight-loss"),
        ("the pain hasn't stopped for a second in days, resting does nothing", "night-pain"),
        ("fell over at hockey and twisted my ankle, back's totally fine, do you do ankles?", None),
        # An all-clear for "do I have to have had an accident?" had cancelled this one.
        ("I had a car accident and now have lower back pain.", "major-trauma"),
        ("do I have to have had an accident to see a physio?", None),
        # "Can't get it up" of an erection, not of a wardrobe or an arm.
        ("can't get it up since my back went, is that the nerve?", "cauda-equina"),
        ("I can't get it up the stairs on my own, how do I lift a wardrobe safely?", None),
        # Polish "mam" is "I have"; in English it is still someone's mum.
        ("mam gorączkę i boli mnie plecy", "fever"),
        ("my mam fell down the stairs and her back is sore", "major-trauma"),
        # The same words harmlessly: a clutch that slipped, training, a diet, nerves.
        ("my clutch slipped on the tractor again", None),
        ("lost a bit of weight from all the running, how do I protect my back?", None),
        ("sweating just thinking about my first physio appointment, what happens?", None),
        ("my toddler wakes me every night and my back aches from carrying her", None),
        ("no history of cancer, no fever, GP checked, is physio worth it for my back?", None),
        ("my dog has cancer and lifting him in and out of the car hurts my back", None),
        ("I'm weak at the knees for my physio, how many sessions will I need?", None),
        ("on ozempic and lost 9kg, my back twinges when I hoover", None),
        ("the back seat of the car is broken, which cushion helps my back on long drives?", None),
        ("we do a lot of sweating at hot yoga, is it good for a stiff back?", None),
    ],
)
def test_seventh_round_families(text: str, category: str | None) -> None:
    hit = shipped().red_flags_detector.check(text)
    assert (hit.category_id if hit else None) == category


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # Families of wording from the eighth round's blind red-flag sets (written afresh here).
        ("I have to push to pee lately and my back is killing me", "cauda-equina"),
        ("my bum feels like a dental injection wore off wrong, back is bad", "cauda-equina"),
        ("I can barely feel the toilet paper when I wipe, sore back", "cauda-equina"),
        ("mum couldn't hold it til the toilet today, her back is bad again", "cauda-equina"),
        ("the pins and needles crept up my leg this week and my back aches", "leg-weakness"),
        ("my left leg just wont lift onto the step, back pain for weeks", "leg-weakness"),
        ("I have to lift my leg in with my hands to get in the car", "leg-weakness"),
        ("they found him on the floor of the kitchen, his back hurts", "major-trauma"),
        ("bad wipeout on my mountain bike and my back is sore", "major-trauma"),
        ("my psa came back at 12, they want more tests, and my back aches", "cancer"),
        ("the scan showed something on my spine and my back really hurts", "cancer"),
        ("lost 12 lb without trying and my back aches", "weight-loss"),
        ("my weight is coming off by itself and my back hurts", "weight-loss"),
        ("the pain has me up every night at about 3", "night-pain"),
        # Weights told as numbers: from one to the other, or "now" after the number.
        ("went from 14st 2 to 12st 9 since the summer, back is sore", "weight-loss"),
        ("I used to be 85kg and I'm 76 now, my back aches", "weight-loss"),
        ("went from 70kg to 78kg since I stopped running, back feels stiff", None),
        # A carer asking what the person should do keeps it theirs: "does she wait?".
        (
            "my wife's foot has started dragging, I told her to rest it, does she need physio?",
            "leg-weakness",
        ),
        # A year told of something else far along the clause is not the symptom's own.
        (
            "hot and shivery and sweaty all day, and my back hurts worse than when I hurt it"
            " playing rugby in 2015",
            "fever",
        ),
        # The same words harmlessly: a limb's symptom denied, another sense, a diet, a past fever.
        ("is physio good for a bulging disc? no leg weakness, only pain", None),
        ("my surgery went well and my leg is strong again, when can I run?", None),
        ("got a streaming cold, should I still come to my appointment?", None),
        ("I can't stand up quickly from the sofa because my back catches", None),
        ("is keto good for losing weight", None),
        ("achilles tendonitis, what helps", None),
        ("my knee feels weak since my ACL reconstruction, can physio help?", None),
        # Second pass (dev_redflags20): a dry pad, "not working downstairs", a quad that
        # won't fire, flu-ish, a wheelchair fall, a car into the back of theirs, clothes
        # taken in, a usual weight, all night every night.
        ("dad wears pads and his pad has been dry all day, and his back is bad", "cauda-equina"),
        ("since my back went things are not working downstairs, if you get me", "cauda-equina"),
        ("my left quad wont fire on the stairs since I hurt my back", "leg-weakness"),
        ("feeling fluish and my lower back is killing me", "fever"),
        ("my brother fell out of his wheelchair and his back hurts", "major-trauma"),
        ("a van drove into the back of us yesterday and my back is sore", "major-trauma"),
        ("my suit had to be taken in and I'm eating normally, back aches too", "weight-loss"),
        ("normally I'm 90kg, now I'm 81 and my back aches", "weight-loss"),
        ("my back hurts all night every night", "night-pain"),
        # A screening list answered item by item: each "no" takes only its own item.
        ("fever - no, weight loss - no, night pain: none. stretches for a stiff back?", None),
        ("bladder - leaking since yesterday, fever - no", "cauda-equina"),
        ("danced all night at a wedding and my back is stiff today", None),
        # dev_redflags21: English mixed with another language, or written in Latin letters.
        ("abeg I no fit hold toilet since yesterday and my back dey pain me", "cauda-equina"),
        ("kamar mein dard hai aur left leg mein jaan hi nahi hai", "leg-weakness"),
        ("jatuh motor pagi tadi, sakit belakang teruk", "major-trauma"),
        ("wazni nezel 5 kilo w dahri bywga3ni", "weight-loss"),
        ("kamar mein dard hai par bukhar nahi hai, office chair se hai", None),
        ("el doctor 2al mesh cancer, just a strain, physio?", None),
        # "school" alone is no distant past: the school run is today.
        (
            "doing the school run when a van drove into the back of us, my back's sore",
            "major-trauma",
        ),
        ("fell off the climbing frame when I was at school, would physio help my back now?", None),
        ("the carers found her lying on the floor, she's 88 and her back hurts", "major-trauma"),
        # A relative's cancer beside the writer's own back is not the writer's red flag; the
        # relative's back, or the writer's own cancer, still is.
        (
            "my nan has breast cancer and I'm getting her up every morning, my own back is sore",
            None,
        ),
        (
            "clearing out my late grandad's flat (he died of cancer in June), how do I lift the"
            " heavy stuff without doing my back in?",
            None,
        ),
        ("my mum and I both had breast cancer and now my back hurts", "cancer"),
        (
            "my dad has bone cancer and his back is really bad now, would physio help him?",
            "cancer",
        ),
        ("the kids are a handful and my myeloma is stable but my back has been hurting", "cancer"),
        ("my legs feel weak and keep giving way since my back went", "leg-weakness"),
    ],
)
def test_eighth_round_families(text: str, category: str | None) -> None:
    hit = shipped().red_flags_detector.check(text)
    assert (hit.category_id if hit else None) == category


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # Families from the ninth round's blind sets (dev_redflags22, dev22), written afresh
        # here. A leg that barely lifts, tiptoe that couldn't be done, a leg barely got into
        # the car; lifting "with the legs" is technique.
        ("she can barely lift her right leg up the step, sore back", "leg-weakness"),
        ("I couldn't get up on tiptoe on my left foot today, back's tight", "leg-weakness"),
        ("I can barely get my leg into the car since Friday, back pain too", "leg-weakness"),
        ("I'm struggling to lift with my legs instead of my back, any tips?", None),
        # A veto in either sentence of a concept that spans two; a real crash still counts.
        ("what stretches before snowboarding? I fell plenty last season but never got hurt", None),
        (
            "any stretches before skiing? I crashed into a tree yesterday and my back hurts",
            "major-trauma",
        ),
        # Waking up stiff names no pain; pain that wakes the writer does.
        ("I sleep on my back and wake up with a stiff neck every day, pillow advice?", None),
        ("I wake up stiff and the pain wakes me every night", "night-pain"),
        ("I barely sleep and wake up stiff and aching, it's been weeks", "night-pain"),
        # Weight lost to a running programme; weight lost without trying still counts.
        ("lost a stone since I started running and my back feels better, what next?", None),
        (
            "lost a stone without trying and I've had to give up parkrun, my back aches",
            "weight-loss",
        ),
        # Night pain denied in other words, getting out of bed without it hurting; the
        # symptom itself still counts.
        (
            "should I keep going with rowing? no pain at night or anything, just tight after"
            " sessions",
            None,
        ),
        ("no pain at night before, but now my back pain wakes me every night", "night-pain"),
        ("what's the trick to getting out of bed without my back screaming?", None),
        ("the pain gets me out of bed every night", "night-pain"),
        # An injury "cleared now" is over; a recent one is not.
        (
            "fractured my spine in a car crash last year, been cleared now by the surgeon, can I"
            " start pilates?",
            None,
        ),
        ("crashed my car last week and my back is killing me", "major-trauma"),
        # "No infection or fever" is one denied list; a fever said beside it is not denied.
        ("no infection or fever after my spinal op, when can I swim?", None),
        ("no infection but I've had a fever since yesterday and my back hurts", "fever"),
        # "A cauda equina scare" in more words; a symptom beside it still counts.
        (
            "had a cauda equina scare in 2022, the MRI was clear, now just stiff from painting",
            None,
        ),
        (
            "had a cauda equina scare last year and now I can't feel the toilet paper when I wipe",
            "cauda-equina",
        ),
        # "Pissed off" is annoyance; "pissed myself getting off the bus" is not.
        ("I'm pissed off that a silly strain has stopped me playing", None),
        ("I pissed myself getting off the bus and my back is agony", "cauda-equina"),
        # "Bending down constantly" is how often; pain that is constant is not.
        ("my back hurts from bending down constantly at work, tips?", None),
        ("my back hurts constantly even lying down", "night-pain"),
        # A child named by age is someone else; the writer's own age is not a child, and a
        # child asked for stays urgent.
        (
            "my 4 year old fell down the stairs (she's fine) and I wrenched my back grabbing her",
            None,
        ),
        ("I'm 45 yo and fell off a ladder, my back is sore", "major-trauma"),
        (
            "my 7-year-old fell off the trampoline and his back hurts, should I take him in?",
            "major-trauma",
        ),
        # "I work as an oncology pharmacist" is a job; "an oncology patient" is not.
        ("I work as an oncology pharmacist and my back aches from standing all day", None),
        ("I'm an oncology patient and my back has started aching", "cancer"),
        # "Nothing is numb" denies; "I feel nothing" is the symptom, also when wiping.
        ("a bit of ache in my bum cheek when I sit, but nothing is numb", None),
        ("I feel nothing, numb down there since this morning", "cauda-equina"),
        ("I can feel nothing when I wipe and my back is agony", "cauda-equina"),
        # A place after a denied symptom word is denied with it; after another word it is not.
        ("GP checked, no tingling in the saddle area, just sciatica, what exercises?", None),
        ("no weakness, numbness in the saddle area since this morning", "cauda-equina"),
        # A red flag asked about in general, then disowned in so many words; not "I think I
        # have it", "I don't have it yet", "not all the time".
        ("what is saddle numbness? saw it on a leaflet. I don't have it, just curious", None),
        ("is spinal cancer hereditary? I've got no symptoms, just worried after the news", None),
        ("I think I have saddle numbness, is that bad?", "cauda-equina"),
        ("what does saddle numbness mean? I don't have it yet but I'm scared", "cauda-equina"),
        (
            "is my dad's saddle numbness an emergency? I don't have it myself, what should I do?",
            "cauda-equina",
        ),
        (
            "is numbness down there serious? I don't have it all the time, only when I sit",
            "cauda-equina",
        ),
        # Night pain asked about, then "fine at night"; kept up every night still counts.
        (
            "does back pain at night mean something serious? mine's fine at night, just stiff in"
            " the mornings",
            None,
        ),
        ("is pain at night serious? it keeps me up every night", "night-pain"),
        # Cancer as what something may "mean" is a fear; "the cancer is back" is not.
        ("can a pulled muscle mean cancer?", None),
        ("the scan results mean the cancer is back and my back is killing me", "cancer"),
        # A young adult's fall from standing that only bruised; a crack or an older writer
        # still counts.
        ("I'm 31 and took a tumble at netball, tailbone is only bruised, when can I play?", None),
        ("I'm 35, fell over on the ice, only bruised but heard a crack", "major-trauma"),
        ("I'm 29, fell over at football, just bruised but heard a crack", "major-trauma"),
        ("fell over playing football, just bruised, I'm 67", "major-trauma"),
        ("fell over in the garden, just a bit bruised, I'm 58", "major-trauma"),
    ],
)
def test_ninth_round_families(text: str, category: str | None) -> None:
    hit = shipped().red_flags_detector.check(text)
    assert (hit.category_id if hit else None) == category


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # Families from the ninth round's second blind sets (dev_redflags23, dev23), written
        # afresh here. A numb patch that grows or reaches the foot; legs weaker and weaker said
        # a few words on; a fall on a ski run named by its colour.
        (
            "the numb bit on my calf has got bigger and now my toes too, back aching",
            "leg-weakness",
        ),
        (
            "my legs have good and bad days but this month they're going weaker and weaker",
            "leg-weakness",
        ),
        ("came a cropper on a blue run, wiped out and my lower back is agony", "major-trauma"),
        # No position brings relief, sleep impossible, the same moving or resting.
        ("my back hurts and there's no relief whatever position I try", "night-pain"),
        ("sleep is impossible with this back pain", "night-pain"),
        ("the ache doesn't change whether I'm resting or walking about", "night-pain"),
        # A new numb patch where one sits.
        ("there's a new patch right where I sit that feels strange and numb", "cauda-equina"),
        # Someone called or told about a fall is not the one who fell; a simile is no person.
        ("I phoned my son after a nasty fall off the ladder and my back is agony", "major-trauma"),
        ("my watch texted my wife when it picked up a hard fall, my back hurts", "major-trauma"),
        ("sick as a dog with a temperature and my back is killing me", "fever"),
        # A relative's old cancer is no all-clear when it is their back pain now.
        ("my mum had cancer a while back and now she has back pain, can physio help?", "cancer"),
        ("my mum had cancer, I've got back pain from lifting boxes at work, any tips?", None),
        # A decade of life is the past only when it is not the writer's age now.
        (
            "I'm in my twenties and fell off a ladder yesterday, my back is killing me",
            "major-trauma",
        ),
        ("I am in my 30s and came off my motorbike last night, back's sore", "major-trauma"),
        ("fell off a roof once in my 30s, fine since, what core work at 68?", None),
        # Other senses, each beside a red flag that must still be caught.
        ("I'm 28, slipped on the bosu and landed on my backside, no harm done", None),
        (
            "I'm 28, fell over on the ice, not hurt at all but heard a crack",
            "major-trauma",
        ),
        ("I'm a radiotherapy radiographer and my back aches after shifts", None),
        ("I'm a radiotherapy patient and my back has started aching", "cancer"),
        ("I have to get up to pee twice a night and my back is stiff in the morning", None),
        ("the pain wakes me every night", "night-pain"),
        ("toes have been numb for years from diabetes, what back exercises are safe?", None),
        ("both my legs have gone numb since Tuesday and my back hurts", "leg-weakness"),
        ("my leg went dead from sitting on the toilet too long, is my posture bad?", None),
        ("leg pain has gone since the op, what rehab now?", None),
        ("I can't control my bowels since my back went", "cauda-equina"),
        ("I leak a bit when I cough since having the twins, core tips?", None),
        ("my back feels hot after the heat pack, how long should I use it?", None),
        ("feel hot and shivery and my back is throbbing", "fever"),
        ("I fell off my chair leaning back on it, I'm 24, just embarrassed", None),
    ],
)
def test_ninth_round_second_families(text: str, category: str | None) -> None:
    hit = shipped().red_flags_detector.check(text)
    assert (hit.category_id if hit else None) == category


def test_strengthening_is_not_read_as_a_lung() -> None:
    # "lunges" was a strengthening synonym and shortens to "lung": every "lung" then read as
    # strengthening, so strengthening beside a treatment read like a scan finding.
    detector = shipped().red_flags_detector
    safe = (
        "my osteoporosis scan was ok (on treatment, no fractures)."
        " strengthening exercises for my back?"
    )
    assert detector.check(safe) is None
    hit = detector.check("they found a shadow on my lung on the scan and my back aches")
    assert hit is not None
    assert hit.category_id == "cancer"
