from atalaia.events.types import AlertEvent, AlertState


def state(**kw: object) -> AlertState:
    base: dict[str, object] = dict(
        id="a1",
        camera="gate",
        label="person",
        rule="r",
        rule_type="loitering",
        zone="dock",
        score=0.8,
        top_score=0.9,
        box=(1.0, 2.0, 3.0, 4.0),
        track_id=7,
        start_time=100.0,
    )
    base.update(kw)
    return AlertState(**base)  # type: ignore[arg-type]


def test_payload_round_trip_keeps_ids_and_shape() -> None:
    before = state()
    event = AlertEvent("end", after=before.evolve(end_time=130.0), before=before, created_at=131.0)
    payload = event.to_payload()
    assert payload["type"] == "end" and payload["before"]["end_time"] is None
    assert payload["after"]["end_time"] == 130.0 and payload["after"]["box"] == [1.0, 2.0, 3.0, 4.0]
    assert AlertEvent.from_payload(payload) == event


def test_new_event_has_after_as_before_and_unique_ids() -> None:
    a, b = AlertEvent("new", after=state()), AlertEvent("new", after=state())
    assert a.id != b.id and len(a.id) == 32
    assert a.to_payload()["before"] == a.to_payload()["after"] and not a.after.end_time
    assert a.after.active and a.camera == "gate"
