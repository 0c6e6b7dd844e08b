#!/usr/bin/env python3
"""Writes the seed inputs of fuzz_virtio_net (see the input format in fuzz_virtio_net.cpp) into
the directory given: valid transmit and receive traffic with and without mergeable buffers and
offloads, plus the edge cases the fuzzer should start from."""
import struct
import sys
from pathlib import Path

MRG, CSUM, GUEST_CSUM, HOST_TSO4, HOST_TSO6, GUEST_TSO4, GUEST_TSO6, EVENT_IDX, INDIRECT = (1 << i for i in range(9))
OP_TX_CHAIN, OP_RX_CHAIN, OP_HOST_SENDS, OP_KICK_TX, OP_KICK_RX, OP_EVENT, OP_GATE, OP_READ_ERR, OP_WRITE_ERR = range(9)
OP_RESET = 13


def prologue(features, rx_log2=4, tx_log2=4, mtu=1500):
    return struct.pack("<HBH", features, rx_log2 | (tx_log2 << 4), mtu)


def net_hdr(flags=0, gso_type=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0, num_buffers=0):
    return struct.pack("<BBHHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers)


def rx_chain(lengths, indirect=False):
    """A receive chain of writable buffers of the given lengths."""
    out = bytes([OP_RX_CHAIN, (len(lengths) - 1) | (0x80 if indirect else 0)])
    for length in lengths:
        out += bytes([0]) + struct.pack("<H", length)
    return out


def tx_chain(header, frame_length, split=None):
    """A transmit chain: the header in its own buffer, then the frame in pieces of `split`."""
    pieces = [frame_length] if split is None else [split] * (frame_length // split) + (
        [frame_length % split] if frame_length % split else [])
    out = bytes([OP_TX_CHAIN, len(pieces)])  # count = 1 + len(pieces)
    out += bytes([0]) + struct.pack("<H", len(header)) + header
    for piece in pieces:
        out += bytes([0]) + struct.pack("<H", piece) + bytes(range(min(piece, 64)))
    return out


def host_sends(frame_length, header=b"\0" * 12):
    return bytes([OP_HOST_SENDS]) + header + bytes([0]) + struct.pack("<H", frame_length)


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    offloads = CSUM | GUEST_CSUM | HOST_TSO4 | HOST_TSO6 | GUEST_TSO4 | GUEST_TSO6
    tcp4 = net_hdr(flags=1, gso_type=1, hdr_len=54, gso_size=1448, csum_start=34, csum_offset=16)
    seeds = {
        # One small frame each way, no offloads.
        "plain_tx_rx": prologue(0) + tx_chain(net_hdr(), 60) + bytes([OP_KICK_TX])
        + rx_chain([1600]) + bytes([OP_KICK_RX]) + host_sends(60) + bytes([OP_EVENT]),
        # Mergeable buffers: a 3000-byte frame over three 1024-byte buffers.
        "mergeable_rx": prologue(MRG | offloads | EVENT_IDX) + rx_chain([1024]) + rx_chain([1024])
        + rx_chain([1024]) + bytes([OP_KICK_RX]) + host_sends(3000, tcp4) + bytes([OP_EVENT]),
        # A TSO frame split over several descriptors, and an indirect receive chain.
        "tso_tx_indirect_rx": prologue(offloads | INDIRECT | MRG) + tx_chain(tcp4, 4000, split=1000)
        + bytes([OP_KICK_TX]) + rx_chain([12, 500, 1500], indirect=True) + bytes([OP_KICK_RX])
        + host_sends(1800) + bytes([OP_EVENT]),
        # Edge cases: buffer smaller than the header, frame bigger than the buffer, throttling,
        # backend errors, a reset with traffic in flight.
        "edges": prologue(0, rx_log2=1, tx_log2=2) + rx_chain([8]) + rx_chain([100]) + host_sends(200)
        + bytes([OP_EVENT, OP_GATE]) + tx_chain(net_hdr(flags=1, csum_start=60, csum_offset=100), 60)
        + bytes([OP_KICK_TX, OP_GATE, OP_WRITE_ERR, OP_KICK_TX, OP_READ_ERR, OP_EVENT, OP_RESET])
        + tx_chain(net_hdr(gso_type=3, gso_size=0), 60) + bytes([OP_KICK_TX]),
    }
    for name, data in seeds.items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    main()
