"""Following real files: every byte once, in order, with true Offsets and exactly one frame per event.

Each test runs on the default asyncio loop and on uvloop, with a real watcher
(inotify, and polling where the test says so).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from outrider.stream import MAX_PENDING
from tests.frames import frame_data, split_frames, split_like_web_ui
from tests.stream.conftest import Runner, Wake, append, has_data, has_event, make_follower, pump, started


def test_appends_arrive_once_in_order_with_end_offsets(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        append(log, b"first\n")
        f, wake = make_follower(service, log), Wake()
        f.bind(wake)
        body = await pump(f, wake, has_data(6))
        assert body == b'{"Data":"Zmlyc3QK","File":"web.stdout.0","Offset":6}'
        for i in range(20):
            line = b"line %d\n" % i
            append(log, line)
            body += await pump(f, wake, has_data(len(line)))
        frames = split_frames(body)
        assert frame_data(frames) == log.read_bytes()
        assert frames == split_like_web_ui(body)
        ends, total = [], 0
        for frame in frames:
            total += len(frame_data([frame]))
            ends.append(total)
        assert [fr["Offset"] for fr in frames] == ends
        f.close()
        await service.stop()

    run(main)


def test_not_following_stops_at_eof(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        data = os.urandom(300_000)
        append(log, data)
        f, wake = make_follower(service, log, follow=False), Wake()
        f.bind(wake)
        body = await pump(f, wake, lambda _: False)
        assert f.done and not [fr for fr in split_frames(body) if "FileEvent" in fr]
        assert frame_data(split_frames(body)) == data
        assert split_frames(body)[-1]["Offset"] == len(data)  # not Nomad's 327680 (a partial last frame)
        f.close()
        empty = log.with_name("empty")
        empty.write_bytes(b"")
        g = make_follower(service, empty, follow=False)
        g.bind(wake)
        assert g.produce() == b"" and g.done
        g.close()
        await service.stop()

    run(main)


def test_truncate_to_empty_sends_one_event_frame(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        append(log, b"before")
        f, wake = make_follower(service, log), Wake()
        f.bind(wake)
        await pump(f, wake, has_data(6))
        os.truncate(log, 0)
        body = await pump(f, wake, has_event("file truncated"))
        assert body == b'{"File":"web.stdout.0","FileEvent":"file truncated"}'
        append(log, b"after")
        body = await pump(f, wake, has_data(5))
        # No repeat of the event (Nomad may send it twice), offsets count from 0 again.
        assert body == b'{"Data":"YWZ0ZXI=","File":"web.stdout.0","Offset":5}'
        f.close()
        await service.stop()

    run(main)


def test_truncate_then_regrow_restarts_from_zero(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        append(log, b"0123456789")
        f, wake = make_follower(service, log), Wake()
        f.bind(wake)
        await pump(f, wake, has_data(10))
        os.truncate(log, 0)
        append(log, b"abc")  # shorter than what was read: caught on the next wake-up
        body = await pump(f, wake, has_data(3))
        assert split_frames(body) == [
            {"Data": "YWJj", "File": "web.stdout.0", "FileEvent": "file truncated", "Offset": 3}
        ]
        f.close()
        await service.stop()

    run(main)


@pytest.mark.parametrize("mode", ["inotify", "poll"])
def test_replaced_file_is_drained_then_followed_from_zero(run: Runner[Any], log: Path, mode: str) -> None:
    async def main() -> None:
        service = await started(mode)
        append(log, b"old-1 ")
        f, wake = make_follower(service, log), Wake()
        f.bind(wake)
        await pump(f, wake, has_data(6))
        # The writer rotates: a last write to the old file, then a new file takes the name.
        with open(log, "ab") as old:
            old.write(b"old-2")
            fresh = log.with_name("fresh")
            fresh.write_bytes(b"new")
            os.rename(fresh, log)
        body = await pump(f, wake, has_data(8))
        assert split_frames(body) == [
            {"Data": "b2xkLTI=", "File": "web.stdout.0", "Offset": 11},
            {"Data": "bmV3", "File": "web.stdout.0", "FileEvent": "file truncated", "Offset": 3},
        ]
        append(log, b"+")
        assert split_frames(await pump(f, wake, has_data(1))) == [
            {"Data": "Kw==", "File": "web.stdout.0", "Offset": 4}
        ]
        f.close()
        await service.stop()

    run(main)


@pytest.mark.parametrize("mode", ["inotify", "poll"])
def test_deleted_file_is_drained_then_ends_with_one_event(run: Runner[Any], log: Path, mode: str) -> None:
    async def main() -> None:
        service = await started(mode)
        append(log, b"abc")
        f, wake = make_follower(service, log), Wake()
        f.bind(wake)
        await pump(f, wake, has_data(3))
        with open(log, "ab") as w:
            w.write(b"de")
            os.unlink(log)
        body = await pump(f, wake, lambda _: False)
        assert split_frames(body) == [
            {"Data": "ZGU=", "File": "web.stdout.0", "Offset": 5},
            {"File": "web.stdout.0", "FileEvent": "file deleted", "Offset": 5},
        ]
        assert f.done and f.produce() == b""
        f.close()
        await service.stop()

    run(main)


def test_a_replacement_with_nothing_left_in_the_old_file_is_read_at_once(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        append(log, b"old")
        f, wake = make_follower(service, log), Wake()
        f.bind(wake)
        await pump(f, wake, has_data(3))
        fresh = log.with_name("fresh")
        fresh.write_bytes(b"new")
        os.rename(fresh, log)  # and the new file is not written to again
        body = await pump(f, wake, has_data(3))
        assert split_frames(body) == [
            {"Data": "bmV3", "File": "web.stdout.0", "FileEvent": "file truncated", "Offset": 3}
        ]
        f.close()
        await service.stop()

    run(main)


@pytest.mark.parametrize("mode", ["inotify", "poll"])
def test_a_path_recreated_within_the_grace_period_is_followed(run: Runner[Any], log: Path, mode: str) -> None:
    async def main() -> None:
        service = await started(mode)
        append(log, b"one\n")
        f, wake = make_follower(service, log, reappear_grace=5.0), Wake()
        f.bind(wake)
        await pump(f, wake, has_data(4))
        with open(log, "ab") as writer:
            os.rename(log, log.with_name("web.stdout.0.1"))
            await asyncio.sleep(0.2)  # the follower sees the path gone and waits
            assert f.produce() == b"" and not f.done
            writer.write(b"late\n")  # the old file is still read meanwhile
            writer.flush()
            body = await pump(f, wake, has_data(5))
            log.write_bytes(b"two\n")
        body += await pump(f, wake, has_event("file truncated"))
        assert split_frames(body) == [
            {"Data": "bGF0ZQo=", "File": "web.stdout.0", "Offset": 9},
            {"Data": "dHdvCg==", "File": "web.stdout.0", "FileEvent": "file truncated", "Offset": 4},
        ]
        assert service.watcher.stats()["subscribers"] == 1  # the directory watch is gone
        f.close()
        await service.stop()

    run(main)


def test_a_file_renamed_away_and_back_goes_on_without_an_event(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        append(log, b"one\n")
        f, wake = make_follower(service, log, reappear_grace=5.0), Wake()
        f.bind(wake)
        await pump(f, wake, has_data(4))
        aside = log.with_name("aside")
        os.rename(log, aside)
        await asyncio.sleep(0.1)
        assert f.produce() == b""
        os.rename(aside, log)
        await wake.wait()
        assert f.produce() == b""  # the same file again: nothing to report
        append(log, b"two\n")
        body = await pump(f, wake, has_data(4))
        assert split_frames(body) == [{"Data": "dHdvCg==", "File": "web.stdout.0", "Offset": 8}]
        f.close()
        await service.stop()

    run(main)


def test_a_path_missing_past_the_grace_period_is_deleted(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        append(log, b"abc")
        f, wake = make_follower(service, log, reappear_grace=0.3), Wake()
        f.bind(wake)
        await pump(f, wake, has_data(3))
        loop = asyncio.get_running_loop()
        os.unlink(log)
        began = loop.time()
        body = await pump(f, wake, lambda _: False)
        # libuv keeps timers in whole milliseconds, so uvloop may fire one a fraction of a
        # millisecond before loop.time() reaches its deadline.
        assert loop.time() - began >= 0.3 - 0.002
        assert split_frames(body) == [{"File": "web.stdout.0", "FileEvent": "file deleted", "Offset": 3}]
        assert f.done
        log.write_bytes(b"too late")
        assert f.produce() == b""
        f.close()
        assert service.watcher.stats()["subscribers"] == 0
        await service.stop()

    run(main)


def test_offset_past_eof_waits_for_data(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        append(log, b"abc")
        f, wake = make_follower(service, log, offset=5), Wake()
        f.bind(wake)
        assert f.produce() == b""
        append(log, b"de")  # reaches offset 5, nothing to send yet
        await wake.wait()
        assert f.produce() == b""
        append(log, b"fg")
        body = await pump(f, wake, has_data(2))
        assert split_frames(body) == [{"Data": "Zmc=", "File": "web.stdout.0", "Offset": 7}]
        f.close()
        await service.stop()

    run(main)


def test_plain_mode_sends_raw_bytes_and_no_events(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        append(log, b"raw\n")
        f, wake = make_follower(service, log, plain=True), Wake()
        f.bind(wake)
        assert await pump(f, wake, lambda b: len(b) >= 4) == b"raw\n"
        os.truncate(log, 0)
        append(log, b"x")
        assert await pump(f, wake, lambda b: len(b) >= 1) == b"x"
        os.unlink(log)
        assert await pump(f, wake, lambda _: False) == b""
        assert f.done  # a followed file ends only when it is deleted
        f.close()
        await service.stop()

    run(main)


def test_finish_at_eof_drains_then_stops(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        append(log, b"rest")
        f, wake = make_follower(service, log), Wake()
        f.bind(wake)
        f.finish_at_eof()
        body = await pump(f, wake, lambda _: False)
        frames = split_frames(body)
        assert frame_data(frames) == b"rest" and f.done and not [fr for fr in frames if "FileEvent" in fr]
        f.close()
        await service.stop()

    run(main)


# -- fan-out ---------------------------------------------------------------------------------------


def test_caught_up_followers_share_one_read_and_one_encode(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        append(log, b"start\n")
        pairs = [(make_follower(service, log), Wake()) for _ in range(3)]
        for f, wake in pairs:
            f.bind(wake)
        for f, wake in pairs:
            await pump(f, wake, has_data(6))
        assert service.stats()["sharing_followers"] == 3
        append(log, b"shared line\n")
        for _, wake in pairs:
            await wake.wait()
        outputs = [f.produce() for f, _ in pairs]
        assert outputs[0] == b'{"Data":"c2hhcmVkIGxpbmUK","File":"web.stdout.0","Offset":18}'
        assert outputs[1] is outputs[0] and outputs[2] is outputs[0]
        for f, _ in pairs:
            f.close()
        assert service.stats()["hubs"] == 0
        await service.stop()

    run(main)


def test_a_follower_behind_reads_alone_then_joins(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        append(log, b"x" * 1000)
        ahead, wa = make_follower(service, log, offset=1000), Wake()
        behind, wb = make_follower(service, log, offset=0), Wake()
        ahead.bind(wa)
        behind.bind(wb)
        assert ahead.produce() == b""
        append(log, b"y" * 10)
        await wa.wait()
        a = ahead.produce()
        b = await pump(behind, wb, has_data(1010))
        assert frame_data(split_frames(a)) == b"y" * 10
        assert frame_data(split_frames(b)) == b"x" * 1000 + b"y" * 10
        append(log, b"z")
        await wa.wait()
        await wb.wait()
        assert ahead.produce() is behind.produce()  # caught up now: shared
        ahead.close()
        behind.close()
        await service.stop()

    run(main)


def test_a_slow_follower_holds_a_bounded_amount_and_loses_nothing(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        fast, wf = make_follower(service, log), Wake()
        slow, ws = make_follower(service, log), Wake()
        fast.bind(wf)
        slow.bind(ws)
        assert fast.produce() == b"" and slow.produce() == b""
        data = os.urandom(4 * MAX_PENDING)
        step = 64 * 1024
        for i in range(0, len(data), step):
            append(log, data[i : i + step])
            await pump(fast, wf, has_data(step))  # the slow client sends nothing meanwhile
        # What the slow follower holds only grows until it is asked for output, so its size
        # now bounds what it held at every step above.
        held = slow.produce()
        assert len(held) <= MAX_PENDING
        rest = await pump(slow, ws, has_data(len(data) - len(frame_data(split_frames(held)))))
        assert frame_data(split_frames(held + rest)) == data
        fast.close()
        slow.close()
        await service.stop()

    run(main)


def test_a_truncation_one_follower_saw_restarts_the_others(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        append(log, b"0123456789")
        a, wa = make_follower(service, log), Wake()
        b, wb = make_follower(service, log), Wake()
        a.bind(wa)
        b.bind(wb)
        await pump(a, wa, has_data(10))
        await pump(b, wb, has_data(10))
        os.truncate(log, 0)
        await wa.wait()
        await wb.wait()
        assert split_frames(a.produce()) == [{"File": "web.stdout.0", "FileEvent": "file truncated"}]
        # Regrown past b's offset before b looked: alone, b could not tell it was ever truncated.
        append(log, b"abcdefghijkl")
        body = await pump(b, wb, has_data(12))
        assert split_frames(body)[0]["FileEvent"] == "file truncated"
        assert frame_data(split_frames(body)) == b"abcdefghijkl"
        a.close()
        b.close()
        await service.stop()

    run(main)


def test_a_follower_that_took_shared_reads_sees_a_rewrite_itself(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        append(log, b"start\n")
        a, wa = make_follower(service, log), Wake()
        b, wb = make_follower(service, log), Wake()
        a.bind(wa)
        b.bind(wb)
        await pump(a, wa, has_data(6))
        await pump(b, wb, has_data(6))
        append(log, b"shared line\n")
        await wa.wait()
        await wb.wait()
        assert a.produce() is b.produce()  # b skipped the read
        # Truncated and written past the offset again before either looks; b checks first.
        with open(log, "r+b") as f:
            f.truncate(0)
            f.write(b"R" * 40)
        await wb.wait()
        await wa.wait()
        for follower, wake in ((b, wb), (a, wa)):
            body = await pump(follower, wake, has_data(40))
            assert split_frames(body)[0]["FileEvent"] == "file truncated"
            assert frame_data(split_frames(body)) == b"R" * 40
        a.close()
        b.close()
        await service.stop()

    run(main)


def test_close_releases_file_watch_and_hub(run: Runner[Any], log: Path) -> None:
    async def main() -> None:
        service = await started()
        followers = [make_follower(service, log) for _ in range(5)]
        for f in followers:
            f.bind(Wake())
        assert service.stats()["subscribers"] == 5
        # Five readers of one file: one descriptor for the file, one for its directory.
        assert (service.stats()["descriptors"], service.stats()["descriptor_uses"]) == (2, 10)
        for f in followers:
            f.close()
            f.close()
        assert service.stats() == {
            "streams": 0,
            "hubs": 0,
            "sharing_followers": 0,
            "mode": "inotify",
            "poll_interval": 0.05,
            "inotify_watches": 0,
            "polled": 0,
            "subscribers": 0,
            "descriptors": 0,
            "descriptor_uses": 0,
        }
        await service.stop()
        await asyncio.sleep(0)

    run(main)
