"""Render one synthetic radiograph: soft tissue, long bones and fractures.

Intensities are X-ray attenuation scaled to ``[0, 1]`` (bright = dense, as a
radiograph is read).  A long bone is a hollow tube: its projected thickness
through the cortex peaks at the inner wall, so the cortex shows brighter
than the marrow.  A fracture is a thin gap (1-3 px) across one bone, in any
orientation relative to the image: transverse fractures of an upright bone
are thin horizontal lines with narrow boxes, oblique ones give squarish
boxes, the two cases whose RoI features FAMO makes alike (the paper's
Methods, "Model architecture", Figs. 6 and 7).  The fragment beyond the gap
is shifted by a pixel or two.  Each fracture's instance mask is its gap
within the bone, dilated a few pixels, as a radiologist would outline it,
and its orientation is the angle of its line as drawn (see
:attr:`Fracture.orientation`).
"""
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import cv2
import numpy as np


@dataclass(frozen=True)
class Anatomy:
    """How a body part looks: the number of long bones (min, max) and their
    radius as a fraction of the image's short side (min, max)."""
    bones: Tuple[int, int]
    radius: Tuple[float, float]


ANATOMIES: Dict[str, Anatomy] = {
    'wrist': Anatomy((2, 2), (0.035, 0.05)),
    'hand': Anatomy((3, 3), (0.025, 0.035)),
    'elbow': Anatomy((2, 2), (0.04, 0.055)),
    'shoulder': Anatomy((1, 1), (0.07, 0.09)),
    'pelvis': Anatomy((1, 2), (0.06, 0.08)),
    'knee': Anatomy((2, 2), (0.05, 0.07)),
    'ankle': Anatomy((2, 2), (0.04, 0.06)),
    'foot': Anatomy((3, 3), (0.025, 0.035)),
}


@dataclass
class Bone:
    """A straight tube from ``start`` along unit ``axis`` for ``length``
    px, with outer ``radius`` and marrow radius ``inner``."""
    start: np.ndarray
    axis: np.ndarray
    length: float
    radius: float
    inner: float
    fractures: List['Fracture'] = field(default_factory=list)

    @property
    def normal(self) -> np.ndarray:
        return np.array([-self.axis[1], self.axis[0]])


@dataclass
class Fracture:
    """A gap of ``width`` px through ``centre`` along the line whose unit
    normal is ``normal``; the fragment on the normal's side is shifted by
    ``shift`` px."""
    centre: np.ndarray
    normal: np.ndarray
    width: float
    shift: np.ndarray
    dilation: int

    @property
    def orientation(self) -> float:
        """Angle of the fracture line from the image's horizontal axis, in
        degrees in ``[0, 180)``, counter-clockwise as the image is seen (its
        y axis points down): 0 is a horizontal line, 90 a vertical one, 45
        a line rising to the right."""
        direction_x, direction_y = -self.normal[1], self.normal[0]
        return float(np.degrees(np.arctan2(-direction_y, direction_x)) % 180)


@dataclass
class Radiograph:
    """A rendered image (float32 ``H x W`` in ``[0, 1]``, bright = dense),
    one boolean instance mask per fracture and, in the same order, each
    fracture's :attr:`Fracture.orientation`."""
    image: np.ndarray
    fracture_masks: List[np.ndarray]
    fracture_orientations: List[float]


def render_radiograph(rng: np.random.Generator, height: int, width: int,
                      anatomy: Anatomy, num_fractures: int) -> Radiograph:
    """Render a radiograph of ``anatomy`` with ``num_fractures`` fractures.

    Args:
        rng (numpy.random.Generator): The only source of randomness.
        height (int): Image height in px.
        width (int): Image width in px.
        anatomy (Anatomy): Number and size of the bones.
        num_fractures (int): Fractures to draw, each on a bone inside the
            image; 0 for a fracture-free image.

    Returns:
        Radiograph: The image, the fractures' instance masks and their
        orientations.
    """
    # separate streams for anatomy, fractures and film: the same generator
    # state with and without fractures renders the same limb and noise
    anatomy_rng, fracture_rng, film_rng = rng.spawn(3)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    for _ in range(20):
        bones = place_bones(anatomy_rng, height, width, anatomy)
        if all(
                place_fracture(fracture_rng, bones, height, width)
                for _ in range(num_fractures)):
            break
    else:
        raise RuntimeError(f'no room for {num_fractures} fractures in a '
                           f'{width}x{height} image; make it larger')

    image = np.full((height, width), film_rng.uniform(0.02, 0.06), np.float32)
    image += soft_tissue(anatomy_rng, xs, ys, bones)
    masks = []
    for bone in bones:
        density, bone_masks = render_bone(anatomy_rng, xs, ys, bone)
        image += density
        masks.extend(bone_masks)

    image *= heel_effect(film_rng, xs, ys)
    mottle = cv2.GaussianBlur(
        film_rng.standard_normal((height, width)).astype(np.float32), (0, 0),
        10)
    image += mottle / mottle.std() * film_rng.uniform(0.01, 0.03)
    image = cv2.GaussianBlur(image, (0, 0), film_rng.uniform(0.5, 0.8))
    quantum = film_rng.standard_normal((height, width)).astype(np.float32)
    image += quantum * film_rng.uniform(0.008, 0.02) * np.sqrt(
        np.clip(image, 0.05, None))
    orientations = [
        fracture.orientation for bone in bones for fracture in bone.fractures
    ]
    return Radiograph(np.clip(image, 0, 1), masks, orientations)


def place_bones(rng: np.random.Generator, height: int, width: int,
                anatomy: Anatomy) -> List[Bone]:
    """Lay 1-3 near-parallel bones across the image along a limb axis that
    is mostly upright, sometimes at any angle."""
    if rng.random() < 0.7:
        angle = np.pi / 2 + np.deg2rad(rng.normal(0, 12))
    else:
        angle = rng.uniform(0, np.pi)
    count = int(rng.integers(anatomy.bones[0], anatomy.bones[1] + 1))
    radii = rng.uniform(*anatomy.radius, size=count) * min(height, width)
    gaps = rng.uniform(0.4, 1.2, size=count) * radii
    # side by side, ``gaps`` apart, the group centred on the limb axis
    offsets = np.cumsum(
        np.concatenate([[0], radii[:-1] + gaps[1:] + radii[1:]]))
    offsets -= (offsets[0] - radii[0] + offsets[-1] + radii[-1]) / 2
    jitter = 1 + rng.uniform(-0.08, 0.08, size=2)
    centre = np.array([width, height]) / 2 * jitter
    bones = []
    for radius, offset in zip(radii, offsets):
        tilt = angle + np.deg2rad(rng.uniform(-3, 3))
        axis = np.array([np.cos(tilt), np.sin(tilt)])
        normal = np.array([-axis[1], axis[0]])
        chord = min(width / max(abs(axis[0]), 1e-6),
                    height / max(abs(axis[1]), 1e-6))
        length = rng.uniform(0.55, 0.8) * chord
        slide = rng.uniform(-0.1, 0.1) * length
        middle = centre + offset * normal + slide * axis
        bones.append(
            Bone(
                start=middle - axis * length / 2,
                axis=axis,
                length=length,
                radius=radius,
                inner=radius * rng.uniform(0.55, 0.75)))
    return bones


def place_fracture(rng: np.random.Generator, bones: List[Bone], height: int,
                   width: int) -> bool:
    """Add a fracture to a random bone, well inside the image and apart from
    the bone's other fractures; transverse (the line across the bone) or
    oblique (30-55 degrees off it), with equal chance.  False when no place
    was found."""
    for _ in range(50):
        bone = bones[int(rng.integers(len(bones)))]
        along = rng.uniform(0.2, 0.8) * bone.length
        centre = bone.start + along * bone.axis
        margin = bone.radius * 1.5 + 8
        if not (margin <= centre[0] <= width - margin
                and margin <= centre[1] <= height - margin):
            continue
        if any(
                abs(np.dot(other.centre - centre, bone.axis)) < 3 * bone.radius
                for other in bone.fractures):
            continue
        if rng.random() < 0.5:
            turn = np.deg2rad(rng.normal(0, 5))
        else:
            turn = np.deg2rad(rng.uniform(30, 55)) * rng.choice([-1, 1])
        normal = (np.cos(turn) * bone.axis + np.sin(turn) * bone.normal)
        bone.fractures.append(
            Fracture(
                centre=centre,
                normal=normal,
                width=rng.uniform(1.0, 3.0),
                shift=bone.normal * rng.uniform(0.5, 2.5) *
                rng.choice([-1, 1]),
                dilation=int(rng.integers(2, 4))))
        return True
    return False


def render_bone(rng: np.random.Generator, xs: np.ndarray, ys: np.ndarray,
                bone: Bone) -> Tuple[np.ndarray, List[np.ndarray]]:
    """The bone's projected density, with its fracture gaps, and the
    fractures' instance masks."""
    shift_x = np.zeros_like(xs)
    shift_y = np.zeros_like(ys)
    sides = []
    for fracture in bone.fractures:
        side = ((xs - fracture.centre[0]) * fracture.normal[0] +
                (ys - fracture.centre[1]) * fracture.normal[1])
        beyond = side > 0
        shift_x += beyond * np.float32(fracture.shift[0])
        shift_y += beyond * np.float32(fracture.shift[1])
        sides.append(side)
    distance = tube_distance(xs - shift_x, ys - shift_y, bone)
    outer = np.sqrt(np.clip(bone.radius**2 - distance**2, 0, None))
    marrow = np.sqrt(np.clip(bone.inner**2 - distance**2, 0, None))
    peak = 2 * np.sqrt(bone.radius**2 - bone.inner**2)
    cortex_density = rng.uniform(0.35, 0.5) / peak
    density = cortex_density * (2 * (outer - marrow) +
                                rng.uniform(0.2, 0.35) * 2 * marrow)
    footprint = distance < bone.radius
    masks = []
    for fracture, side in zip(bone.fractures, sides):
        half = fracture.width / 2
        density *= np.clip(np.abs(side) - half + 0.5, 0, 1)
        gap = (np.abs(side) <= half + 0.5) & footprint
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                           (2 * fracture.dilation + 1, ) * 2)
        masks.append(cv2.dilate(gap.astype(np.uint8), kernel).astype(bool))
    return density.astype(np.float32), masks


def tube_distance(xs: np.ndarray, ys: np.ndarray, bone: Bone) -> np.ndarray:
    """Distance of each pixel to the bone's axis segment (rounded ends)."""
    dx, dy = xs - bone.start[0], ys - bone.start[1]
    along = dx * bone.axis[0] + dy * bone.axis[1]
    across = dx * bone.normal[0] + dy * bone.normal[1]
    beyond_ends = along - np.clip(along, 0, bone.length)
    return np.sqrt(beyond_ends**2 + across**2)


def soft_tissue(rng: np.random.Generator, xs: np.ndarray, ys: np.ndarray,
                bones: List[Bone]) -> np.ndarray:
    """The limb's soft tissue: an elliptic cylinder around the bones."""
    axis = bones[0].axis
    normal = bones[0].normal
    middles = [bone.start + bone.axis * bone.length / 2 for bone in bones]
    centre = np.mean(middles, axis=0)
    spread = max(
        abs(np.dot(middle - centre, normal)) + bone.radius
        for middle, bone in zip(middles, bones))
    half_width = spread + rng.uniform(1.5, 3.0) * max(b.radius for b in bones)
    across = (xs - centre[0]) * normal[0] + (ys - centre[1]) * normal[1]
    along = (xs - centre[0]) * axis[0] + (ys - centre[1]) * axis[1]
    half_length = 1.5 * max(xs.shape)
    profile = 1 - (across / half_width)**2 - (along / half_length)**2
    return rng.uniform(0.15, 0.25) * np.sqrt(np.clip(profile, 0, None))


def heel_effect(rng: np.random.Generator, xs: np.ndarray,
                ys: np.ndarray) -> np.ndarray:
    """A gentle exposure ramp across the image (the anode heel effect)."""
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (xs * np.cos(angle) + ys * np.sin(angle)) / max(xs.shape)
    return 1 + rng.uniform(0.05, 0.12) * (ramp - ramp.mean())
