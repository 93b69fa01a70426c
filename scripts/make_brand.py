"""Draw the Qwen TTS brand images (icon, logo and their dark variants) with Pillow.

The mark is a round speech bubble whose tail sits at the lower right, so the silhouette reads both
as "something is said" and as a letter Q. Inside, a white dot with three sound-wave arcs says
"speech comes out of here". The bubble is filled with an indigo-to-violet gradient, in the colour
family of Qwen without copying the Qwen or Alibaba Cloud logos. The logo puts the mark next to the
wordmark "Qwen TTS", set in a font found on this machine (DejaVu Sans Bold on Debian), or in
Pillow's built-in font when none is installed.

Home Assistant shows these files from the integration's ``brand`` folder: ``icon.png`` (256 x 256)
and ``icon@2x.png`` (512 x 512) must be square, ``logo.png`` landscape with its short side between
128 and 256 pixels, all with a transparent background and trimmed to the artwork; the ``dark_``
files are used on a dark theme. Everything is drawn at four times the final size and scaled down
with a Lanczos filter so that edges are anti-aliased. The images are committed; run this script
again (``.venv/bin/python scripts/make_brand.py``) after changing the design.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

BRAND_DIR = Path(__file__).resolve().parent.parent / "custom_components" / "qwen_tts" / "brand"

#: Drawing happens at this multiple of the output size, then is scaled down (anti-aliasing).
SUPERSAMPLE = 4

#: Fonts tried for the wordmark, first match wins; Pillow's built-in font is the last resort.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
)

type RGB = tuple[int, int, int]
type Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Palette:
    """The colours of one variant: for light backgrounds or for dark ones."""

    #: Gradient of the bubble, from its upper left to its lower right.
    bubble_start: RGB
    bubble_end: RGB
    #: The dot and sound waves inside the bubble.
    glyph: RGB
    #: "Qwen" and "TTS" in the wordmark.
    word: RGB
    word_accent: RGB


LIGHT = Palette(
    bubble_start=(79, 70, 229),  # indigo
    bubble_end=(147, 51, 234),  # violet
    glyph=(255, 255, 255),
    word=(30, 27, 75),  # deep indigo ink
    word_accent=(109, 40, 217),
)
DARK = Palette(
    bubble_start=(99, 102, 241),  # one step lighter, so the bubble stands out on dark grey
    bubble_end=(168, 85, 247),
    glyph=(255, 255, 255),
    word=(243, 244, 246),
    word_accent=(196, 181, 253),
)


def _diagonal_gradient(size: int, start: RGB, end: RGB) -> Image.Image:
    """Return a square RGBA image shading from ``start`` (upper left) to ``end`` (lower right)."""
    vertical = Image.linear_gradient("L").resize((size, size), Image.Resampling.BICUBIC)
    horizontal = vertical.transpose(Image.Transpose.ROTATE_90)
    ramp = ImageChops.add(vertical, horizontal, scale=2.0)
    return Image.composite(
        Image.new("RGBA", (size, size), (*end, 255)),
        Image.new("RGBA", (size, size), (*start, 255)),
        ramp,
    )


def _polar(center: Point, radius: float, degrees: float) -> Point:
    """Return the point at ``radius`` from ``center``; angles run clockwise from 3 o'clock."""
    angle = math.radians(degrees)
    return center[0] + radius * math.cos(angle), center[1] + radius * math.sin(angle)


def _bezier(start: Point, control: Point, end: Point, steps: int = 32) -> list[Point]:
    """Return points along the quadratic Bezier curve from ``start`` to ``end``."""
    points = []
    for step in range(steps + 1):
        t = step / steps
        points.append(
            (
                (1 - t) ** 2 * start[0] + 2 * (1 - t) * t * control[0] + t**2 * end[0],
                (1 - t) ** 2 * start[1] + 2 * (1 - t) * t * control[1] + t**2 * end[1],
            )
        )
    return points


def _bubble_mask(size: int) -> Image.Image:
    """Return the silhouette of the mark: a disc with a Q-like tail at the lower right."""
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    radius = size * 0.455
    center = (size * 0.475, size * 0.475)
    draw.ellipse(
        (center[0] - radius, center[1] - radius, center[0] + radius, center[1] + radius), fill=255
    )
    # The tail: leaves the disc along two slightly concave curves that end in a rounded tip near
    # the lower right corner, like the stroke of a Q or the point of a speech bubble.
    tip_radius = size * 0.03
    tip = (size - tip_radius * 1.6, size - tip_radius * 1.6)
    upper = _bezier(
        _polar(center, radius * 0.97, 12),
        _polar(center, radius * 1.12, 34),
        _polar(tip, tip_radius, -45),
    )
    lower = _bezier(
        _polar(tip, tip_radius, 135),
        _polar(center, radius * 1.12, 56),
        _polar(center, radius * 0.97, 78),
    )
    draw.polygon([*upper, *lower], fill=255)
    draw.ellipse(
        (tip[0] - tip_radius, tip[1] - tip_radius, tip[0] + tip_radius, tip[1] + tip_radius),
        fill=255,
    )
    return mask


def _round_arc(
    draw: ImageDraw.ImageDraw,
    center: Point,
    radius: float,
    span: float,
    width: float,
    fill: RGB,
) -> None:
    """Draw an arc opening to the right, ``span`` degrees to each side, with round ends."""
    half = width / 2
    box = (
        center[0] - radius - half,
        center[1] - radius - half,
        center[0] + radius + half,
        center[1] + radius + half,
    )
    draw.arc(box, -span, span, fill=fill, width=round(width))
    for end in (-span, span):
        x, y = _polar(center, radius, end)
        draw.ellipse((x - half, y - half, x + half, y + half), fill=fill)


def _draw_mark(big: int, palette: Palette) -> Image.Image:
    """Return the mark at ``big`` x ``big`` pixels, before anti-aliasing."""
    mark = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    mark.paste(_diagonal_gradient(big, palette.bubble_start, palette.bubble_end), (0, 0))
    mark.putalpha(_bubble_mask(big))

    draw = ImageDraw.Draw(mark)
    unit = big * 0.455  # the disc's radius
    source = (big * 0.475 - unit * 0.42, big * 0.475)
    stroke = unit * 0.13
    dot = unit * 0.125
    draw.ellipse(
        (source[0] - dot, source[1] - dot, source[0] + dot, source[1] + dot), fill=palette.glyph
    )
    for radius, span in ((0.36, 44), (0.62, 46), (0.88, 48)):
        _round_arc(draw, source, unit * radius, span, stroke, palette.glyph)
    return mark


def _mark(size: int, palette: Palette) -> Image.Image:
    """Return the mark at ``size`` x ``size`` pixels, drawn large and scaled down."""
    return _draw_mark(size * SUPERSAMPLE, palette).resize((size, size), Image.Resampling.LANCZOS)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Return a bold sans-serif font at ``size`` pixels, or Pillow's built-in font."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size)


def _logo(height: int, palette: Palette) -> Image.Image:
    """Return the mark followed by the "Qwen TTS" wordmark, trimmed, ``height`` pixels high."""
    big = height * SUPERSAMPLE
    font = _font(round(big * 0.5))
    words = (("Qwen", palette.word), (" TTS", palette.word_accent))
    text_width = sum(font.getlength(text) for text, _ in words)
    gap = big * 0.12
    canvas = Image.new("RGBA", (round(big + gap + text_width + big * 0.1), big), (0, 0, 0, 0))
    canvas.alpha_composite(_draw_mark(big, palette))

    draw = ImageDraw.Draw(canvas)
    cap_top = font.getbbox("H", anchor="ls")[1]  # negative: the cap height above the baseline
    baseline = big / 2 - cap_top / 2
    x = big + gap
    for text, colour in words:
        draw.text((x, baseline), text, font=font, fill=colour, anchor="ls")
        x += font.getlength(text)

    logo = canvas.resize((round(canvas.width / SUPERSAMPLE), height), Image.Resampling.LANCZOS)
    box = logo.getbbox(alpha_only=True)
    if box is None:  # pragma: no cover - the mark is never empty
        return logo
    return logo.crop((box[0], 0, box[2], height))


def _save(image: Image.Image, name: str) -> None:
    """Write ``image`` as an optimized PNG into the brand folder and report it."""
    path = BRAND_DIR / name
    image.save(path, format="PNG", optimize=True)
    print(f"{path.relative_to(BRAND_DIR.parents[2])}: {image.width}x{image.height}")


def main() -> None:
    """Draw every brand image into the brand folder."""
    BRAND_DIR.mkdir(parents=True, exist_ok=True)
    _save(_mark(256, LIGHT), "icon.png")
    _save(_mark(512, LIGHT), "icon@2x.png")
    _save(_mark(256, DARK), "dark_icon.png")
    _save(_mark(512, DARK), "dark_icon@2x.png")
    _save(_logo(160, LIGHT), "logo.png")
    _save(_logo(160, DARK), "dark_logo.png")


if __name__ == "__main__":
    main()
