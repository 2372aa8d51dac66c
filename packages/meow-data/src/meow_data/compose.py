"""Assemble one prompt or one reply from a category bank with a seeded RNG.

Replies follow `[opener.] core [sensory][. redirect].`; prompts are a template with its slots
filled, sometimes wrapped in a shared frame ("so {body}", "{context}. {body}"), an optional form
of address, a casing and punctuation variant and now and then a typo, so the model learns topics
rather than exact strings.

People also decorate what they type: an emoji at the end ("i'm home 😺"), a word stretched for
feeling ("sooo hungryyy"). A share of prompts gets one of each, so that neither the emoji's bytes
nor the stretched spelling turns the topic (`python tools/bench typing`: on the unseen-phrasings
suite an added emoji cost the Miso trained on meow-data 1.3 4.3 points, a stretched word 3.5).

Some prompts of a category with a `topic` slot use a shared topic frame instead of one of its
own templates ("does {topic} scare you" for the thunder, the vacuum and the economy alike), so
that the question's shape never gives the category away and the subject has to.

Now and then one slot is filled with a made-up word ("do you want some drelvo") while the
category stays. A model trained from scratch cannot know every word people use; this teaches it
that the frame still carries the topic and that an unfamiliar word is no reason to leave the
character or to treat a friendly prompt as an assistant trap.
"""

from __future__ import annotations

import random
import re

from meow_data.banks import CategoryBank

_SLOT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_QUESTION_START = re.compile(
    r"^(?:are|is|do|does|did|can|could|would|will|should|what|what's|why|where|who|whose|how|have|am)\b"
)
_SPACES = re.compile(r"\s+")

# (weight, transform) for how a user might type: mostly lowercase, sometimes shouting.
_CASINGS = (0.62, 0.26, 0.06, 0.06)
P_FRAME = 0.35  # share of prompts wrapped in a shared frame
P_NONCE = 0.05  # share of prompts with one slot replaced by a made-up word
P_TYPO = 0.06  # share of prompts with one typing slip
P_TEXTING = 0.1  # share of prompts typed like a text message ("r u hungry", "dont", "im")
P_EMOJI = 0.06  # share of prompts with an emoji before or after the text
P_STRETCH = 0.04  # share of prompts with one word's last letter stretched ("hungryyy")
P_TOPIC_FRAME = (
    0.15  # share of a category's prompts asked in a shared topic frame, if it has a `topic` slot
)
# Everyday emoji of chat messages (several with the variation selector they are usually sent with).
EMOJI = (
    "😂", "❤️", "😍", "🥺", "😭", "😊", "🙄", "👀", "✨", "😺", "🐱", "🐈", "😘", "🤔", "😅",
    "👍", "🙏", "💕", "😴", "😡", "🥰", "😢", "🎉", "😳", "😬", "🤣", "😉", "😎", "💖", "🐾",
    "☺️", "♥️", "😻", "😹", "🙃", "😤", "💤", "🤗", "😋", "🥲",
)  # fmt: skip
_WORD = re.compile(r"\b[a-z]{2,}\b(?!')")
_TEXTING = {
    "you": "u", "your": "ur", "you're": "ur", "are": "r", "i'm": "im", "don't": "dont",
    "won't": "wont", "can't": "cant", "didn't": "didnt", "it's": "its", "that's": "thats",
    "please": "pls", "want to": "wanna", "going to": "gonna", "got to": "gotta", "right now": "rn",
    "really": "rly", "because": "cuz", "okay": "ok", "oh my god": "omg",
}  # fmt: skip
_TEXTING_WORDS = re.compile(
    r"\b(?:" + "|".join(sorted(map(re.escape, _TEXTING), key=len, reverse=True)) + r")\b"
)
_ONSETS = (
    "b",
    "d",
    "f",
    "g",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "br",
    "dr",
    "gl",
    "pl",
    "sk",
    "tr",
)
_VOWELS = ("a", "e", "i", "o", "u", "oo", "ee", "ai")
_CODAS = ("", "", "", "n", "l", "r", "s", "k", "m", "sh")
_TYPO_WORD = re.compile(r"[a-z]{4,}")
_QUESTION_ENDINGS = ("?", "?", "?", "", "??", "?!")
_STATEMENT_ENDINGS = ("", "", ".", "!", "...", "!!")


def compose_reply(bank: CategoryBank, rng: random.Random) -> str:
    """One reply: a core with optional opener, sensory detail and redirect."""
    core = rng.choice(bank.cores)
    if bank.sensory and rng.random() < bank.p_sensory:
        core = f"{core} {rng.choice(bank.sensory)}"
    sentences = [core]
    if bank.openers and rng.random() < bank.p_opener:
        sentences.insert(0, rng.choice(bank.openers))
    if bank.redirects and rng.random() < bank.p_redirect:
        sentences.append(rng.choice(bank.redirects))
    return ". ".join(sentences) + "."


def compose_prompt(bank: CategoryBank, rng: random.Random) -> str:
    """One user prompt: a filled template, maybe framed, an address, a casing and an ending."""
    if bank.topic_frames and rng.random() < P_TOPIC_FRAME:
        # the subject is the only clue in these, so it is never swapped for a made-up word
        body = _fill(rng.choice(bank.topic_frames), bank, rng, nonce=False)
    else:
        body = _fill(rng.choice(bank.templates), bank, rng)
    question = _QUESTION_START.match(body) is not None
    if bank.frames and rng.random() < P_FRAME:
        frame = rng.choice(bank.frames)
        context = rng.choice(bank.contexts) if "{context}" in frame else ""
        if not frame.endswith("{body}"):
            body = body.rstrip("?!. ")  # "boxes or beds?" + ", right" -> "boxes or beds, right"
        body = frame.replace("{context}", context).replace("{body}", body)
    prefix = rng.choice(bank.prefixes)
    suffix = rng.choice(bank.suffixes) if not prefix.strip() else ""
    text = _SPACES.sub(" ", f"{prefix}{body}{suffix}").strip()
    if text[-1] not in "?!.":
        text += rng.choice(_QUESTION_ENDINGS if question else _STATEMENT_ENDINGS)
    if rng.random() < P_TEXTING:
        text = _TEXTING_WORDS.sub(
            lambda m: _TEXTING[m.group(0)] if rng.random() < 0.8 else m.group(0), text
        )
    if rng.random() < P_TYPO:
        text = _typo(text, rng)
    if rng.random() < P_STRETCH:
        text = _stretch(text, rng)
    text = _recase(text, rng)
    if rng.random() < P_EMOJI:
        text = _with_emoji(text, rng)
    return text


def _fill(template: str, bank: CategoryBank, rng: random.Random, nonce: bool = True) -> str:
    names = _SLOT.findall(template)
    nonce_at = rng.randrange(len(names)) if nonce and names and rng.random() < P_NONCE else -1
    index = iter(range(len(names)))

    def value(m: re.Match[str]) -> str:
        if next(index) == nonce_at:
            return nonce_word(rng)
        return rng.choice(bank.slots[m.group(1)])

    return _SLOT.sub(value, template)


def nonce_word(rng: random.Random) -> str:
    """A pronounceable made-up word of two or three syllables ("drelvo", "skaimoon")."""
    syllables = [rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.choice((2, 2, 3)))]
    return "".join(syllables) + rng.choice(_CODAS)


def _typo(text: str, rng: random.Random) -> str:
    """One slip of the fingers in a word of four or more letters: swap, drop or double."""
    words = list(_TYPO_WORD.finditer(text))
    if not words:
        return text
    m = rng.choice(words)
    w, i = m.group(0), rng.randrange(1, len(m.group(0)) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        w = w[: i - 1] + w[i] + w[i - 1] + w[i + 1 :]
    elif kind == 1:
        w = w[:i] + w[i + 1 :]
    else:
        w = w[:i] + w[i] + w[i:]
    return text[: m.start()] + w + text[m.end() :]


def _stretch(text: str, rng: random.Random) -> str:
    """One word's last letter typed two to four more times: "so" -> "sooo", "hungry" -> "hungryyy"."""
    words = list(_WORD.finditer(text))
    if not words:
        return text
    m = rng.choice(words)
    return text[: m.end()] + m.group(0)[-1] * rng.randint(2, 4) + text[m.end() :]


def _with_emoji(text: str, rng: random.Random) -> str:
    """An emoji (sometimes two of it) after the text, or now and then before it."""
    emoji = rng.choice(EMOJI) * rng.choice((1, 1, 1, 2))
    roll = rng.random()
    if roll < 0.15:
        return f"{emoji} {text}"
    return f"{text}{emoji}" if roll < 0.4 else f"{text} {emoji}"


def _recase(text: str, rng: random.Random) -> str:
    roll = rng.random()
    lower, sentence, upper, _ = _CASINGS
    if roll < lower:
        return text
    if roll < lower + sentence:
        return text[0].upper() + text[1:]
    if roll < lower + sentence + upper:
        return text.upper()
    return "".join(c.upper() if rng.random() < 0.5 else c for c in text)
