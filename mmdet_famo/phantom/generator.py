"""Generate a phantom fracture data set: patients, studies of 2-3 views,
DICOM files and COCO annotations split by patient.

The layout is the one a user's converted data has::

    OUT/images/<patient>/<case>/<view>.dcm
    OUT/annotations/all.json     every image, in the package's COCO format
    OUT/annotations/train.json   (and val.json, test.json) split by patient

Each fracture annotation also holds ``fracture_orientation``: the angle of
the fracture line from the image's horizontal axis, in degrees in
``[0, 180)``, counter-clockwise as the image is seen
(:attr:`mmdet_famo.phantom.render.Fracture.orientation`), so that
evaluations can be broken down by the line's direction.

``file_name`` in the COCO files is relative to ``OUT/images``.  Every
random draw comes from a generator seeded with ``(seed, patient, study,
view)``, so a data set depends only on its configuration, and the first
patients of a larger set equal those of a smaller one.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np
from pydicom.uid import generate_uid
from tqdm import tqdm

from mmdet_famo.datasets.coco_builder import CocoBuilder, save_annotations
from mmdet_famo.datasets.splits import DEFAULT_RATIOS, split_by_patient
from .dicom_writer import PixelEncoding, RadiographTags, write_radiograph_dicom
from .render import ANATOMIES, render_radiograph

VIEWS = ('ap', 'lateral', 'oblique')
BITS_STORED = (12, 14, 16)
RESCALES = ((1.0, 0.0), (1.0, -1024.0), (0.5, 0.0), (2.0, -100.0))
PAIRED_BODY_PARTS = frozenset(ANATOMIES) - {'pelvis'}


@dataclass
class PhantomConfig:
    """What to generate.

    Args:
        num_patients (int): Patients; each has one study, or two (1 in 4).
        first_patient (int): Index of the first patient: patients
            ``first_patient .. first_patient + num_patients - 1`` are
            written, ``PH<index + 1>``, each drawn from its own index. Two
            sets with disjoint ranges hold different patients under
            different ids (the demo's enriched training set, see
            ``tools/demo.py``). Defaults to 0.
        height (int): Image height in px.
        width (int): Image width in px.
        seed (int): Seed of every random draw.
        fracture_free_fraction (float): Share of studies without fractures.
        view_miss_rate (float): Chance that a view of a fractured study
            does not show a given fracture (at least one view shows it).
        body_parts (tuple[str]): Body parts to draw from, keys of
            :data:`mmdet_famo.phantom.render.ANATOMIES`.
        ratios (dict[str, float]): Split name to share of images.
    """
    num_patients: int = 80
    first_patient: int = 0
    height: int = 320
    width: int = 256
    seed: int = 0
    fracture_free_fraction: float = 0.5
    view_miss_rate: float = 0.1
    body_parts: Tuple[str, ...] = tuple(ANATOMIES)
    ratios: Dict[str,
                 float] = field(default_factory=lambda: dict(DEFAULT_RATIOS))

    def __post_init__(self) -> None:
        unknown = set(self.body_parts) - set(ANATOMIES)
        if unknown:
            raise ValueError(f'unknown body parts {sorted(unknown)}; known: '
                             f'{sorted(ANATOMIES)}')
        if self.num_patients < 1:
            raise ValueError('num_patients must be at least 1')
        if self.first_patient < 0:
            raise ValueError('first_patient must be 0 or more')
        if min(self.height, self.width) < 96:
            raise ValueError('images must be at least 96 px on each side')


def generate_phantom_dataset(
        out_dir: Union[str, Path],
        config: PhantomConfig,
        progress: bool = False) -> Tuple[dict, Dict[str, dict]]:
    """Write the phantom data set into ``out_dir``.

    Existing files of the same names are overwritten; nothing else in
    ``out_dir`` is touched.

    Returns:
        tuple[dict, dict[str, dict]]: The COCO dict of every image, and
        split name to the split's COCO dict.
    """
    out_dir = Path(out_dir)
    builder = CocoBuilder()
    patients = range(config.first_patient,
                     config.first_patient + config.num_patients)
    for patient in tqdm(
            patients, desc='phantom patients', disable=not progress):
        add_patient(out_dir / 'images', builder, config, patient)
    coco = builder.to_dict()
    splits = split_by_patient(coco, config.ratios, config.seed)
    save_annotations(out_dir / 'annotations', coco, splits)
    return coco, splits


def add_patient(image_dir: Path, builder: CocoBuilder, config: PhantomConfig,
                patient: int) -> None:
    """Render and write one patient's studies, adding them to ``builder``."""
    rng = np.random.default_rng((config.seed, patient))
    patient_id = f'PH{patient + 1:04d}'
    num_studies = 2 if rng.random() < 0.25 else 1
    for study in range(num_studies):
        rng = np.random.default_rng((config.seed, patient, study))
        case_id = f'{patient_id}_S{study + 1}'
        body_part = str(rng.choice(config.body_parts))
        laterality = (
            str(rng.choice(['L', 'R']))
            if body_part in PAIRED_BODY_PARTS else None)
        views = VIEWS[:2] if rng.random() < 0.6 else VIEWS
        num_fractures = 0
        if rng.random() >= config.fracture_free_fraction:
            num_fractures = 2 if rng.random() < 0.2 else 1
        shown = rng.random((len(views), num_fractures)) >= \
            config.view_miss_rate
        shown[int(rng.integers(len(views)))] = True
        study_uid = phantom_uid(config.seed, patient, study)
        for index, view in enumerate(views):
            rng = np.random.default_rng((config.seed, patient, study, index))
            radiograph = render_radiograph(rng, config.height, config.width,
                                           ANATOMIES[body_part],
                                           int(shown[index].sum()))
            tags = RadiographTags(
                patient_id=patient_id,
                study_instance_uid=study_uid,
                series_instance_uid=phantom_uid(config.seed, patient, study,
                                                index, 'series'),
                sop_instance_uid=phantom_uid(config.seed, patient, study,
                                             index, 'image'),
                body_part=body_part.upper(),
                view_position=view_position(view, laterality),
                laterality=laterality,
                pixel_spacing_mm=round(float(rng.uniform(0.3, 0.6)), 3),
                modality=str(rng.choice(['DX', 'CR'])),
                study_id=case_id,
                series_number=index + 1,
                instance_number=1)
            slope, intercept = RESCALES[int(rng.integers(len(RESCALES)))]
            encoding = PixelEncoding(
                photometric=str(rng.choice(['MONOCHROME1', 'MONOCHROME2'])),
                bits_stored=int(rng.choice(BITS_STORED)),
                rescale_slope=slope,
                rescale_intercept=intercept)
            file_name = f'{patient_id}/{case_id}/{view}.dcm'
            (image_dir / file_name).parent.mkdir(parents=True, exist_ok=True)
            write_radiograph_dicom(image_dir / file_name, radiograph.image,
                                   tags, encoding)
            image_id = builder.add_image(
                file_name,
                width=config.width,
                height=config.height,
                case_id=case_id,
                patient_id=patient_id,
                body_part=body_part,
                view=view)
            for number, (mask, orientation) in enumerate(
                    zip(radiograph.fracture_masks,
                        radiograph.fracture_orientations)):
                annotation = builder.add_mask(
                    image_id, mask, record=f'{file_name} fracture {number}')
                annotation['fracture_orientation'] = round(orientation, 2)


def view_position(view: str, laterality: Optional[str]) -> str:
    """DICOM ViewPosition of a view: ``AP``; lateral ``LL``/``RL`` and
    oblique ``LLO``/``RLO`` by the side imaged (left when unpaired)."""
    side = laterality or 'L'
    return {'ap': 'AP', 'lateral': f'{side}L', 'oblique': f'{side}LO'}[view]


def phantom_uid(*parts) -> str:
    """A UID that is the same for the same parts (a seeded data set)."""
    return generate_uid(entropy_srcs=['mmdet-famo-phantom'] +
                        [str(part) for part in parts])
