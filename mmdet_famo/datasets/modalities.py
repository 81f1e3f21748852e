"""Which DICOM objects count as projection radiographs, the only images the
detector was trained on (paper, Methods: radiographs of the extremities).

Accepted by default, by Modality (0008,0060) and SOP Class UID (0008,0016):

- **CR**, Computed Radiography Image Storage: a projection radiograph read
  from a phosphor plate.
- **DX**, Digital X-Ray Image Storage - For Presentation: a projection
  radiograph from a flat-panel detector, processed for display as the
  paper's images were.

Refused unless the user names the modality (``--allow-modality MOD``):

- **DX For Processing** (its own SOP class): raw detector values before the
  vendor's image processing, not meant to be displayed; their contrast is
  not the one the model learned. ``--allow-modality DX`` takes them.
- **MG** (mammography), **IO** (intra-oral) and **PX** (panoramic dental):
  projection X-ray images too, but of breast or teeth, with their own
  detectors and processing (PX is a rotational, tomographic exposure); no
  bone of the extremities, so no verdict the metric has measured.
- **RF** and **XA** (fluoroscopy, angiography): low-dose, often
  contrast-filled, multi-frame sequences.
- **Secondary Capture** of any modality: a screen grab or a digitised film
  of unknown processing, and what this package writes itself
  (``--secondary-capture``): a DICOM node must not read its own overlays
  back as radiographs.
- Any other modality (CT, MR, US, NM, PT, SR, PR, SEG, OT...): not a
  projection radiograph.

``--allow-modality MOD`` accepts every file whose Modality is ``MOD``,
whatever its SOP class. PNG and JPEG files carry no modality: the user
chose them as radiographs, so they are always accepted.
"""
from typing import Dict, Optional, Sequence

from pydicom import Dataset
from pydicom.uid import (ComputedRadiographyImageStorage,
                         DigitalXRayImageStorageForPresentation, UID)

#: SOP Class UID -> its Modality, for the classes accepted by default.
PROJECTION_SOP_CLASSES: Dict[str, str] = {
    ComputedRadiographyImageStorage: 'CR',
    DigitalXRayImageStorageForPresentation: 'DX',
}
#: Modality values accepted by default.
PROJECTION_MODALITIES = ('CR', 'DX')


def modality_refusal(ds: Dataset,
                     allowed: Sequence[str] = ()) -> Optional[str]:
    """Why ``ds`` is not taken as a projection radiograph, or None if it is.

    It is taken if its Modality is one of ``allowed``, or if its Modality
    (when present) is CR or DX and its SOP Class UID (when present) is one
    of :data:`PROJECTION_SOP_CLASSES`; a file with neither is refused.

    Args:
        ds (Dataset): The file's data set (the header is enough).
        allowed (Sequence[str]): Further Modality values to accept, as given
            to ``--allow-modality``.

    Returns:
        str | None: The reason, naming the modality and SOP class.
    """
    modality = str(ds.get('Modality') or '').strip().upper()
    sop_class = str(ds.get('SOPClassUID') or '').strip()
    if modality and modality in {m.upper() for m in allowed}:
        return None
    if not modality and not sop_class:
        return ('neither Modality (0008,0060) nor SOP Class UID (0008,0016): '
                'cannot tell whether it is a radiograph')
    if modality and modality not in PROJECTION_MODALITIES:
        return (f"modality {modality} ({_sop_class_name(sop_class)}) is not a "
                'projection radiograph (CR or DX); pass --allow-modality '
                f'{modality} to run it anyway')
    if sop_class and sop_class not in PROJECTION_SOP_CLASSES:
        remedy = f'pass --allow-modality {modality} to run it anyway' \
            if modality else 'it has no Modality to allow'
        return (f'SOP class {_sop_class_name(sop_class)} is not a '
                'projection radiograph for presentation (CR, or DX For '
                f'Presentation); {remedy}')
    return None


def _sop_class_name(sop_class: str) -> str:
    """``'CT Image Storage'`` for a known UID, the UID otherwise."""
    if not sop_class:
        return 'no SOP Class UID'
    name = UID(sop_class).name
    return name if name != sop_class else f'SOP Class UID {sop_class}'
