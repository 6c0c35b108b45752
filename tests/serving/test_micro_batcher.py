import threading

from tailsynth.serving.micro_batcher import MicroBatcher


def test_concurrent_calls_are_merged_and_grouped_by_key():
    calls = []

    def fn(items):
        calls.append(list(items))
        return [i * 10 for i in items]

    batcher = MicroBatcher(fn, max_batch=8, wait_s=0.2, key=lambda i: i % 2)
    results = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, batcher(i))) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: i * 10 for i in range(6)}
    assert all(len({i % 2 for i in call}) == 1 for call in calls)
    assert len(calls) < 6


def test_errors_reach_every_caller():
    batcher = MicroBatcher(lambda items: 1 / 0, wait_s=0.01)
    try:
        batcher(1)
    except ZeroDivisionError:
        return
    raise AssertionError("error was swallowed")
