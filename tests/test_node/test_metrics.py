"""The Prometheus endpoint and health check: what the node received,
refused, processed, queued and set aside, and how long a study took from
its last image to its results delivered; no identifier in any of it."""
import urllib.error
import urllib.request

import pytest

from .loopback import (HOST, free_port, node_settings, read, send,
                       wait_for)
from .test_dicom_node import broken_copy, pacs

prometheus_client = pytest.importorskip(
    'prometheus_client',
    reason='prometheus_client is not installed (the node-metrics extra)')
from prometheus_client.parser import \
    text_string_to_metric_families  # noqa: E402


def scrape(port: int) -> dict:
    text = urllib.request.urlopen(f'http://{HOST}:{port}/metrics',
                                  timeout=5).read().decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples}, text


def test_metrics_and_health(phantoms, destination, start_node, tmp_path):
    node = start_node(
        node_settings(tmp_path / 'spool',
                      pacs(destination.port),
                      metrics_port=free_port()))
    study = read([f for f in phantoms.files if '/PH0001/' in str(f)])
    broken = broken_copy(phantoms.files[0])
    assert send(node.port, study + [broken]) == [0] * len(study) + [0xA900]
    assert wait_for(lambda: scrape(node.metrics_port)[0].get(
        ('famo_delivery_latency_seconds_count', ())) == 1)
    values, text = scrape(node.metrics_port)
    assert values[('famo_images_received_total', ())] == len(study)
    assert values[('famo_images_refused_total',
                   (('status', '0xA900'), ))] == 1
    assert values[('famo_studies_processed_total', ())] == 1
    assert values[('famo_studies_failed_total', ())] == 0
    assert values[('famo_dead_letters', ())] == 0
    # the idle time (0.5 s) at least, and less than the test's wait
    assert 0.5 <= values[('famo_delivery_latency_seconds_sum', ())] < 30
    for ds in study:
        assert ds.StudyInstanceUID not in text and ds.PatientID not in text
    health = urllib.request.urlopen(
        f'http://{HOST}:{node.metrics_port}/health', timeout=5)
    assert (health.status, health.read()) == (200, b'ok')
    node.sender.stop()  # a thread stops: the node is unhealthy
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f'http://{HOST}:{node.metrics_port}/health',
                               timeout=5)
    assert error.value.code == 503
    assert error.value.read() == b'stopped: sender'
