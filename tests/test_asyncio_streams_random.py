"""Random sequences against a StreamReader/StreamWriter pair on a socketpair, in every receive
mode and across their switches (readiness, multishot, single-shot): the peer sends, pauses,
shuts down; the reader reads with random sizes, cancels reads, the writer writes and drains.
Every byte sent is read once, in order; every byte written arrives; at the end no request is
in flight, no fd is left open and the loop watches nothing of ours."""
import asyncio
import random
import socket

from ioring import _ring
from ioring.asyncio import AsyncRing

from helpers import open_fds, until


async def _scenario(seed):
    rnd = random.Random(seed)
    old_at_once = _ring._set_at_once(rnd.choice([0.0, 10e-6, 1.0]))
    try:
        async with AsyncRing() as ring:
            a, b = socket.socketpair()
            b.setblocking(False)
            reader, writer = await ring.open_connection(sock=a)
            if rnd.random() < 0.3:
                reader._ms._idle_multishot()
            sent, got = bytearray(), bytearray()
            written, echoed = bytearray(), bytearray()
            pending = None
            for step in range(rnd.randrange(20, 80)):
                action = rnd.random()
                if action < 0.35:
                    chunk = bytes(rnd.randrange(256) for _ in range(rnd.choice([1, 7, 100, 5000])))
                    try:
                        b.send(chunk)
                        sent += chunk
                    except BlockingIOError:
                        pass
                elif action < 0.6:
                    if pending is None:
                        pending = asyncio.ensure_future(reader.read(rnd.choice([1, 3, 64, 4096, 65536])))
                    await asyncio.sleep(0 if rnd.random() < 0.7 else 0.002)
                    if pending.done():
                        got += pending.result()
                        pending = None
                elif action < 0.68:
                    if pending is not None:
                        pending.cancel()
                        try:
                            got += await pending    # it had its bytes already: kept
                        except asyncio.CancelledError:
                            pass
                        pending = None
                elif action < 0.85:
                    data = bytes([step & 0xFF]) * rnd.choice([1, 10, 3000])
                    writer.write(data)
                    written += data
                    if rnd.random() < 0.5:
                        await writer.drain()
                else:
                    await asyncio.sleep(rnd.choice([0, 0.001]))
                try:
                    while True:
                        echoed += b.recv(1 << 16)
                except BlockingIOError:
                    pass
            b.shutdown(socket.SHUT_WR)                  # a read still waiting gets the rest or b""
            if pending is not None:
                got += await asyncio.wait_for(pending, 5)
            while True:
                data = await asyncio.wait_for(reader.read(rnd.choice([5, 65536])), 5)
                if not data:
                    break
                got += data
            assert bytes(got) == bytes(sent)
            await writer.drain()
            writer.close()
            await writer.wait_closed()
            b.setblocking(True)
            b.settimeout(5)
            while chunk := b.recv(1 << 16):
                echoed += chunk
            assert bytes(echoed) == bytes(written)
            b.close()
            assert not reader._ms._watched
            await until(lambda: ring.in_flight == 0)
    finally:
        _ring._set_at_once(old_at_once)


def test_random_sequences_keep_every_byte(arun):
    async def main():
        fds = open_fds()
        for seed in range(40):
            await _scenario(seed)
        assert open_fds() == fds
    arun(main())
