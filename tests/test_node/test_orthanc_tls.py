"""The node between Orthanc and itself over DICOM TLS both ways, each side
requiring the other's certificate: Orthanc, with its own certificate from
the test CA, forwards a study to the node; the node sends its results back
to Orthanc over TLS with its certificate from the same CA. That Orthanc's
SCP and SCU speak TLS is what the store proves: the node takes no plain
association and Orthanc's SCP listens over TLS only. Skipped where this
Orthanc cannot do DICOM TLS."""
import pytest

from mmdet_famo.node import DicomDestination
from tests.orthanc import AE_TITLE, DicomTls, Orthanc, TlsUnsupported
from tests.orthanc import missing as orthanc_missing
from .loopback import HOST, node_settings, read, send
from .test_orthanc import MODALITY, SOP_INSTANCE, poll, results_in, value
from .test_tls import certs, client, mutual_tls  # noqa: F401


@pytest.fixture
def tls_orthanc(certs, tmp_path):  # noqa: F811
    """Orthanc over DICOM TLS with the PACS's certificate, trusting the test
    CA and requiring its callers' certificates; skipped where it cannot."""
    reason = orthanc_missing()
    if reason:
        pytest.skip(reason)
    server = Orthanc(tmp_path / 'orthanc',
                     tls=DicomTls(certs / 'pacs.crt', certs / 'pacs.key',
                                  certs / 'ca.crt'))
    try:
        server.start()
    except TlsUnsupported as error:
        pytest.skip(str(error))
    yield server
    server.stop()


def test_orthanc_and_the_node_over_mutual_tls(
        tls_orthanc, start_node, phantoms, certs, tmp_path):  # noqa: F811
    orthanc = tls_orthanc
    tls = mutual_tls(certs)
    node = start_node(
        node_settings(tmp_path / 'spool',
                      DicomDestination(AE_TITLE,
                                       HOST,
                                       orthanc.dicom_port,
                                       timeout=30,
                                       tls=tls),
                      tls=tls))
    orthanc.add_modality('FAMO', 'FAMO', node.port, tls=True)
    study = [f for f in phantoms.files if '/PH0001/' in str(f)]
    for path in study:
        orthanc.upload(path)
    views = read(study)
    study_uid = views[0].StudyInstanceUID

    # a caller with a certificate from another CA cannot associate
    with pytest.raises(AssertionError):
        send(node.port, views[:1], tls_args=client(certs, 'stranger'))
    assert node.spool.keys() == []

    orthanc.store_to('FAMO', orthanc.get('/studies'))

    def modalities() -> list:
        return [
            value(item, MODALITY) for item in results_in(orthanc, study_uid)
        ]

    def filed() -> bool:  # the SR and one Secondary Capture per view
        found = modalities()
        return (found.count('SR') == 1 and found.count('OT') == len(views)
                and not node.spool.outbox())

    assert poll(filed, timeout=120)
    assert 'PR' in modalities()  # PH0001's views have findings
    # the SR and the presentation states, read back from Orthanc, are filed
    # in the source study and reference its views
    view_uids = {ds.SOPInstanceUID for ds in views}
    results = [
        orthanc.instance_file(value(item, SOP_INSTANCE))
        for item in results_in(orthanc, study_uid)
        if value(item, MODALITY) in ('SR', 'PR')
    ]
    assert {ds.StudyInstanceUID for ds in results} == {study_uid}
    sr, = [ds for ds in results if ds.Modality == 'SR']
    assert {
        image.ReferencedSOPInstanceUID
        for evidence in sr.CurrentRequestedProcedureEvidenceSequence
        for series in evidence.ReferencedSeriesSequence
        for image in series.ReferencedSOPSequence
    } == view_uids
    for state in results:
        if state.Modality == 'PR':
            assert {
                image.ReferencedSOPInstanceUID
                for series in state.ReferencedSeriesSequence
                for image in series.ReferencedImageSequence
            } <= view_uids
