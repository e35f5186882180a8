"""Regular expressions as Go's ``regexp`` (RE2) reads them, where Prometheus and Alertmanager use them.

Python's ``re`` accepts what Go refuses (lookarounds, backreferences, atomic groups,
possessive quantifiers, ``\\Z``, the ``(?x)`` flag…) and refuses what Go accepts (``\\z``,
``\\x{41}``, ``\\Q…\\E``, ``\\pL``, the ``(?U)`` flag). ``problem`` says, in French, why Go
would refuse a pattern; ``to_python`` rewrites a pattern Go accepts into one ``re`` matches the
same way, for the routing simulation (Unicode classes ``\\p…`` are the one thing it cannot
rewrite: ``None``).
"""

from __future__ import annotations

import re
import warnings

MAX_REPEAT = 1000  # Go's regexp/syntax limit on {n,m}
GO_ESCAPES = set("aftnrvxAbBzdDsSwWpPQ0")
GO_FLAGS = set("imsU")
REPEAT = re.compile(r"\{(\d+)(?:,(\d*))?\}")
POSIX_CLASSES = {"alpha": "a-zA-Z", "digit": "0-9", "alnum": "0-9a-zA-Z", "upper": "A-Z", "lower": "a-z",
                 "space": "\\t\\n\\v\\f\\r ", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
                 "punct": "!-/:-@\\[-`{-~", "blank": "\\t ", "cntrl": "\\x00-\\x1f\\x7f", "print": " -~",
                 "graph": "!-~", "ascii": "\\x00-\\x7f"}
POSIX = re.compile(r"\[:(\^?)([a-z]+):\]")


def problem(pattern: str) -> str | None:
    """Why Go's RE2 engine refuses ``pattern``, in French, or ``None`` when it accepts it."""
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\":
            if i + 1 >= n:
                return "« \\ » final sans caractère à échapper"
            follower = pattern[i + 1]
            if follower == "Q":
                end = pattern.find("\\E", i + 2)
                i = n if end < 0 else end + 2
                continue
            if follower.isdigit() and follower != "0":
                return f"référence arrière « \\{follower} » : le moteur RE2 de Go ne les connaît pas"
            if follower.isalnum() and follower not in GO_ESCAPES:
                return f"séquence d'échappement « \\{follower} » inconnue du moteur RE2 de Go"
            i += 2
            continue
        if char == "(" and pattern.startswith("(?", i):
            rest = pattern[i + 2:]
            for prefix, what in (("=", "anticipation « (?= »"), ("!", "anticipation négative « (?! »"),
                                 ("<=", "rétrospection « (?<= »"), ("<!", "rétrospection négative « (?<! »"),
                                 (">", "groupe atomique « (?> »"), ("#", "commentaire « (?# »"),
                                 ("(", "condition « (?( »"), ("P=", "référence arrière « (?P= »"),
                                 ("P>", "appel de groupe « (?P> »")):
                if rest.startswith(prefix):
                    return f"{what} : le moteur RE2 de Go ne la connaît pas" if what.startswith(("anti", "rétro")) \
                        else f"{what} : le moteur RE2 de Go ne le connaît pas"
            if not (rest.startswith((":", "P<", "<"))):
                flags = re.match(r"[a-zA-Z-]*", rest).group(0)  # type: ignore[union-attr]
                unknown = sorted(set(flags) - GO_FLAGS - {"-"})
                if unknown:
                    return f"option « {unknown[0]} » inconnue du moteur RE2 de Go (options : i, m, s, U)"
        if char in "*+?}" and i + 1 < n and pattern[i + 1] == "+":
            return f"quantificateur possessif « {char}+ » : le moteur RE2 de Go ne le connaît pas"
        if char == "{":
            repeat = REPEAT.match(pattern, i)
            if repeat and any(int(bound) > MAX_REPEAT for bound in repeat.groups() if bound):
                return f"répétition « {repeat.group(0)} » au-delà de {MAX_REPEAT}, la limite du moteur RE2 de Go"
        i += 1
    python = to_python(pattern)
    if python is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            re.compile(python)
    except re.error as exc:
        return f"expression régulière invalide ({exc})"
    return None


def to_python(pattern: str) -> str | None:
    """``pattern`` (which Go accepts) rewritten for Python's ``re``, or ``None`` if it needs ``\\p`` classes."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n:
            follower = pattern[i + 1]
            if follower in "pP":
                return None
            if follower == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2:] if end < 0 else pattern[i + 2:end]
                out.append(re.escape(literal))
                i = n if end < 0 else end + 2
                continue
            if follower == "z":
                out.append("\\Z")
                i += 2
                continue
            if follower == "x" and i + 2 < n and pattern[i + 2] == "{":
                end = pattern.find("}", i + 3)
                code = int(pattern[i + 3:end] or "0", 16)
                out.append(f"\\U{code:08x}")
                i = end + 1
                continue
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        if char == "[":
            close = pattern.find("]", i + 2 if pattern.startswith("[]", i) or pattern.startswith("[^]", i) else i + 1)
            while close > 0 and pattern[close - 1] == ":" and POSIX.search(pattern, i, close + 1):
                close = pattern.find("]", close + 1)
            if close > 0:
                body = pattern[i:close + 1]
                if POSIX.search(body) and all(m.group(1) == "" for m in POSIX.finditer(body)):
                    out.append(POSIX.sub(lambda m: POSIX_CLASSES.get(m.group(2), m.group(0)), body))
                    i = close + 1
                    continue
        flags = re.match(r"[a-zA-Z-]*", pattern[i + 2:])
        if char == "(" and pattern.startswith("(?", i) and flags is not None and "U" in flags.group(0):
            return None  # ungreedy mode: no Python equivalent short of rewriting every quantifier
        out.append(char)
        i += 1
    return "".join(out)
