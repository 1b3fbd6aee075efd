from atalaia.supervisor.policy import RestartPolicy


def test_allows_max_restarts_within_window_then_refuses() -> None:
    policy = RestartPolicy(max_restarts=3, restart_window=60)
    assert [policy.allow(t) for t in (0, 1, 2)] == [True, True, True]
    assert policy.allow(3) is False
    assert policy.recent(3) == 3


def test_window_slides() -> None:
    policy = RestartPolicy(max_restarts=2, restart_window=10)
    assert policy.allow(0) and policy.allow(5)
    assert not policy.allow(9)
    assert policy.allow(10.5)  # the restart at 0 left the window
    assert policy.recent(10.5) == 2


def test_zero_restarts_means_never() -> None:
    assert RestartPolicy(max_restarts=0, restart_window=10).allow(0) is False


def test_backoff_grows_and_is_capped() -> None:
    policy = RestartPolicy(max_restarts=100, restart_window=1000)
    assert policy.backoff(0) == 0.0
    delays = []
    for t in range(8):
        policy.allow(t)
        delays.append(policy.backoff(t, base=0.5, cap=4.0))
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0] and max(delays) == 4.0
