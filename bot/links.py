"""Links that open an article at the quoted text (WICG Text Fragments, `#:~:text=`).

A browser that supports text fragments scrolls to the quote and highlights it; one that does
not ignores the fragment and opens the article as before. See
https://wicg.github.io/scroll-to-text-fragment/.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

# Over either limit a quote is linked by its first and last words (textStart,textEnd): a long
# exact match fails on the smallest difference between our copy and the page.
MAX_EXACT_CHARS = 80
MAX_EXACT_WORDS = 10
EDGE_WORDS = 5

DIRECTIVE_DELIMITER = ":~:"


def quote_link(url: str, quote_text: str) -> str:
    """url with a text fragment that opens it at quote_text.

    Args:
        url: the article's address; only http(s) urls are changed.
        quote_text: the quoted words as they stand in the article.

    Returns:
        The url with `#:~:text=...` (after any fragment it had, or as one more `&text=` when
        it already has a directive); the url unchanged when it is not http(s) or there is
        nothing to quote.
    """
    directive = text_directive(quote_text)
    parts = urlsplit(url)
    if not directive or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url
    base, _, fragment = url.partition("#")
    if DIRECTIVE_DELIMITER in fragment:
        return f"{base}#{fragment}&text={directive}"
    return f"{base}#{fragment}{DIRECTIVE_DELIMITER}text={directive}"


def text_directive(quote_text: str) -> str:
    """The value of `text=` for a quote: the quote, or its first and last words for a long one.

    Whitespace is collapsed; a quote across paragraphs is linked by its first and last
    paragraph, since an exact match cannot cross a block boundary and a range can.
    """
    lines = [line.split() for line in quote_text.splitlines() if line.strip()]
    words = [word for line in lines for word in line]
    if len(lines) > 1:
        return f"{_encode(lines[0][:EDGE_WORDS])},{_encode(lines[-1][-EDGE_WORDS:])}"
    if len(words) <= MAX_EXACT_WORDS and len(" ".join(words)) <= MAX_EXACT_CHARS:
        return _encode(words)
    edge = min(EDGE_WORDS, len(words) // 2)  # start and end never overlap
    if not edge:
        return _encode(words)
    return f"{_encode(words[:edge])},{_encode(words[-edge:])}"


def _encode(words: list[str]) -> str:
    # quote() leaves only letters, digits and "_.-~" as they are; "-" marks a prefix or a
    # suffix in a text directive, so it is escaped too.
    return quote(" ".join(words), safe="").replace("-", "%2D")
