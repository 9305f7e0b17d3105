from runtime import PENDING, Future, Ready


def test_ready_carries_its_value():
    assert Ready(3).value == 3


def test_pending_is_a_singleton():
    assert type(PENDING)() is PENDING


def test_future_subclass_needs_no_super_init():
    class Answer(Future):
        def poll(self, waker):
            return Ready(42)

    assert Answer().poll(None).value == 42
    assert Answer().close() is None
