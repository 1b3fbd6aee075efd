"""Any node serves the site's media: live frames from the node running the camera, snapshots
and clips from the node whose data directory has them.

Two real nodes on one PostgreSQL, one pinned camera each. Asked for the other node's camera,
a node streams that node's answer through (`X-Atalaia-Node` names it); an alert's files,
written in one node's data directory as its camera process would, come from either node, a
clip's byte ranges included. A request forwarded once is never forwarded again.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import httpx
import numpy as np

from atalaia.api.peers import FORWARDED_HEADER, NODE_HEADER
from atalaia.storage import Database
from atalaia.storage.models import EventType
from atalaia.storage.outbox import record_event
from tests.cluster.support import TOKEN, camera_entries, cluster_nodes, running_cameras, wait_for
from tests.storage.helpers import make_alert

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _jpeg(body: bytes) -> np.ndarray | None:
    return cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)


def _first_mjpeg_part(client: httpx.Client, url: str) -> tuple[str | None, bytes]:
    with client.stream("GET", url, headers=AUTH) as answer:
        assert answer.status_code == 200, answer.read()
        buffer = b""
        for chunk in answer.iter_raw():
            buffer += chunk
            start = buffer.find(b"\xff\xd8")
            end = buffer.find(b"\xff\xd9", start + 2)
            if start >= 0 and end > 0:
                return answer.headers.get(NODE_HEADER), buffer[start : end + 2]
    raise AssertionError("the stream ended before a frame")


def test_either_node_serves_live_frames_snapshots_and_clips(
    tmp_path: Path, cluster_db_url: str, video: Path
) -> None:
    cameras = camera_entries(video, 2, pins={"cam00": "node1", "cam01": "node2"})
    with cluster_nodes(tmp_path, cluster_db_url, cameras, count=2) as nodes:
        for node in nodes:
            node.start()
        one, two = nodes
        assert wait_for(
            lambda: running_cameras(one) == {"cam00"} and running_cameras(two) == {"cam01"}, 120
        ), one.tail() + two.tail()

        with httpx.Client(timeout=10) as client:
            # Live: node2 answers for cam00 with node1's frame, and the other way round.
            for asked, camera, holder in ((two, "cam00", "node1"), (one, "cam01", "node2")):
                url = f"{asked.url}/api/cameras/{camera}/latest.jpg"
                answer = wait_for(lambda url=url: _ok(client.get(url, headers=AUTH)), 30)
                assert answer, f"no frame of {camera} through {asked.node_id}"
                assert answer.headers[NODE_HEADER] == holder
                assert _jpeg(answer.content) is not None
            holder, frame = _first_mjpeg_part(client, f"{two.url}/api/cameras/cam00/live.mjpeg")
            assert holder == "node1" and _jpeg(frame) is not None
            # The node running the camera answers itself: nothing names another node.
            own = client.get(f"{one.url}/api/cameras/cam00/latest.jpg", headers=AUTH)
            assert own.status_code == 200 and NODE_HEADER not in own.headers

            # An alert of cam00 whose files are in node1's data directory only.
            data = Path(one.config["data_dir"])
            snapshot = cv2.imencode(".jpg", np.full((48, 64, 3), 90, np.uint8))[1].tobytes()
            clip = bytes(range(256)) * 40
            (data / "media").mkdir(parents=True, exist_ok=True)
            (data / "media" / "snap.jpg").write_bytes(snapshot)
            (data / "media" / "clip.mp4").write_bytes(clip)
            database = Database(cluster_db_url)
            try:
                with database.session() as session:
                    alert = make_alert(
                        "cam00", snapshot_path="media/snap.jpg", clip_path="media/clip.mp4"
                    )
                    record_event(session, alert, EventType.NEW, {}, [])
                    alert_id = alert.id
            finally:
                database.dispose()

            for asked in nodes:
                got = client.get(f"{asked.url}/api/events/{alert_id}/snapshot.jpg", headers=AUTH)
                assert got.status_code == 200 and got.content == snapshot, asked.node_id
                whole = client.get(f"{asked.url}/api/events/{alert_id}/clip.mp4", headers=AUTH)
                assert whole.status_code == 200 and whole.content == clip, asked.node_id
            ranged = {**AUTH, "Range": "bytes=10-19"}
            part = client.get(f"{two.url}/api/events/{alert_id}/clip.mp4", headers=ranged)
            assert part.status_code == 206 and part.content == clip[10:20]
            assert part.headers[NODE_HEADER] == "node1"

            # Forwarded once, never again: node2 asked as if by a peer has nothing to give.
            forwarded = {**AUTH, FORWARDED_HEADER: "node1"}
            again = client.get(f"{two.url}/api/events/{alert_id}/clip.mp4", headers=forwarded)
            assert again.status_code == 404
            # The token is the caller's: without it, no node serves anything.
            assert client.get(f"{two.url}/api/cameras/cam00/latest.jpg").status_code == 401


def _ok(answer: httpx.Response) -> httpx.Response | None:
    return answer if answer.status_code == 200 else None
