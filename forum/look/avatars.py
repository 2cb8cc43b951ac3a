"""Generated avatars: a member's initials on a colour derived from their username.

The colour comes from a hash of the username, so it never changes when the display name
does; every colour is dark enough for white initials (contrast at least 4.5:1).
"""

from __future__ import annotations

import colorsys
import hashlib
import re

from markupsafe import escape

_SATURATION = 0.55
_WHITE_TEXT_CONTRAST = 4.8  # WCAG AA asks 4.5:1; a margin for rounding to whole bytes


def relative_luminance(red: float, green: float, blue: float) -> float:
    """WCAG 2 relative luminance of an sRGB colour with channels from 0 to 1."""
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def avatar_colour(username: str) -> str:
    """The member's hue, as light as it can be while white initials keep their contrast."""
    digest = hashlib.sha256(username.encode()).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    lightness = 0.42
    while True:
        red, green, blue = colorsys.hls_to_rgb(hue, lightness, _SATURATION)
        if 1.05 / (relative_luminance(red, green, blue) + 0.05) >= _WHITE_TEXT_CONTRAST:
            break
        lightness -= 0.01
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def initials(name: str) -> str:
    """Up to two letters: the first of the first two words, or the first two of one word."""
    words = re.findall(r"[^\W_]+", name)  # letters and digits: "Ada (admin)" is A and A
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper() if len(words[0]) > 1 else words[0][0].upper()
    return (words[0][0] + words[1][0]).upper()


def avatar_svg(username: str, name: str) -> str:
    """A 64x64 SVG: a rounded square of the member's colour with their initials in white."""
    letters = escape(initials(name))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
        f'<rect width="64" height="64" rx="14" fill="{avatar_colour(username)}"/>'
        '<text x="32" y="32" dy=".35em" text-anchor="middle" fill="#fff" '
        'font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif" font-size="26" '
        f'font-weight="600">{letters}</text></svg>'
    )
