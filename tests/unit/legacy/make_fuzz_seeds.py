#!/usr/bin/env python3
"""Writes the seed corpora of the legacy device fuzz targets (fuzz/corpus/{uart,i8042,cmos}).

Each seed is a meaningful guest access sequence in the input format its fuzzer documents
(fuzz/<target>_fuzzer.cc): the probes and data paths Linux's drivers use, plus the edge cases
(overrun, loopback, reset, extreme clocks). Run from anywhere; it rewrites the seed files.
"""
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parents[3]
CORPUS = ROOT / "fuzz" / "corpus"


# --- UART: op = kind | offset << 2 | size_select << 6 ------------------------------------
def ur(off, size_sel=0):
    return bytes([0 | off << 2 | size_sel << 6])


def uw(off, value, size_sel=0):
    return bytes([1 | off << 2 | size_sel << 6, value])


def urx(value):
    return bytes([2, value])


def uburst(n):
    assert 1 <= n <= 64
    return bytes([3 | (n - 1) << 2])


RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR = range(8)

uart_seeds = {
    # drivers/tty/serial/8250 autoconfig(): IER probe, loopback MSR check, EFR/FIFO probes.
    "linux_8250_autoconfig": b"".join([
        ur(IER), uw(IER, 0x00), ur(IER), uw(IER, 0x0f), ur(IER), uw(IER, 0x00),
        ur(MCR), ur(LCR), uw(MCR, 0x1a), ur(MSR), uw(MCR, 0x00),
        uw(LCR, 0xbf), uw(IIR, 0x00), uw(LCR, 0x00), uw(IIR, 0x01), ur(IIR),
        uw(LCR, 0x80), ur(IIR), uw(LCR, 0xbf), ur(IIR), uw(LCR, 0x00), ur(MCR),
        uw(LCR, 0xe0), ur(IIR), uw(LCR, 0x00), uw(MCR, 0x10), uw(LCR, 0xe0), ur(IIR),
        uw(LCR, 0x00), uw(MCR, 0x00), uw(IIR, 0x21), ur(IIR), uw(IIR, 0x01),
        uw(LCR, 0x80), uw(IIR, 0x21), ur(IIR), uw(IIR, 0x01), uw(LCR, 0x00),
        ur(IER), uw(IER, 0x40), ur(IER), uw(IER, 0x00),
        uw(IIR, 0x07), uw(IIR, 0x00), ur(RBR), uw(IER, 0x00),
    ]),
    # serial8250_do_startup(): FIFO clear, THRE re-assert test, TX-enable test, open.
    "linux_8250_startup_and_tx": b"".join([
        uw(IIR, 0x07), uw(IIR, 0x00), ur(LSR), ur(RBR), ur(IIR), ur(MSR),
        uw(LCR, 0x83), uw(RBR, 0x01), uw(IER, 0x00), uw(LCR, 0x03),
        uw(MCR, 0x0b),
        ur(LSR), uw(IER, 0x02), ur(IIR), uw(IER, 0x00), uw(IER, 0x02), ur(IIR), uw(IER, 0x00),
        uw(IER, 0x02), ur(LSR), ur(IIR), uw(IER, 0x00),
        ur(LSR), ur(RBR), ur(IIR), ur(MSR),
        uw(IIR, 0xc1), uw(IER, 0x05),
        # start_tx: enable THRI, then the interrupt handler sends while THRE is reported.
        uw(IER, 0x07), ur(IIR), ur(LSR), uw(RBR, ord("o")), uw(RBR, ord("k")), uw(RBR, 0x0a),
        ur(IIR), ur(LSR), uw(IER, 0x05), ur(IIR),
    ]),
    # Host input filling the FIFO, a refused byte, and the driver draining it.
    "rx_fifo_full_and_drain": b"".join(
        [uw(IIR, 0xc7), uw(MCR, 0x0b), uw(IER, 0x05), uburst(17)]
        + [ur(IIR), ur(LSR), ur(RBR)] * 17
        + [urx(0x41), ur(IIR), ur(RBR), ur(IIR)]),
    # Without FIFOs only one byte is held.
    "rx_no_fifo": b"".join([uw(MCR, 0x08), uw(IER, 0x01), urx(1), urx(2), ur(LSR), ur(RBR), urx(2), ur(RBR)]),
    # Loopback overrun raises a line status interrupt above received data.
    "loopback_overrun": b"".join(
        [uw(IIR, 0x01), uw(MCR, 0x18), uw(IER, 0x0f)]
        + [uw(RBR, i) for i in range(18)]
        + [ur(IIR), ur(LSR), ur(IIR), ur(RBR), ur(IIR), urx(0x55), uw(MCR, 0x08), urx(0x55)]),
    # Modem status deltas in loopback, with interrupts.
    "modem_status": b"".join([
        uw(MCR, 0x18), ur(MSR), uw(IER, 0x08), uw(MCR, 0x19), ur(IIR), ur(MSR),
        uw(MCR, 0x1f), uw(MCR, 0x1b), ur(IIR), ur(MSR), uw(MCR, 0x08), ur(MSR), ur(IIR),
    ]),
    # Divisor latch, scratch, wide and out-of-range accesses.
    "dlab_scratch_wide": b"".join([
        uw(LCR, 0x80), uw(RBR, 0x0c), uw(IER, 0x00), ur(RBR), ur(IER), uw(LCR, 0x03),
        uw(SCR, 0xa5), ur(SCR), ur(SCR, 2), ur(SCR, 3), uw(RBR, 0x61, 3), ur(8), uw(9, 0x41), ur(15, 3),
    ]),
}


# --- i8042: op = write | offset << 1 | size_select << 4 ----------------------------------
def kcmd(c):
    return bytes([0x09, c])


def kdata(v):
    return bytes([0x01, v])


KST = bytes([0x08])  # status read
KRD = bytes([0x00])  # data read


def kreply(c):
    return kcmd(c) + KST + KRD


KINJECT = bytes([0xc0])  # the monitor presses Ctrl-Alt-Del


def kbd(*bytes_and_reply_counts):
    """Bytes to the keyboard, each followed by status+data reads for its reply bytes."""
    out = b""
    for value, replies in bytes_and_reply_counts:
        out += kdata(value) + (KST + KRD) * replies
    return out


def kdrain(n):
    return (KST + KRD) * n


i8042_seeds = {
    # drivers/input/serio/i8042.c probe: flush, CTR reads, self test, AUX checks, MUX check.
    "linux_i8042_probe": b"".join([
        KST, kreply(0x20), kreply(0x20), kcmd(0x60), kdata(0x74), KST, KRD,
        kreply(0xaa), KST, KRD,
        kcmd(0xd3), kdata(0x5a), KST, KRD,
        kcmd(0xa7), kreply(0x20), kcmd(0xa8), kreply(0x20),
        kcmd(0x60), kdata(0x47), kcmd(0xd3), kdata(0xa5), KST, KRD,
        kcmd(0xd3), kdata(0xf0), KST, KRD, kcmd(0xd3), kdata(0x56), KST, KRD,
        kcmd(0xd3), kdata(0xa4), KST, KRD,
        kreply(0xab), kcmd(0xae), kcmd(0x60), kdata(0x47),
        kdata(0xf2), KST, KRD, kdata(0xed), KST, KRD,
        kcmd(0xd4), kdata(0xff), KST, KRD,
    ]),
    "reset_pulse": b"".join([KST, kcmd(0xfe), kcmd(0xfe), kcmd(0xff), kcmd(0xf0)]),
    "reset_output_port": b"".join([kreply(0xd0), kcmd(0xd1), kdata(0xdf), kreply(0xd0), kcmd(0xd1), kdata(0xfe), kdata(0xfe)]),
    "controller_ram": b"".join([kcmd(0x60 + i) + kdata(i * 7 & 0xff) for i in range(32)]
                               + [kreply(0x20 + i) for i in range(32)]),
    "pending_command_cancelled": b"".join([kcmd(0xd1), kcmd(0xaa), kdata(0x00), KRD, kcmd(0x60), kcmd(0x20), KRD]),
    "irq_enables": b"".join([kcmd(0x60), kdata(0x03), kcmd(0xd2), kdata(0x1c), KST, KRD,
                             kcmd(0xd3), kdata(0x08), kcmd(0x60), kdata(0x00), KRD]),
    "other_ports_and_wide": bytes([0x02, 0x03, 0x11, 0x04, 0x05, 0x09, 0x1a, 0x28, 0x39, 0x20, 0x0e, 0x0f, 0xfe]),
    # drivers/input/keyboard/atkbd.c connect on x86 (translated): get ID, deactivate, LEDs off,
    # typematic, activate; then the monitor's Ctrl-Alt-Del.
    "linux_atkbd_connect": b"".join([
        kcmd(0xae), kbd((0xf2, 3), (0xf5, 1), (0xed, 1), (0x00, 1), (0xf3, 1), (0x00, 1), (0xf4, 1)),
        KINJECT, kdrain(8), kbd((0xed, 1), (0x02, 1)),
    ]),
    # atkbd.reset=1 i8042.direct=1: reset, get ID, LEDs, scancode set query, enable, echo.
    "atkbd_reset_direct": b"".join([
        kcmd(0x60), kdata(0x05), kbd((0xff, 2), (0xf2, 3), (0xed, 1), (0x02, 1), (0xf0, 1), (0x00, 2), (0xf4, 1),
                                     (0xee, 1), (0xe8, 1)),
        KINJECT, kdrain(11),
    ]),
    "cad_port_disabled": b"".join([kcmd(0xad), KINJECT, kdata(0xf2), KST, kreply(0x20), kcmd(0xae), kdrain(12)]),
    "kbd_overflow": b"".join([kcmd(0xad)] + [kdata(0xee)] * 20 + [KINJECT, kcmd(0xae), kdrain(17), KINJECT, KINJECT]),
    "kbd_scancode_sets": b"".join([
        kbd((0xf0, 1), (0x01, 1)), KINJECT, kdrain(8), kbd((0xf0, 1), (0x03, 1)), KINJECT, kdrain(9),
        kbd((0xf0, 1), (0x00, 2), (0xf0, 1), (0x07, 1), (0xf6, 1)), kcmd(0x60), kdata(0x01), KINJECT, kdrain(11),
    ]),
    "kbd_disabled_refuses_keys": b"".join([kbd((0xf5, 1)), KINJECT, KST, kbd((0xf4, 1)), KINJECT, kdrain(8)]),
    "kbd_parameters_like_commands": kbd((0xed, 1), (0xf4, 1), (0xf3, 1), (0xff, 1), (0xf0, 1), (0xff, 1), (0xfe, 1)),
    "kbd_polled_no_irq": b"".join([kcmd(0x60), kdata(0x44), KINJECT, kdrain(8)]),
    # Translation switched on in the middle of a set 2 sequence, and a controller reply
    # replacing an unread keyboard byte.
    "kbd_translation_midstream": b"".join([
        kcmd(0x60), kdata(0x05), KINJECT, kdrain(5), kcmd(0x60), kdata(0x45), kdrain(2), kreply(0x20), kdrain(5),
        kdata(0xf2), kcmd(0xd2), kdata(0x99), kdrain(4), bytes([0x31, 0xf2, 0x21]), kdrain(3),
    ]),
}


# --- CMOS: op = kind | offset << 2 | size_select << 4 -------------------------------------
def cidx(i):
    return bytes([0x01, i])


def cwr(v):
    return bytes([0x05, v])


CRD = bytes([0x04])


def cread(i):
    return cidx(i) + CRD


def cwrite(i, v):
    return cidx(i) + cwr(v)


def cadd(delta, scale=0):
    return bytes([2 | scale << 2, delta & 0xff])


def cset(t):
    return bytes([3]) + struct.pack("<q", t)


TIME = [0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32]

cmos_seeds = {
    # mc146818_get_time(): wait for UIP clear, read the fields, check B.
    "linux_read_time": b"".join([cread(0x0a)] + [cread(i) for i in TIME] + [cread(0x0b), cread(0x0a), cread(0x00)]),
    # hwclock --systohc style set: SET, fields, release; then let time run.
    "guest_sets_time": b"".join([
        cwrite(0x0b, 0x82), cwrite(0x00, 0x30), cwrite(0x02, 0x15), cwrite(0x04, 0x09), cwrite(0x07, 0x29),
        cwrite(0x08, 0x02), cwrite(0x09, 0x28), cwrite(0x32, 0x20), cadd(100), cread(0x00), cwrite(0x0b, 0x02),
        cadd(5), cread(0x00), cread(0x07), cread(0x06), cadd(1, 2), cread(0x07),
    ]),
    "modes_12h_binary": b"".join([cwrite(0x0b, 0x00), cread(0x04), cwrite(0x0b, 0x04), cread(0x04), cadd(-5, 1), cread(0x04),
                                  cwrite(0x0b, 0x06)] + [cread(i) for i in TIME]),
    "ram_and_nmi_bit": b"".join([cwrite(0x80 | i, i ^ 0x5a) for i in (0x0e, 0x10, 0x15, 0x34, 0x5b, 0x7f)]
                                + [cread(i) for i in (0x0e, 0x10, 0x15, 0x34, 0x5b, 0x7f, 0xff)] + [CRD, bytes([0x00])]),
    "extreme_clocks": b"".join([cset(2**63 - 1)] + [cread(i) for i in TIME] + [cset(-2**63)] + [cread(i) for i in TIME]
                               + [cwrite(0x32, 0x99), cwrite(0x09, 0x99), cset(2**62), cread(0x09)]),
    "status_c_polling": b"".join([cread(0x0c), cadd(1), cread(0x0c), cread(0x0c), cwrite(0x0b, 0x12), cadd(3), cread(0x0c),
                                  cwrite(0x0a, 0xa6), cread(0x0a), cwrite(0x0d, 0x00), cread(0x0d)]),
    "invalid_bcd_writes": b"".join([cwrite(0x0b, 0x82), cwrite(0x00, 0xff), cwrite(0x04, 0x99), cwrite(0x07, 0x00),
                                    cwrite(0x08, 0x13), cwrite(0x0b, 0x02)] + [cread(i) for i in TIME]),
    "wide_accesses": bytes([0x11, 0x00, 0x34, 0x21, 0x04, 0x3c, 0x08, 0x0d, 0x01]),
}


def write(name, seeds):
    out = CORPUS / name
    out.mkdir(parents=True, exist_ok=True)
    for seed_name, data in seeds.items():
        (out / seed_name).write_bytes(data)


if __name__ == "__main__":
    write("uart", uart_seeds)
    write("i8042", i8042_seeds)
    write("cmos", cmos_seeds)
