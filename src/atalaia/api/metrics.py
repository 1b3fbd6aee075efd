"""Prometheus `/metrics` and `/api/stats`, both read from live state at request time.

Nothing on the hot path updates a metric: camera and detector processes already report their
counters with every heartbeat, so a scrape-time collector turns the latest heartbeats (and the
sinks' and monitors' state) into metric families. A scrape can never slow a camera.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from atalaia.api.auth import require_token
from atalaia.logs import dropped_count
from atalaia.pipeline.snapshots import (
    CameraSnapshot,
    FrameCounts,
    camera_snapshot,
    detector_snapshot,
    drops_by_cause,
    jsonable,
)
from atalaia.service.manager import BackgroundManager

router = APIRouter(tags=["metrics"])

LATENCY_BUCKETS_MS = (10, 25, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000)
COUNTERS = {  # `FrameCounts` field: help
    "captured": "Frames captured",
    "sent": "Frames sent to detection",
    "detected": "Frames detected",
    "skipped_schedule": "Frames skipped by the detection schedule",
    "skipped_motion": "Frames skipped by motion gating",
    "partial": "Frames analysed without some model's answer (that model dropped them)",
}
MODEL_FAMILIES = {  # per camera and model: (metric name, help)
    "sent": ("atalaia_camera_model_requests", "Frames a camera sent to one of its models"),
    "results": ("atalaia_camera_model_results", "Results a camera got from one of its models"),
    "dropped": (
        "atalaia_camera_model_dropped",
        "Frames one of a camera's models did not answer, by cause",
    ),
    "connected": (
        "atalaia_camera_model_connected",
        "1 while the camera is connected to that model's detector",
    ),
    "latency": ("atalaia_camera_model_result_seconds", "Time from capture to one model's result"),
}
CLIP_COUNTERS = {  # metric name: (key in the camera's clip stats, help)
    "atalaia_clips_written": ("clips_written", "Alert clips written"),
    "atalaia_clip_failures": ("clips_failed", "Alert clips that failed to encode"),
    "atalaia_clips_skipped": ("clips_skipped", "Alert clips skipped (no frames, encoder behind)"),
}


def latency_buckets(hist: Mapping[int, int]) -> tuple[list[tuple[str, float]], float]:
    """Cumulative Prometheus buckets (seconds) and the sum, from a 1 ms histogram."""
    ordered = sorted((int(k), v) for k, v in hist.items())
    buckets, total = [], 0
    for edge in LATENCY_BUCKETS_MS:
        count = sum(v for k, v in ordered if k < edge)
        buckets.append((str(edge / 1000), float(count)))
    total = sum(v for _, v in ordered)
    buckets.append(("+Inf", float(total)))
    return buckets, sum((k + 0.5) * v for k, v in ordered) / 1000


class AtalaiaCollector:
    """Builds every metric family from one BackgroundManager at scrape time."""

    def __init__(self, manager: BackgroundManager) -> None:
        self.manager = manager

    def collect(self) -> Iterator[Metric]:
        pipeline = self.manager.pipeline_status()
        cameras = {
            camera: camera_snapshot(state) for camera, state in pipeline.get("cameras", {}).items()
        }
        yield from self._cameras(cameras)
        yield from self._detectors(pipeline.get("detectors", {}))
        yield from self._processes(
            {
                **{f"camera:{k}": v for k, v in pipeline.get("cameras", {}).items()},
                **{f"detector:{k}": v for k, v in pipeline.get("detectors", {}).items()},
            }
        )
        yield from self._sinks(self.manager.sink_stats())
        cluster = self.manager.cluster_status()
        if cluster is not None:
            yield from self._cluster(cluster)
        host = self.manager.monitor_snapshots().get("host") or {}
        yield from self._host(host.get("sample") or {})
        processed = CounterMetricFamily(
            "atalaia_alerts_processed", "Alert events announced by cameras"
        )
        processed.add_metric([], self.manager.total_alerts_processed)
        yield processed
        dropped = CounterMetricFamily(
            "atalaia_log_records_dropped", "Log records dropped (queue full)"
        )
        dropped.add_metric([], dropped_count())
        yield dropped

    def _cameras(self, cameras: dict[str, CameraSnapshot | None]) -> Iterable[Metric]:
        """Every camera; one without stats yet (before its first heartbeat) counts zeros."""
        families = {
            key: CounterMetricFamily(f"atalaia_camera_frames_{key}", text, labels=["camera"])
            for key, text in COUNTERS.items()
        }
        drops = CounterMetricFamily(
            "atalaia_camera_frames_dropped", "Frames dropped, by cause", labels=["camera", "cause"]
        )
        fps = GaugeMetricFamily(
            "atalaia_camera_fps", "Frames per second since start", labels=["camera", "kind"]
        )
        online = GaugeMetricFamily(
            "atalaia_camera_online", "1 when the camera delivers frames", labels=["camera"]
        )
        reconnects = CounterMetricFamily(
            "atalaia_camera_reconnects", "Reconnections to the camera", labels=["camera"]
        )
        latency = HistogramMetricFamily(
            "atalaia_capture_to_result_seconds",
            "Time from capture to detection result",
            labels=["camera"],
        )
        for camera, stats in sorted(cameras.items()):
            counters = stats.counters if stats is not None else FrameCounts()
            for key, family in families.items():
                family.add_metric([camera], getattr(counters, key))
            for cause, count in drops_by_cause(counters).items():
                drops.add_metric([camera, cause], count)
            fps.add_metric([camera, "captured"], stats.fps_captured if stats else 0.0)
            fps.add_metric([camera, "detected"], stats.fps_detected if stats else 0.0)
            online.add_metric([camera], 1.0 if stats and stats.reader.online else 0.0)
            reconnects.add_metric([camera], stats.reader.reconnects if stats else 0)
            buckets, total = latency_buckets(stats.latency_hist if stats else {})
            latency.add_metric([camera], buckets, total)
        yield from families.values()
        yield from (drops, fps, online, reconnects, latency)
        yield from self._models(cameras)
        yield from self._clips(cameras)

    def _models(self, cameras: dict[str, CameraSnapshot | None]) -> Iterable[Metric]:
        """Per camera and model: a camera with several detectors shows each one's requests,
        results, drops and latency, so a slow or dead model is seen by name."""
        per_model = ["camera", "model"]
        sent = CounterMetricFamily(*MODEL_FAMILIES["sent"], labels=per_model)
        results = CounterMetricFamily(*MODEL_FAMILIES["results"], labels=per_model)
        drops = CounterMetricFamily(*MODEL_FAMILIES["dropped"], labels=[*per_model, "cause"])
        connected = GaugeMetricFamily(*MODEL_FAMILIES["connected"], labels=per_model)
        latency = HistogramMetricFamily(*MODEL_FAMILIES["latency"], labels=per_model)
        for camera, camera_stats in sorted(cameras.items()):
            models = camera_stats.models if camera_stats is not None else {}
            for model, stats in sorted(models.items()):
                labels = [camera, model]
                sent.add_metric(labels, stats.sent)
                results.add_metric(labels, stats.detected)
                for cause, count in drops_by_cause(stats).items():
                    drops.add_metric([*labels, cause], count)
                connected.add_metric(labels, 1.0 if stats.connected else 0.0)
                buckets, total = latency_buckets(stats.latency_hist)
                latency.add_metric(labels, buckets, total)
        yield from (sent, results, drops, connected, latency)

    def _clips(self, cameras: dict[str, CameraSnapshot | None]) -> Iterable[Metric]:
        for name, (key, text) in CLIP_COUNTERS.items():
            family = CounterMetricFamily(name, text, labels=["camera"])
            for camera, stats in sorted(cameras.items()):
                analytics = stats.analytics if stats is not None else None
                clips = analytics.clips if analytics is not None else None
                if clips is not None:  # cameras that record clips
                    family.add_metric([camera], clips.get(key, 0))
            yield family

    def _detectors(self, detectors: dict[str, Any]) -> Iterable[Metric]:
        batches = CounterMetricFamily(
            "atalaia_detector_batches", "Model calls, by batch size", labels=["detector", "size"]
        )
        frames = CounterMetricFamily(
            "atalaia_detector_frames", "Frames inferred", labels=["detector"]
        )
        infer = GaugeMetricFamily(
            "atalaia_detector_infer_ms",
            "Model call time, recent quantiles",
            labels=["detector", "quantile"],
        )
        pending = GaugeMetricFamily(
            "atalaia_detector_pending_requests",
            "Requests waiting to be batched",
            labels=["detector"],
        )
        connections = GaugeMetricFamily(
            "atalaia_detector_connections", "Connected cameras", labels=["detector"]
        )
        for name, state in sorted(detectors.items()):
            stats = detector_snapshot(state)  # None before its first heartbeat: zeros
            for size, count in (stats.batch_sizes if stats else {}).items():
                batches.add_metric([name, str(size)], count)
            frames.add_metric([name], stats.frames if stats else 0)
            for q, value in (stats.infer_ms if stats else {}).items():
                infer.add_metric([name, q.removeprefix("p")], value)
            pending.add_metric([name], stats.pending if stats else 0)
            connections.add_metric([name], stats.connections if stats else 0)
        yield from (batches, frames, infer, pending, connections)

    def _processes(self, children: dict[str, Any]) -> Iterable[Metric]:
        restarts = CounterMetricFamily(
            "atalaia_process_restarts", "Restarts by the supervisor", labels=["process"]
        )
        up = GaugeMetricFamily(
            "atalaia_process_running", "1 while the process runs", labels=["process"]
        )
        for name, state in sorted(children.items()):
            restarts.add_metric([name], state.get("restarts") or 0)
            up.add_metric([name], 1.0 if state.get("state") == "running" else 0.0)
        yield from (restarts, up)

    def _sinks(self, sinks: dict[str, dict[str, Any]]) -> Iterable[Metric]:
        counts = {
            key: GaugeMetricFamily(f"atalaia_sink_{key}", f"Deliveries {key}", labels=["sink"])
            for key in ("delivered", "failed", "pending", "dead")
        }
        for sink, stats in sorted(sinks.items()):
            for key, family in counts.items():
                family.add_metric([sink], float(stats.get(key) or 0))
        yield from counts.values()

    def _cluster(self, status: dict[str, Any]) -> Iterable[Metric]:
        """This node's part of a cluster; every series carries its id, so a site's nodes can
        be scraped into one Prometheus without relabelling."""
        node = [status["node_id"]]
        gauges = {
            "atalaia_cluster_leases_held": ("Camera leases this node holds", len(status["leases"])),
            "atalaia_cluster_live_nodes": (
                "Live nodes seen at this node's last renewal",
                len(status["live_nodes"]),
            ),
            "atalaia_cluster_lease_valid_seconds": (
                "How long this node may still run its cameras without another renewal",
                status["may_run_for_s"],
            ),
            "atalaia_cluster_renewal_ok": (
                "1 while this node's last lease renewal succeeded",
                0.0 if status["last_error"] else 1.0,
            ),
        }
        for name, (help_text, value) in gauges.items():
            family = GaugeMetricFamily(name, help_text, labels=["node"])
            family.add_metric(node, float(value))
            yield family
        counters = {
            "atalaia_cluster_renewals": ("Lease renewals that succeeded", status["renewals"]),
            "atalaia_cluster_fenced": (
                "Times this node stopped its cameras because its leases could lapse",
                status["fenced"],
            ),
            "atalaia_cluster_freed_deliveries": (
                "Delivery claims of dead nodes this node made due again",
                status["freed_deliveries"],
            ),
        }
        for name, (help_text, value) in counters.items():
            counter = CounterMetricFamily(name, help_text, labels=["node"])
            counter.add_metric(node, float(value))
            yield counter

    def _host(self, host: dict[str, Any]) -> Iterable[Metric]:
        for key, value in sorted(host.items()):
            if isinstance(value, int | float) and not isinstance(value, bool):
                family = GaugeMetricFamily(f"atalaia_host_{key}", f"Host {key.replace('_', ' ')}")
                family.add_metric([], float(value))
                yield family


def metrics_auth(request: Request) -> None:
    if not request.app.state.config.server.public_metrics:
        require_token(request)


@router.get("/metrics", summary="Prometheus metrics", dependencies=[Depends(metrics_auth)])
async def metrics(request: Request) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AtalaiaCollector(request.app.state.manager))
    body = await asyncio.to_thread(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/api/stats",
    summary="Everything the metrics say, as JSON",
    dependencies=[Depends(require_token)],
)
async def stats(request: Request) -> dict[str, Any]:
    manager: BackgroundManager = request.app.state.manager
    return {
        "status": manager.status(),
        "pipeline": jsonable(manager.pipeline_status()),
        "sinks": manager.sink_stats(),
        "monitors": manager.monitor_snapshots(),
        "log_records_dropped": dropped_count(),
        "media_retention": manager.last_cleanup,
    }
