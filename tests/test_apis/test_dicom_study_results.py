"""The DICOM results as a PACS files them: views of different sizes, one
series per study, failures that lose nothing else, no identifier in the
logs, the IHE AI Results (AIR) attributes, and the SR checked against its
template by PixelMed's DicomSRValidator."""
import io
import logging
import os
import shutil
import subprocess
from types import SimpleNamespace

import highdicom as hd
import pydicom
import pytest
from mmengine.logging import MMLogger

from mmdet_famo.apis import dicom_results, infer_radiographs
from mmdet_famo.apis.dicom_objects import AlgorithmInfo
from mmdet_famo.apis.private_logging import scrub
from mmdet_famo.evaluation.operating_points import given_operating_points
from tests.test_apis.conftest import write_cr_study

pytestmark = pytest.mark.heavy

#: Every box of the tiny model is a finding (its scores lie around 0.55).
EVERY_BOX = given_operating_points(0.)
#: PixelMed's XSLT exceeds the XPath limits of current Java without the
#: first three. The last two suit one short run (the quick compiler alone,
#: one garbage-collector thread); most of the run is compiling PixelMed's
#: 6 MB SR stylesheet: 28-36 s of CPU on the same SR with or without the
#: quick compiler, measured twice each.
PIXELMED_JAVA_OPTIONS = ('-Djdk.xml.xpathExprOpLimit=0 '
                         '-Djdk.xml.xpathExprGrpLimit=0 '
                         '-Djdk.xml.xpathTotalOpLimit=0 '
                         '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC')


def infer(predictor, inputs, out, points=EVERY_BOX, **outputs) -> dict:
    options = dict(structured_report=True, presentation_state=True)
    options.update(outputs)
    return infer_radiographs(predictor, [str(i) for i in inputs], str(out),
                             points, overlays=False, **options)


@pytest.fixture(scope='module')
def cr_run(predictor, cr_study, tmp_path_factory):
    """The real CR study, as a second version: its SR replaces an earlier
    one (so that the validators check a Predecessor Documents Sequence)."""
    out = tmp_path_factory.mktemp('cr_results')
    earlier = pydicom.Dataset()
    earlier.StudyInstanceUID = pydicom.dcmread(cr_study[0]).StudyInstanceUID
    earlier.SeriesInstanceUID = pydicom.uid.generate_uid()
    earlier.SOPInstanceUID = pydicom.uid.generate_uid()
    earlier.SOPClassUID = pydicom.uid.ComprehensiveSRStorage
    report = infer(predictor,
                   cr_study,
                   out,
                   replaces={earlier.StudyInstanceUID: [earlier]})
    return SimpleNamespace(out=out,
                           report=report,
                           case=report['cases'][0],
                           replaced=earlier)


def test_a_new_version_names_the_report_it_replaces(cr_run):
    path, = cr_run.case['structured_report']
    [study] = pydicom.dcmread(cr_run.out / path).PredecessorDocumentsSequence
    [series] = study.ReferencedSeriesSequence
    [instance] = series.ReferencedSOPSequence
    earlier = cr_run.replaced
    assert (study.StudyInstanceUID, series.SeriesInstanceUID,
            instance.ReferencedSOPClassUID,
            instance.ReferencedSOPInstanceUID) == (earlier.StudyInstanceUID,
                                                   earlier.SeriesInstanceUID,
                                                   earlier.SOPClassUID,
                                                   earlier.SOPInstanceUID)


def test_views_of_different_sizes_get_a_presentation_state_each(cr_run,
                                                                cr_study):
    sources = {
        ds.SOPInstanceUID: ds
        for ds in map(pydicom.dcmread, cr_study)
    }
    assert sorted((ds.Rows, ds.Columns) for ds in sources.values()) == \
        [(1760, 1760), (1955, 1841)]
    assert cr_run.case['num_images'] == 2
    assert 'dicom_errors' not in cr_run.case
    states = [
        pydicom.dcmread(cr_run.out / path)
        for path in cr_run.case['presentation_state']
    ]
    assert len(states) == 2
    covered = set()
    for state in states:
        series, = state.ReferencedSeriesSequence
        image, = series.ReferencedImageSequence
        source = sources[image.ReferencedSOPInstanceUID]
        covered.add(image.ReferencedSOPInstanceUID)
        area, = state.DisplayedAreaSelectionSequence
        assert list(area.DisplayedAreaTopLeftHandCorner) == [1, 1]
        assert list(area.DisplayedAreaBottomRightHandCorner) == [
            source.Columns, source.Rows
        ]
        for annotation in state.GraphicAnnotationSequence:
            reference, = annotation.ReferencedImageSequence
            assert reference.ReferencedSOPInstanceUID == \
                image.ReferencedSOPInstanceUID
    assert covered == set(sources)
    # one series for the study's presentation states, counted within it
    assert len({state.SeriesInstanceUID for state in states}) == 1
    assert sorted(state.InstanceNumber for state in states) == [1, 2]
    sr = pydicom.dcmread(cr_run.out / cr_run.case['structured_report'][0])
    assert {ds.StudyInstanceUID for ds in states + [sr]} == \
        {ds.StudyInstanceUID for ds in sources.values()}


@pytest.fixture(scope='module')
def phantom_run(predictor, phantoms, tmp_path_factory):
    out = tmp_path_factory.mktemp('phantom_results')
    report = infer(predictor, phantoms.files, out)
    return SimpleNamespace(out=out, report=report, case=report['cases'][0])


def test_each_study_gets_its_own_series(phantom_run, phantoms):
    tmp_path = phantom_run.out
    cases = phantom_run.report['cases']
    assert len(cases) == len(set(phantoms.case_of.values())) == 4
    series_of = {}  # series UID -> study UIDs of its instances
    for case in cases:
        for kind in ('structured_report', 'presentation_state'):
            datasets = [pydicom.dcmread(tmp_path / p) for p in case[kind]]
            assert datasets, kind
            assert len({ds.SeriesInstanceUID for ds in datasets}) == 1
            assert sorted(ds.InstanceNumber for ds in datasets) == list(
                range(1, len(datasets) + 1))
            for ds in datasets:
                series_of.setdefault(ds.SeriesInstanceUID,
                                     set()).add(ds.StudyInstanceUID)
    assert len(series_of) == 2 * len(cases)  # a series per study and kind
    assert all(len(studies) == 1 for studies in series_of.values())


@pytest.fixture
def streams(capfd, caplog):
    """Everything written to stdout, stderr, the logging tree (from DEBUG)
    and MMEngine's logger, as one text each time it is called."""
    caplog.set_level(logging.DEBUG)
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)

    def read() -> str:
        captured = capfd.readouterr()
        return captured.out + captured.err + caplog.text + log.getvalue()

    yield read
    logger.removeHandler(handler)


def test_a_failing_presentation_state_loses_not_the_sr(
        predictor, cr_study, tmp_path, monkeypatch, streams):
    patient = str(pydicom.dcmread(cr_study[0]).PatientName)

    def fail(sources, *args, **kwargs):
        raise ValueError(f'cannot draw on "{patient}" image '
                         f'{sources[0].SOPInstanceUID}')

    monkeypatch.setattr(dicom_results, 'build_presentation_state', fail)
    report = infer(predictor, cr_study, tmp_path)
    case, = report['cases']
    assert case['presentation_state'] == []
    sr, = case['structured_report']
    assert pydicom.dcmread(tmp_path / sr).Modality == 'SR'
    assert case['dicom_errors'] == [
        f'presentation_state/case-0001{suffix}.dcm not written: ValueError: '
        'cannot draw on <identifier> image <identifier>'
        for suffix in ('', '-2')
    ]
    assert report['dicom_files'] == [sr]
    log = streams()
    assert 'case-0001: presentation_state/case-0001.dcm not written: ' \
        'ValueError' in log
    assert patient not in log and 'CR^' not in log


@pytest.mark.parametrize('name,character_set', [
    ('SMITH JOHN', 'ISO_IR 100'),
    ('Müller^Jürgen', 'ISO_IR 100'),
    ('', 'ISO_IR 100'),
])
def test_no_identifier_reaches_the_logs(predictor, tmp_path, streams, name,
                                        character_set):
    files = write_cr_study(tmp_path / 'in', name, character_set)
    report = infer(predictor,
                   files,
                   tmp_path / 'out',
                   secondary_capture=True)
    log = streams()
    sources = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    secrets = {
        value
        for ds in sources
        for value in (ds.PatientID, ds.AccessionNumber, ds.StudyInstanceUID,
                      ds.SeriesInstanceUID, ds.SOPInstanceUID,
                      str(tmp_path))
    } | {part for part in name.replace('^', ' ').split() if part}
    for secret in secrets:
        assert secret not in log, secret
    if name == 'SMITH JOHN':  # highdicom's warning, without the name
        assert 'The string <identifier> is unlikely to represent' in log
    results = [
        pydicom.dcmread(tmp_path / 'out' / path)
        for path in report['dicom_files']
    ]
    assert {ds.Modality for ds in results} == {'SR', 'PR', 'OT'}
    for ds in results:  # the name as sent, with its character set
        assert ds.SpecificCharacterSet == character_set
        assert str(ds.PatientName) == name


def test_scrub_replaces_values_quotes_and_uids():
    text = ('The string "SMITH JOHN" of 1.2.840.113619.2.55.3 for '
            "'x' is PID-7 in highdicom 0.28.2")
    assert scrub(text, ['PID-7']) == (
        'The string <identifier> of <identifier> for <identifier> is '
        '<identifier> in highdicom 0.28.2')


def test_the_sr_meets_ihe_air(cr_run, model_files):
    sr = pydicom.dcmread(cr_run.out / cr_run.case['structured_report'][0])
    algorithm = AlgorithmInfo.from_files(model_files.config,
                                         model_files.checkpoint)
    assert sr.VerificationFlag == 'UNVERIFIED'
    assert sr.CompletionFlag == 'COMPLETE'
    equipment, = sr.ContributingEquipmentSequence
    purpose, = equipment.PurposeOfReferenceCodeSequence
    assert (purpose.CodeValue, purpose.CodingSchemeDesignator,
            purpose.CodeMeaning) == ('Newcode1', '99IHE',
                                     'Processing Algorithm')
    assert equipment.Manufacturer == 'mmdet-famo'
    assert equipment.ManufacturerModelName == algorithm.name
    assert equipment.SoftwareVersions == algorithm.version
    assert equipment.DeviceUID == algorithm.device_uid
    schemes = {
        item.CodingSchemeDesignator
        for item in sr.CodingSchemeIdentificationSequence
    }
    assert {'99IHE', '99MMDETFAMO'} <= schemes
    # the Device UID is the checkpoint's: same checksum, same UID
    other = AlgorithmInfo('tiny.py', 'other.pth', '0' * 64)
    assert other.device_uid != algorithm.device_uid
    assert AlgorithmInfo('a.py', 'b.pth', '0' * 64).device_uid == \
        other.device_uid
    assert pydicom.uid.UID(algorithm.device_uid).is_valid
    # the observer is the same device
    report = hd.sr.srread(cr_run.out / cr_run.case['structured_report'][0])
    uids = [
        item.UID for item in _walk(report)
        if item.get('ConceptNameCodeSequence')
        and item.ConceptNameCodeSequence[0].CodeValue == '121012'
    ]
    assert uids and set(uids) == {algorithm.device_uid}
    # every finding has a tracking identifier and UID
    groups = report.content.get_planar_roi_measurement_groups()
    assert groups
    for group in groups:
        assert group.tracking_identifier.startswith('image-000')
        assert pydicom.uid.UID(group.tracking_uid).is_valid
    state = pydicom.dcmread(cr_run.out /
                            cr_run.case['presentation_state'][0])
    assert state.ContributingEquipmentSequence[0].DeviceUID == \
        algorithm.device_uid


def _walk(dataset):
    for item in dataset.get('ContentSequence', []):
        yield item
        yield from _walk(item)


def pixelmed_errors(path) -> list:
    """The error lines PixelMed's DicomSRValidator prints for ``path``."""
    result = subprocess.run(
        ['DicomSRValidator', str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, JAVA_TOOL_OPTIONS=PIXELMED_JAVA_OPTIONS))
    output = result.stdout + result.stderr
    assert 'Found Root Template TID_1500' in output, output[-2000:]
    assert 'IOD validation complete' in output, output[-2000:]
    return [line for line in output.splitlines() if line.startswith('Error')]


def dciodvfy_errors(path) -> list:
    result = subprocess.run(['dciodvfy', str(path)],
                            capture_output=True,
                            timeout=120)
    output = (result.stdout + result.stderr).decode('latin-1')
    return [line for line in output.splitlines() if line.startswith('Error')]


@pytest.mark.skipif(shutil.which('DicomSRValidator') is None,
                    reason='PixelMed DicomSRValidator is not installed '
                    '(Debian package pixelmed-apps)')
def test_pixelmed_finds_no_error_in_the_sr(cr_run):
    """The SR of the real CR study, a second version (Predecessor
    Documents Sequence), every box a finding. (The phantom studies' SRs are
    built by the same code; PixelMed takes about a minute a file.)"""
    path, = cr_run.case['structured_report']
    assert pixelmed_errors(cr_run.out / path) == []


@pytest.mark.skipif(shutil.which('dciodvfy') is None,
                    reason='dciodvfy is not installed (Debian package '
                    'dicom3tools)')
@pytest.mark.parametrize('run', ['cr_run', 'phantom_run'])
def test_dciodvfy_finds_no_error_in_the_results(run, request):
    run = request.getfixturevalue(run)
    for path in run.report['dicom_files']:
        assert dciodvfy_errors(run.out / path) == [], path
