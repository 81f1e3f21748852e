"""The node between Orthanc and itself, as a hospital runs it: Orthanc
forwards studies by C-STORE (a forwarding rule), the node sends its results
back, and what Orthanc filed is read through its REST API and DICOMweb:
phantom studies and two real CR views of different sizes, several studies
at once, a CT refused."""
import shutil
import subprocess
import time
import urllib.error
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import pydicom
import pytest
from pydicom.data import get_testdata_file

from mmdet_famo.node import DicomDestination, Spool
from tests.orthanc import AE_TITLE
from .loopback import HOST, node_settings, read
from .test_dicom_node import report_findings, run_infer_tool, sr_findings

pytestmark = pytest.mark.heavy

#: DICOM JSON tags (PS3.18 F.2) read from WADO-RS metadata.
MODALITY, SOP_INSTANCE = '00080060', '00080018'
#: Results per study: an SR, presentation states, Secondary Captures.
RESULT_MODALITIES = ('SR', 'PR', 'OT')


def value(item: dict, tag: str):
    return item[tag]['Value'][0]


@pytest.fixture
def famo_pacs(orthanc, start_node, tmp_path):
    """A node sending to Orthanc, declared in Orthanc as modality FAMO."""
    node = start_node(
        node_settings(tmp_path / 'spool',
                      DicomDestination(AE_TITLE, HOST, orthanc.dicom_port,
                                       timeout=30)))
    orthanc.add_modality('FAMO', 'FAMO', node.port)
    return SimpleNamespace(orthanc=orthanc,
                           node=node,
                           spool=tmp_path / 'spool')


def results_in(orthanc, study_uid: str) -> list:
    """WADO-RS metadata of the study's instances written by the node."""
    return [
        item for item in orthanc.study_instances(study_uid)
        if value(item, MODALITY) in RESULT_MODALITIES
    ]


def poll(condition, timeout: float) -> bool:
    """``condition`` checked each second (a REST round trip each time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(1)
    return condition()


def dciodvfy_errors(ds: pydicom.Dataset, folder: Path) -> list:
    path = folder / f'{ds.SOPInstanceUID}.dcm'
    ds.save_as(path)
    output = subprocess.run(['dciodvfy', str(path)],
                            capture_output=True).stderr
    return [
        line for line in output.decode('latin-1').splitlines()
        if line.startswith('Error')
    ]


def test_orthanc_forwards_studies_and_files_every_result(
        famo_pacs, phantoms, cr_study, model_files, tmp_path):
    orthanc = famo_pacs.orthanc
    sources = read(phantoms.files + cr_study)
    for path in phantoms.files + cr_study:
        orthanc.upload(path)
    studies = defaultdict(list)
    for ds in sources:
        studies[ds.StudyInstanceUID].append(ds)
    assert len(studies) == 5
    # all studies in one forwarding job, as a routing rule sends them
    orthanc.store_to('FAMO', orthanc.get('/studies'))

    def filed() -> bool:  # one SR and one SC per view in every study
        for uid, views in studies.items():
            modalities = [
                value(item, MODALITY) for item in results_in(orthanc, uid)
            ]
            if modalities.count('SR') != 1 or \
                    modalities.count('OT') != len(views):
                return False
        return not Spool(str(famo_pacs.spool)).outbox()

    assert poll(filed, timeout=300)

    view_of = {ds.SOPInstanceUID: ds for ds in sources}
    results = {  # study UID -> the results Orthanc filed in it
        uid: [
            orthanc.instance_file(value(item, SOP_INSTANCE))
            for item in results_in(orthanc, uid)
        ]
        for uid in studies
    }
    series_studies = defaultdict(set)  # series UID -> its studies
    referenced = set()
    for uid, views in studies.items():
        of_kind = defaultdict(list)
        for ds in results[uid]:
            assert ds.StudyInstanceUID == uid
            of_kind[ds.Modality].append(ds)
            series_studies[ds.SeriesInstanceUID].add(ds.StudyInstanceUID)
        sr, = of_kind['SR']
        assert len(of_kind['OT']) == len(views)
        # the presentation states draw on every view with findings in the
        # SR, each at its image's size
        drawn = set()
        for state in of_kind['PR']:
            area, = state.DisplayedAreaSelectionSequence
            for series in state.ReferencedSeriesSequence:
                for image in series.ReferencedImageSequence:
                    view = view_of[image.ReferencedSOPInstanceUID]
                    drawn.add(view.SOPInstanceUID)
                    assert list(area.DisplayedAreaBottomRightHandCorner) \
                        == [view.Columns, view.Rows]
        assert drawn == set(sr_findings([sr]))
        # what the results reference
        for item in sr.CurrentRequestedProcedureEvidenceSequence:
            for series in item.ReferencedSeriesSequence:
                referenced.update(i.ReferencedSOPInstanceUID
                                  for i in series.ReferencedSOPSequence)
        referenced.update(
            image.ReferencedSOPInstanceUID for state in of_kind['PR']
            for series in state.ReferencedSeriesSequence
            for image in series.ReferencedImageSequence)
        referenced.update(capture.SourceImageSequence[0].
                          ReferencedSOPInstanceUID
                          for capture in of_kind['OT'])
    # every referenced instance is filed in Orthanc
    assert referenced == set(view_of)
    for uid in referenced:
        assert [item['Type'] for item in orthanc.lookup(uid)
                if item['Type'] == 'Instance'] == ['Instance']
    # no series spans two studies; each study has its own of each kind
    assert all(len(uids) == 1 for uids in series_studies.values())
    assert len(series_studies) == sum(
        len({ds.Modality for ds in filed}) for filed in results.values())
    # the two CR views of different sizes: the findings tools/infer.py
    # reports, and its presentation states
    cr = read(cr_study)
    cr_results = results[cr[0].StudyInstanceUID]
    report, _ = run_infer_tool(model_files, cr, tmp_path / 'infer')
    assert sr_findings(cr_results) == report_findings(report, cr)
    assert len([ds for ds in cr_results if ds.Modality == 'PR']) == \
        len(report['cases'][0]['presentation_state']) == \
        len(sr_findings(cr_results))
    if shutil.which('dciodvfy'):
        for filed in results.values():
            for ds in filed:
                assert dciodvfy_errors(ds, tmp_path) == [], ds.Modality


def test_orthanc_cannot_forward_a_ct(famo_pacs, tmp_path):
    orthanc = famo_pacs.orthanc
    orthanc.upload(get_testdata_file('CT_small.dcm'))
    with pytest.raises(urllib.error.HTTPError):  # the job fails
        orthanc.store_to('FAMO', orthanc.get('/studies'))
    jobs = [orthanc.get(f'/jobs/{job}') for job in orthanc.get('/jobs')]
    assert [job['State'] for job in jobs] == ['Failure']
    assert Spool(str(famo_pacs.spool)).keys() == []
    ct_uid = pydicom.dcmread(get_testdata_file('CT_small.dcm'),
                             stop_before_pixels=True).StudyInstanceUID
    assert [value(item, MODALITY)
            for item in orthanc.study_instances(ct_uid)] == ['CT']
