"""The node's Prometheus endpoint and health check.

With a metrics port, the node serves over HTTP (``prometheus_client``, the
``node-metrics`` extra):

- ``/metrics``: images received and refused (by status), studies processed
  and failed, results queued, dead letters, and the latency from a study's
  last image to its results all delivered (a histogram, seconds);
- ``/health``: 200 ``ok`` while the receiver (or folder watcher), the
  processor and the sender threads run, else 503 naming the stopped ones.

Counts only: no study key, UID or patient value is ever a label.
"""
import threading
from typing import Callable, Dict
from wsgiref.simple_server import WSGIRequestHandler, make_server

try:
    from prometheus_client import (CollectorRegistry, Counter, Gauge,
                                   Histogram, make_wsgi_app)
except ImportError:  # the extra is optional
    CollectorRegistry = None

#: Latency buckets, seconds: an idle wait of 30 to 60 s plus inference.
LATENCY_BUCKETS = (5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800)


class NodeMetrics:
    """The node's counters, on a registry of their own.

    Raises:
        ImportError: ``prometheus_client`` is not installed.
    """

    def __init__(self) -> None:
        if CollectorRegistry is None:
            raise ImportError('the metrics endpoint needs prometheus_client '
                              '(pip install mmdet-famo[node-metrics])')
        self.registry = CollectorRegistry()
        self.images_received = Counter('famo_images_received',
                                       'Instances acknowledged (0x0000)',
                                       registry=self.registry)
        self.images_refused = Counter('famo_images_refused',
                                      'C-STOREs answered with a failure',
                                      ['status'],
                                      registry=self.registry)
        self.studies_processed = Counter('famo_studies_processed',
                                         'Rounds committed',
                                         registry=self.registry)
        self.studies_failed = Counter('famo_studies_failed',
                                      'Rounds failed (not retried)',
                                      registry=self.registry)
        self.queue_depth = Gauge('famo_queue_depth',
                                 'Results waiting to be sent',
                                 registry=self.registry)
        self.dead_letters = Gauge('famo_dead_letters',
                                  'Results set aside as dead letters',
                                  registry=self.registry)
        self.latency = Histogram(
            'famo_delivery_latency_seconds',
            "From a study's last image to its results all delivered",
            buckets=LATENCY_BUCKETS,
            registry=self.registry)
        self._server = None

    def serve(self, host: str, port: int,
              threads: Callable[[], Dict[str, bool]]) -> int:
        """Serve ``/metrics`` and ``/health`` on ``host``:``port`` (0: a
        free one) in a daemon thread; returns the port. ``threads`` says
        which of the node's threads are alive, by name."""
        metrics_app = make_wsgi_app(self.registry)

        def app(environ, start_response):
            if environ.get('PATH_INFO') == '/health':
                stopped = [name for name, alive in threads().items()
                           if not alive]
                status = '503 Service Unavailable' if stopped else '200 OK'
                start_response(status, [('Content-Type', 'text/plain')])
                return [('stopped: ' + ', '.join(stopped)
                         if stopped else 'ok').encode()]
            return metrics_app(environ, start_response)

        class Quiet(WSGIRequestHandler):

            def log_message(self, *args) -> None:  # no access log
                pass

        self._server = make_server(host, port, app, handler_class=Quiet)
        threading.Thread(target=self._server.serve_forever,
                         name='famo-metrics',
                         daemon=True).start()
        return self._server.server_address[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
