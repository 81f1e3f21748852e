"""Fixtures of the DICOM node tests: the tiny predictor and phantoms of the
inference tests, a destination SCP, nodes stopped at the end, Orthanc."""
import pytest

from mmdet_famo.node import DicomNode, NodeSettings
from tests.test_apis.conftest import (  # noqa: F401
    cr_study, model_files, phantoms, predictor)
from tests.orthanc import Orthanc
from tests.orthanc import missing as orthanc_missing
from .loopback import INFER_OPTIONS, Destination


@pytest.fixture
def destination():
    server = Destination().start()
    yield server
    server.stop()


@pytest.fixture
def start_node(predictor):  # noqa: F811
    """Start nodes on the shared tiny predictor; all stopped at the end."""
    started = []

    def start(settings: NodeSettings) -> DicomNode:
        node = DicomNode(settings, predictor, INFER_OPTIONS)
        node.start()
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


@pytest.fixture
def orthanc(tmp_path):
    """Orthanc on free loopback ports with a temporary configuration and its
    DICOMweb plugin, stopped after the test; skipped where it is missing."""
    reason = orthanc_missing()
    if reason:
        pytest.skip(reason)
    server = Orthanc(tmp_path / 'orthanc').start()
    yield server
    server.stop()
