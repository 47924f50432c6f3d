#!/usr/bin/env python3
"""Writes the seed corpora of the pci_config, msix_table and virtio_pci_common_cfg fuzz
targets (formats: see the comment at the top of each fuzz/<target>_fuzzer.cc)."""
import os
import struct
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
WIDTH = {1: 0, 2: 1, 4: 2, 8: 4}


def write(target, name, data):
    path = os.path.join(ROOT, "fuzz", "corpus", target, name)
    with open(path, "wb") as f:
        f.write(bytes(data))


# ---- pci_config -------------------------------------------------------------------------
def port_read(port, width):
    return [0 | (port - 0xCF8) << 2 | WIDTH[width] << 5]


def port_write(port, width, value):
    return [1 | (port - 0xCF8) << 2 | WIDTH[width] << 5] + list(struct.pack("<I", value & 0xFFFFFFFF))


def cfg_addr(dev, reg):
    return 0x80000000 | dev << 11 | (reg & 0xFC)


def cfg_read(dev, reg, width):
    return port_write(0xCF8, 4, cfg_addr(dev, reg)) + port_read(0xCFC + (reg & 3), width)


def cfg_write(dev, reg, width, value):
    return port_write(0xCF8, 4, cfg_addr(dev, reg)) + port_write(0xCFC + (reg & 3), width, value)


def mmio(offset, width, value=None):
    if value is None:
        return [2 | WIDTH[width] << 5] + list(struct.pack("<I", offset))
    return [3 | WIDTH[width] << 5] + list(struct.pack("<I", offset)) + list(struct.pack("<Q", value))


def pci_config_seeds():
    probe = port_write(0xCFB, 1, 1) + port_read(0xCF8, 4) + port_write(0xCF8, 4, 0x80000000)
    probe += port_read(0xCF8, 4) + cfg_read(0, 0x0A, 2)
    write("pci_config", "linux_type1_probe", probe)
    enumerate_bus = []
    for dev in range(4):
        enumerate_bus += cfg_read(dev, 0x00, 4) + cfg_read(dev, 0x0E, 1)
    write("pci_config", "enumerate", enumerate_bus)
    sizing = []
    for bar in range(6):
        reg = 0x10 + 4 * bar
        sizing += cfg_read(1, reg, 4) + cfg_write(1, reg, 4, 0xFFFFFFFF) + cfg_read(1, reg, 4)
        sizing += cfg_write(1, reg, 4, 0xC0000000 + 0x8000 * bar)
    write("pci_config", "bar_sizing", sizing)
    caps = cfg_read(1, 0x06, 2) + cfg_read(1, 0x34, 1) + cfg_read(1, 0x40, 2) + cfg_write(1, 0x42, 2, 0xC000)
    caps += cfg_write(1, 0x44, 1, 0xAB) + cfg_read(1, 0x40, 4) + cfg_read(1, 0x44, 4)
    write("pci_config", "capabilities", caps)
    decode = mmio(0x10, 4) + cfg_write(1, 0x04, 2, 0x0006) + mmio(0x10, 4) + mmio(0x7FFE, 4)
    decode += mmio(0x8000, 8, 0x1122334455667788) + cfg_write(1, 0x10, 4, 0xC0010000) + mmio(0x10000, 2)
    write("pci_config", "memory_decode", decode)
    odd = port_write(0xCF9, 2, 0xFFFF) + port_read(0xCFA, 4) + port_write(0xCF8, 4, 0xFFFFFFFF)
    odd += port_read(0xCFE, 4) + port_read(0xCFD, 2) + port_write(0xCF8, 4, cfg_addr(0, 0) | 1 << 16)
    odd += port_read(0xCFC, 4)
    write("pci_config", "odd_accesses", odd)


# ---- msix_table -------------------------------------------------------------------------
MSIX_WIDTH = {1: 0, 2: 1, 4: 2, 8: 3, 3: 6, 16: 7}


def t_write(offset, width, value):
    return [1 | MSIX_WIDTH[width] << 3] + list(struct.pack("<H", offset)) + list(value.to_bytes(width, "little"))


def t_read(offset, width):
    return [0 | MSIX_WIDTH[width] << 3] + list(struct.pack("<H", offset))


def control(value):
    return [4] + list(struct.pack("<H", value))


def msix_seeds():
    linux = [3] + control(0xC000)
    for v in range(4):
        linux += t_write(16 * v, 4, 0xFEE00000) + t_write(16 * v + 4, 4, 0) + t_write(16 * v + 8, 4, 0x40 + v)
        linux += t_write(16 * v + 12, 4, 0)
    linux += control(0x8000) + [5, 0, 5, 3] + [6, 0]
    write("msix_table", "linux_setup", linux)
    pending = [1] + control(0x8000) + t_write(0, 8, 0x00000000FEE01000) + [5, 0] + [2, 0, 0]
    pending += t_write(12, 4, 0) + [6, 0] + [2, 0, 0] + [5, 0] + [7]
    write("msix_table", "pending_unmask", pending)
    bad = [0] + t_write(2, 4, 1) + t_write(16, 4, 1) + t_write(12, 2, 0) + t_write(4, 8, 7)
    bad += t_read(15, 3) + t_read(0xFFFF, 16) + [3, 0, 0, 1] + [5, 200] + [6, 200]
    write("msix_table", "bad_accesses", bad)


# ---- virtio_pci_common_cfg ---------------------------------------------------------------
VWIDTH = {1: 0, 2: 1, 4: 2, 8: 3, 3: 7}


def bar_write(offset, width, value):
    return [2 | VWIDTH[width] << 3] + list(struct.pack("<H", offset)) + list(value.to_bytes(width, "little"))


def bar_read(offset, width):
    return [0 | VWIDTH[width] << 3] + list(struct.pack("<H", offset))


def status(value):
    return [7, value]


def config_write(offset, width, value):
    return [5 | VWIDTH[width] << 3, offset] + list(value.to_bytes(4, "little"))


MSIX_CONTROL = 0x9A  # the MSI-X capability sits after common, notify, ISR, device and PCI_CFG


def linux_bring_up(queues, vectors=True):
    seq = status(1) + status(3)
    seq += bar_write(0x00, 4, 0) + bar_read(0x04, 4) + bar_write(0x00, 4, 1) + bar_read(0x04, 4)
    seq += bar_write(0x08, 4, 0) + bar_write(0x0C, 4, 1 << 9) + bar_write(0x08, 4, 1) + bar_write(0x0C, 4, 1)
    seq += status(0x0B) + bar_read(0x14, 1)
    if vectors:
        seq += config_write(MSIX_CONTROL, 2, 0xC000)
        for v in range(queues + 1):
            seq += bar_write(0x4000 + 16 * v, 4, 0xFEE00000) + bar_write(0x4000 + 16 * v + 8, 4, 0x40 + v)
            seq += bar_write(0x4000 + 16 * v + 12, 4, 0)
        seq += config_write(MSIX_CONTROL, 2, 0x8000) + bar_write(0x10, 2, 0) + bar_read(0x10, 2)
    for q in range(queues):
        seq += bar_write(0x16, 2, q) + bar_read(0x18, 2) + bar_write(0x18, 2, 128)
        seq += bar_write(0x1A, 2, q + 1 if vectors else 0xFFFF) + bar_read(0x1A, 2)
        seq += bar_write(0x20, 8, 0x100000 + q * 0x10000) + bar_write(0x28, 4, 0x104000 + q * 0x10000)
        seq += bar_write(0x2C, 4, 0) + bar_write(0x30, 8, 0x108000 + q * 0x10000) + bar_write(0x1C, 2, 1)
    seq += status(0x0F)
    return seq


def virtio_seeds():
    write("virtio_pci_common_cfg", "linux_bring_up", [1] + linux_bring_up(2))
    seq = [0] + linux_bring_up(1, vectors=False) + bar_write(0x3000, 2, 0) + bar_read(0x1000, 1)
    seq += status(0) + linux_bring_up(1)
    write("virtio_pci_common_cfg", "intx_then_reset", seq)
    seq = [4] + linux_bring_up(1) + bar_read(0x1000, 1) + bar_read(0x14, 1) + status(0)
    write("virtio_pci_common_cfg", "activation_fails", seq)
    seq = [0] + linux_bring_up(1) + bar_write(0x4010 + 12, 4, 1) + bar_write(0x4010 + 8, 4, 0x77)
    seq += bar_write(0x4010 + 12, 4, 0) + config_write(MSIX_CONTROL, 2, 0xC000) + config_write(MSIX_CONTROL, 2, 0)
    seq += [6] + bar_read(0x14, 1) + bar_read(0x6000, 8) + status(0)
    write("virtio_pci_common_cfg", "mask_and_fail", seq)
    seq = [3] + bar_write(0x16, 2, 9) + bar_write(0x18, 2, 100) + bar_write(0x1A, 2, 99)
    seq += bar_write(0x12, 2, 5) + bar_write(0x15, 1, 1) + status(4) + status(3) + status(1)
    seq += bar_write(0x2000, 4, 1) + bar_read(0x20FE, 4) + bar_read(0x7FFC, 4)
    seq += config_write(0x84 + 4, 1, 0) + config_write(0x84 + 8, 4, 0x14) + config_write(0x84 + 12, 4, 1)
    seq += config_write(0x84 + 16, 1, 3) + config_write(0x84 + 8, 4, 0x7FFF) + config_write(0x84 + 16, 4, 0)
    write("virtio_pci_common_cfg", "rule_breaking", seq)


def main():
    pci_config_seeds()
    msix_seeds()
    virtio_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
