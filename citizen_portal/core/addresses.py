"""E-mail addresses: one plain address in, one comparison key out.

``plain_address(text)`` accepts exactly one plain address and returns it as mail is sent to it
(the local part as typed after NFKC, the domain lower-cased and IDNA-encoded); anything else raises
``AddressProblem`` with a translated message. Refused: several addresses (``a,b@x``, ``a@x;b@y``),
display names and angle brackets, comments (``a(c)@x``), quoted strings (``"a b"@x``), white
space, control characters, a local part that is not ASCII after NFKC, letters of more than one
script in one part (``erikа@`` with a Cyrillic ``а``, a look-alike domain label), a domain that is
not a valid IDNA name.

``normalised_email(address)`` is the key under which limits count one person's addresses: case
folded (NFKC first), plus tags stripped (``erika+termin@`` → ``erika@``), dots dropped where the
provider ignores them (``DOTLESS_DOMAINS``: gmail.com, googlemail.com, both counted as gmail.com),
the domain IDNA-encoded without a trailing dot. Two spellings that reach one mailbox give one key.
"""

from __future__ import annotations

import re
import unicodedata

import idna

from citizen_portal.core.i18n import _l

MAX_EMAIL = 254
# what may appear in a plain local part (RFC 5322 dot-atom, without the rarely used !#$&*/=?^`{|}~)
LOCAL_PART = re.compile(r"[A-Za-z0-9._%+'-]{1,64}")
DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+")
# characters that make an address more than one plain address: lists, names, comments, quotes
NOT_PLAIN = frozenset(',;<>()[]"\\: \t')
# providers that deliver "e.r.i.k.a@" to "erika@"; the value is the provider's canonical domain
DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}

SHAPE = _l("Bitte geben Sie eine E-Mail-Adresse wie name@beispiel.de an.")
ONE_ONLY = _l("Bitte geben Sie genau eine E-Mail-Adresse ohne Namen, Kommentare oder Anführungszeichen an.")
MIXED = _l("Diese E-Mail-Adresse mischt Buchstaben verschiedener Schriften. Bitte prüfen Sie die Schreibweise.")
ASCII_LOCAL = _l("Bitte verwenden Sie vor dem @ nur lateinische Buchstaben ohne Akzente, Ziffern und . _ - +.")


class AddressProblem(ValueError):
    """The text is not one plain address; ``text`` is the user's (lazily translated) message."""

    def __init__(self, text) -> None:
        super().__init__(str(text))
        self.text = text


def _scripts(text: str) -> set[str]:
    """The scripts of the letters in ``text`` (first word of the Unicode name: LATIN, CYRILLIC, ...)."""
    return {unicodedata.name(char, "UNKNOWN").split(" ")[0] for char in text if char.isalpha()}


def _one_script(part: str) -> None:
    if len(_scripts(part)) > 1:
        raise AddressProblem(MIXED)


def _domain(text: str) -> str:
    """The domain lower-cased and IDNA-encoded (UTS 46), without a trailing dot."""
    labels = text.rstrip(".").split(".")
    for label in labels:
        _one_script(label)
    try:
        encoded = idna.encode(".".join(labels), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise AddressProblem(SHAPE) from None
    if not DOMAIN.fullmatch(encoded):
        raise AddressProblem(SHAPE)
    return encoded


def plain_address(text: str) -> str:
    """Exactly one plain address (see the module docstring), as mail is sent to it."""
    value = unicodedata.normalize("NFKC", text.strip())
    if any(unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for char in value):
        raise AddressProblem(SHAPE)
    if any(char in NOT_PLAIN or char.isspace() for char in value) or value.count("@") > 1:
        raise AddressProblem(ONE_ONLY)
    local, at, domain = value.partition("@")
    if not at or not local or not domain or len(value) > MAX_EMAIL:
        raise AddressProblem(SHAPE)
    _one_script(local)
    if not local.isascii():
        raise AddressProblem(ASCII_LOCAL)
    if not LOCAL_PART.fullmatch(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise AddressProblem(SHAPE)
    address = f"{local}@{_domain(domain)}"
    if len(address) > MAX_EMAIL:
        raise AddressProblem(SHAPE)
    return address


def normalised_email(address: str) -> str:
    """The comparison key of an address (see the module docstring); raises ``AddressProblem`` for
    anything that is not one plain address."""
    local, _, domain = plain_address(address).partition("@")
    local = local.casefold().split("+", 1)[0]
    if domain in DOTLESS_DOMAINS:
        domain = DOTLESS_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local or '+'}@{domain}"
