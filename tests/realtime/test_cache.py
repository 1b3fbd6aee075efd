"""ResultCache: bounded size (LRU), TTL, and keys over the whole image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from atalaia.detect import sample_image
from atalaia.realtime import ResultCache, image_key
from tests.realtime.conftest import png


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_size_bound_evicts_least_recently_used() -> None:
    cache: ResultCache[int] = ResultCache(3, ttl=60)
    for i in range(3):
        cache.put(bytes([i]), i)
    assert cache.get(b"\x00") == 0  # 0 is now the most recently used
    cache.put(b"\x03", 3)
    assert len(cache) == 3
    assert cache.get(b"\x01") is None, "the least recently used entry went first"
    assert [cache.get(bytes([i])) for i in (0, 2, 3)] == [0, 2, 3]
    for i in range(100):
        cache.put(i.to_bytes(4, "big"), i)
    assert len(cache) == 3


def test_entries_expire_after_ttl() -> None:
    clock = FakeClock()
    cache: ResultCache[str] = ResultCache(10, ttl=5.0, clock=clock)
    cache.put(b"a", "first")
    clock.now = 3.0
    cache.put(b"b", "second")
    assert cache.get(b"a") == "first", "a hit does not extend the entry's life"
    clock.now = 5.5
    assert cache.get(b"a") is None
    assert cache.get(b"b") == "second"
    assert len(cache) == 1
    clock.now = 8.5
    assert len(cache) == 0


def test_zero_size_caches_nothing() -> None:
    cache: ResultCache[int] = ResultCache(0, ttl=5)
    cache.put(b"a", 1)
    assert cache.get(b"a") is None and len(cache) == 0


def test_images_with_the_same_first_1000_bytes_do_not_collide() -> None:
    """The note hashed only the start; real frames of one camera share far more than that."""
    head = bytes(range(256)) * 4
    one, two = head + b"frame one", head + b"frame two"
    assert one[:1000] == two[:1000]
    assert image_key(one) != image_key(two)
    cache: ResultCache[str] = ResultCache(10, ttl=60)
    cache.put(image_key(one), "one")
    assert cache.get(image_key(two)) is None
    cache.put(image_key(two), "two")
    assert cache.get(image_key(one)) == "one" and cache.get(image_key(two)) == "two"


def test_real_frames_differing_only_at_the_end_get_different_keys() -> None:
    image = cv2.imread(str(sample_image()))
    changed = image.copy()
    changed[-1, -1] = 255 - changed[-1, -1]  # the last pixel only
    first, second = png(image), png(changed)
    shared = next(i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b)
    assert shared > 1000, "the two PNGs share a long prefix"
    assert image_key(first) != image_key(second)
    assert image_key(first) == image_key(bytes(first)), "the key depends on bytes only"


@pytest.mark.parametrize(("size", "ttl"), [(-1, 1.0), (1, 0.0)])
def test_bad_settings_are_refused(size: int, ttl: float) -> None:
    with pytest.raises(ValueError):
        ResultCache(size, ttl)


def test_key_is_short_and_stable() -> None:
    data = np.arange(5000, dtype=np.uint8).tobytes()
    assert len(image_key(data)) == 16 and image_key(data) == image_key(data)
