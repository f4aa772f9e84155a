from __future__ import annotations

from bot.throttle import UserThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_request_in_flight_per_user_then_a_cool_down() -> None:
    clock = FakeClock()
    throttle = UserThrottle(cooldown_s=3.0, clock=clock)
    with throttle.claim(1) as first:
        assert first
        with throttle.claim(1) as second:
            assert not second
        with throttle.claim(2) as other_user:
            assert other_user
    with throttle.claim(1) as during_cool_down:
        assert not during_cool_down
    clock.now += 3.0
    with throttle.claim(1) as after_cool_down:
        assert after_cool_down


def test_the_slot_is_released_when_the_request_fails() -> None:
    throttle = UserThrottle(cooldown_s=0.0)
    try:
        with throttle.claim(1):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with throttle.claim(1) as again:
        assert again


def test_users_are_forgotten_after_their_cool_down() -> None:
    clock = FakeClock()
    throttle = UserThrottle(cooldown_s=1.0, clock=clock)
    for user in range(100):
        with throttle.claim(user):
            pass
    clock.now += 2.0
    with throttle.claim(1000):
        pass
    assert list(throttle._finished_at) == [1000]
