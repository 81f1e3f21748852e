"""The findings of one study as a Grayscale Softcopy Presentation State
(GSPS), written with highdicom: boxes a viewer draws over the original
images and can switch off, unlike the Secondary Capture's burned-in pixels.

Each finding is a graphic annotation on its source image: its box as a
closed POLYLINE of 5 points and its level and score as text
(``definite 0.91``) anchored at the box's top left corner, both in PIXEL
units (DICOM's pixel space, (0, 0) the top left corner of the top left
pixel, PS3.3 C.10.5.1.2: MMDetection's box coordinates as they are). The two
levels are in two graphic layers, so that a viewer shows and hides them
apart, each with its recommended display colour (PS3.3 C.10.7): SUSPECTED
in yellow, rendered first, and DEFINITE in red, rendered on top. Graphics
carry the tracking identifier and UID of the same finding in the SR.

A presentation state has one Modality LUT and one Presentation LUT for all
its images (PS3.3 C.11.1, C.11.6), and highdicom writes one Displayed Area
(C.10.4: the whole image, (1, 1) to (Columns, Rows)) for all of them, so the
views of a study are split into groups of the same Photometric
Interpretation, Rescale Slope, Intercept and Type, Rows and Columns
(:func:`display_groups`), one presentation state each, whose displayed area
is its own images' size: one per study when its views come from one
detector on one cassette size, and one per size when, say, an AP and a
lateral view were exposed on different cassettes.

The Presentation LUT is INVERSE for MONOCHROME1 images, IDENTITY
otherwise, so that the image looks as without the presentation state.

Like the SR it names the algorithm in its Contributing Equipment (IHE
AIR) and carries the source study's Patient and Study modules, so it is
written only on request.
"""
from typing import Dict, List, Optional, Sequence

import highdicom as hd
from highdicom.coding_schemes import CodingSchemeIdentificationItem
from highdicom.color import CIELabColor
from pydicom import Dataset
from pydicom.uid import generate_uid

from .dicom_objects import (IHE_CODING_SCHEME, MANUFACTURER, MODEL_NAME,
                            PRESENTATION_STATE_SERIES_NUMBER, AlgorithmInfo,
                            Finding, contributing_equipment,
                            series_laterality)

#: Level -> (layer name, order, description, CIELab colour). Colours are
#: CIELab of sRGB yellow (255, 255, 0) and red (255, 0, 0).
LAYERS = {
    'suspected': ('SUSPECTED', 1, 'fractures at the high-sensitivity '
                  'operating point (suspected)', (97.14, -21.55, 94.48)),
    'definite': ('DEFINITE', 2, 'fractures at the high-specificity '
                 'operating point (definite)', (53.24, 80.09, 67.20)),
}
CONTENT_LABEL = 'FRACTURES'
#: The attributes a presentation state's images must share.
DISPLAY_ATTRIBUTES = ('PhotometricInterpretation', 'RescaleSlope',
                      'RescaleIntercept', 'RescaleType', 'Rows', 'Columns')


def display_groups(sources: Sequence[Dataset]) -> List[List[int]]:
    """The positions of ``sources`` split into groups sharing every
    :data:`DISPLAY_ATTRIBUTES` value, in order of first appearance."""
    groups: Dict[tuple, List[int]] = {}
    for position, source in enumerate(sources):
        key = tuple(str(source.get(keyword)) for keyword in DISPLAY_ATTRIBUTES)
        groups.setdefault(key, []).append(position)
    return list(groups.values())


def graphic_layers() -> Dict[str, hd.pr.GraphicLayer]:
    """The graphic layer of each level (see :data:`LAYERS`)."""
    return {
        level: hd.pr.GraphicLayer(layer_name=name,
                                  order=order,
                                  description=description,
                                  display_color=CIELabColor(*lab))
        for level, (name, order, description, lab) in LAYERS.items()
    }


def finding_text(finding: Finding) -> str:
    """The label of a finding: its level and score, ``definite 0.91``."""
    return f'{finding.level} {finding.score:.2f}'


def build_presentation_state(
        sources: Sequence[Dataset],
        findings: Sequence[Sequence[Finding]],
        algorithm: AlgorithmInfo,
        series_instance_uid: Optional[str] = None,
        instance_number: int = 1,
        sop_instance_uid: Optional[str] = None
) -> hd.pr.GrayscaleSoftcopyPresentationState:
    """The GSPS of a study's findings over its images (see the module).

    Args:
        sources (Sequence[Dataset]): The headers of its images: one
            StudyInstanceUID, one :func:`display_groups` group.
        findings (Sequence[Sequence[Finding]]): The findings of each image,
            in that order.
        algorithm (AlgorithmInfo): The model's identity.
        series_instance_uid (str, optional): Defaults to a new UID.
        instance_number (int): In its series. Defaults to 1.
        sop_instance_uid (str, optional): Defaults to a new UID.

    Returns:
        highdicom.pr.GrayscaleSoftcopyPresentationState: Not yet saved.
    """
    layers = graphic_layers()
    annotations: List[hd.pr.GraphicAnnotation] = []
    for source, found in zip(sources, findings):
        for level, layer in layers.items():
            of_level = [f for f in found if f.level == level]
            if not of_level:
                continue
            annotations.append(
                hd.pr.GraphicAnnotation(
                    referenced_images=[source],
                    graphic_layer=layer,
                    graphic_objects=[
                        hd.pr.GraphicObject(
                            graphic_type=hd.pr.GraphicTypeValues.POLYLINE,
                            graphic_data=finding.polyline,
                            units=hd.pr.AnnotationUnitsValues.PIXEL,
                            tracking_id=finding.identifier,
                            tracking_uid=finding.tracking_uid)
                        for finding in of_level
                    ],
                    text_objects=[
                        hd.pr.TextObject(
                            text_value=finding_text(finding),
                            units=hd.pr.AnnotationUnitsValues.PIXEL,
                            anchor_point=finding.bbox[:2],
                            anchor_point_visible=False)
                        for finding in of_level
                    ]))
    # MONOCHROME1 shows low values bright: the Presentation LUT inverts
    # (PS3.3 C.11.6.1), or a viewer would show the image as a negative
    inverse = sources[0].PhotometricInterpretation == 'MONOCHROME1'
    presentation_state = hd.pr.GrayscaleSoftcopyPresentationState(
        referenced_images=list(sources),
        series_instance_uid=series_instance_uid or generate_uid(),
        series_number=PRESENTATION_STATE_SERIES_NUMBER,
        sop_instance_uid=sop_instance_uid or generate_uid(),
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=MODEL_NAME,
        software_versions=algorithm.version,
        device_serial_number=algorithm.checkpoint_sha256[:16],
        content_label=CONTENT_LABEL,
        content_description=f'{algorithm.name} findings',
        graphic_annotations=annotations,
        graphic_layers=list(layers.values()),
        presentation_lut_transformation=hd.PresentationLUTTransformation(
            hd.PresentationLUTShapeValues.INVERSE
            if inverse else hd.PresentationLUTShapeValues.IDENTITY),
        series_description='mmdet-famo fracture findings (GSPS)')
    # General Series: the body part of the images (it decides whether
    # Laterality, Type 2C, is required) and their side
    body_parts = {
        str(source.get('BodyPartExamined') or '')
        for source in sources
    }
    if len(body_parts) == 1 and '' not in body_parts:
        presentation_state.BodyPartExamined = body_parts.pop()
    laterality = series_laterality(sources)
    if laterality is not None:
        presentation_state.Laterality = laterality
    presentation_state.ContributingEquipmentSequence = [
        contributing_equipment(algorithm)
    ]
    presentation_state.CodingSchemeIdentificationSequence = [
        CodingSchemeIdentificationItem(**IHE_CODING_SCHEME)
    ]
    return presentation_state
