/* Modern virtio-pci transport and polled split virtqueues (see virtio_pci.h). */
#include "virtio/virtio_pci.h"

enum {
  kCapCommon = 1,
  kCapNotify = 2,
  kCapIsr = 3,
  kCapDevice = 4,
  /* virtio_pci_cap field offsets */
  kCapCfgType = 3,
  kCapBar = 4,
  kCapOffset = 8,
  kCapLength = 12,
  kCapNotifyMultiplier = 16,
};

/* Resolves a vendor capability's (bar, offset, length) to an MMIO address. */
static uint64_t capability_address(struct virtio_dev* dev, uint8_t cap, uint32_t* length) {
  uint8_t bar = pci_read8(&dev->pci, (uint8_t)(cap + kCapBar));
  uint32_t offset = pci_read32(&dev->pci, (uint8_t)(cap + kCapOffset));
  uint32_t len = pci_read32(&dev->pci, (uint8_t)(cap + kCapLength));
  uint64_t bar_size = 0;
  uint64_t base = pci_memory_bar(&dev->pci, bar, &bar_size);
  if (base == 0) return 0;
  if ((uint64_t)offset + len > bar_size) {
    guest_printf("%s: capability at 0x%x: offset 0x%x + length 0x%x beyond BAR%u size 0x%lx\n",
                 dev->name, cap, offset, len, bar, bar_size);
    return 0;
  }
  if (length != NULL) *length = len;
  return base + offset;
}

static bool walk_capabilities(struct virtio_dev* dev) {
  if ((pci_read16(&dev->pci, PCI_STATUS) & PCI_STATUS_CAP_LIST) == 0) {
    guest_printf("%s: no capability list\n", dev->name);
    return false;
  }
  uint8_t cap = pci_read8(&dev->pci, PCI_CAP_POINTER) & 0xfc;
  /* 48 is more than fit in 256 bytes of config space: stops a looping list. */
  for (int hops = 0; cap != 0 && hops < 48; ++hops) {
    uint8_t id = pci_read8(&dev->pci, cap);
    if (id == PCI_CAP_ID_VENDOR) {
      uint8_t type = pci_read8(&dev->pci, (uint8_t)(cap + kCapCfgType));
      /* The first capability of each type is the preferred one. */
      if (type == kCapCommon && dev->common == 0) {
        dev->common = capability_address(dev, cap, NULL);
      } else if (type == kCapNotify && dev->notify == 0) {
        dev->notify = capability_address(dev, cap, NULL);
        dev->notify_multiplier = pci_read32(&dev->pci, (uint8_t)(cap + kCapNotifyMultiplier));
      } else if (type == kCapIsr && dev->isr == 0) {
        dev->isr = capability_address(dev, cap, NULL);
      } else if (type == kCapDevice && dev->device_cfg == 0) {
        dev->device_cfg = capability_address(dev, cap, &dev->device_cfg_len);
      }
    } else if (id == PCI_CAP_ID_MSIX && dev->msix_table == 0) {
      uint16_t control = pci_read16(&dev->pci, (uint8_t)(cap + 2));
      uint32_t table = pci_read32(&dev->pci, (uint8_t)(cap + 4));
      uint32_t pba = pci_read32(&dev->pci, (uint8_t)(cap + 8));
      uint64_t base = pci_memory_bar(&dev->pci, table & 7, NULL);
      if (base != 0) {
        dev->msix_table = base + (table & ~7u);
        dev->msix_table_size = (uint16_t)((control & 0x7ff) + 1);
      }
      uint64_t pba_base = pci_memory_bar(&dev->pci, pba & 7, NULL);
      if (pba_base != 0) dev->msix_pba = pba_base + (pba & ~7u);
    }
    cap = pci_read8(&dev->pci, (uint8_t)(cap + 1)) & 0xfc;
  }
  guest_printf("%s: common@0x%lx notify@0x%lx (x%u) isr@0x%lx device@0x%lx msix@0x%lx (%u)\n",
               dev->name, dev->common, dev->notify, dev->notify_multiplier, dev->isr,
               dev->device_cfg, dev->msix_table, dev->msix_table_size);
  if (dev->common == 0 || dev->notify == 0 || dev->isr == 0) {
    guest_printf("%s: missing a common, notify or isr capability\n", dev->name);
    return false;
  }
  return true;
}

bool virtio_probe(struct virtio_dev* dev, const char* name, uint16_t device_id) {
  memset(dev, 0, sizeof(*dev));
  dev->name = name;
  if (!pci_find(VIRTIO_PCI_VENDOR, device_id, &dev->pci)) {
    guest_printf("%s: no %04x:%04x on bus 0\n", name, VIRTIO_PCI_VENDOR, device_id);
    return false;
  }
  guest_printf("%s: found %04x:%04x at ", name, VIRTIO_PCI_VENDOR, device_id);
  pci_print_address(&dev->pci);
  guest_printf("\n");
  if (cmdline_get_u64("rebar", 0) != 0) {
    guest_printf("%s: clearing the BARs firmware assigned (rebar=1)\n", name);
    pci_clear_bars(&dev->pci);
  }
  if (!walk_capabilities(dev)) return false;
  uint16_t command = pci_read16(&dev->pci, PCI_COMMAND);
  pci_write16(&dev->pci, PCI_COMMAND,
              (uint16_t)(command | PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER));
  return true;
}

uint8_t virtio_status(const struct virtio_dev* dev) {
  return mmio_read8(dev->common + VIRTIO_COMMON_STATUS);
}

static void set_status(struct virtio_dev* dev, uint8_t bits) {
  mmio_write8(dev->common + VIRTIO_COMMON_STATUS, (uint8_t)(virtio_status(dev) | bits));
}

void virtio_reset(struct virtio_dev* dev) {
  mmio_write8(dev->common + VIRTIO_COMMON_STATUS, 0);
  /* A device may finish resetting later (the spec has drivers wait for status 0): wait up to
   * about a second of wall time, counted by the TSC rather than by (slow, exiting) reads. */
  uint64_t deadline = rdtsc() + 1000000000ull;
  while (virtio_status(dev) != 0 && rdtsc() < deadline) cpu_relax();
}

static uint32_t read_feature_word(struct virtio_dev* dev, uint32_t select) {
  mmio_write32(dev->common + VIRTIO_COMMON_DFSELECT, select);
  return mmio_read32(dev->common + VIRTIO_COMMON_DF);
}

static void write_feature_word(struct virtio_dev* dev, uint32_t select, uint32_t value) {
  mmio_write32(dev->common + VIRTIO_COMMON_GFSELECT, select);
  mmio_write32(dev->common + VIRTIO_COMMON_GF, value);
}

bool virtio_init(struct virtio_dev* dev, uint64_t wanted) {
  virtio_reset(dev);
  if (virtio_status(dev) != 0) {
    guest_printf("%s: status 0x%x after reset, expected 0\n", dev->name, virtio_status(dev));
    return false;
  }
  set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE);
  set_status(dev, VIRTIO_STATUS_DRIVER);
  uint64_t offered = read_feature_word(dev, 0) | ((uint64_t)read_feature_word(dev, 1) << 32);
  if ((offered & VIRTIO_F_VERSION_1) == 0) {
    guest_printf("%s: device does not offer VERSION_1 (features 0x%lx)\n", dev->name, offered);
    return false;
  }
  dev->features = offered & (wanted | VIRTIO_F_VERSION_1);
  write_feature_word(dev, 0, (uint32_t)dev->features);
  write_feature_word(dev, 1, (uint32_t)(dev->features >> 32));
  set_status(dev, VIRTIO_STATUS_FEATURES_OK);
  uint8_t status = virtio_status(dev);
  guest_printf("%s: features offered 0x%lx accepted 0x%lx status 0x%x\n", dev->name, offered,
               dev->features, status);
  if ((status & VIRTIO_STATUS_FEATURES_OK) == 0) {
    guest_printf("%s: FEATURES_OK did not stick\n", dev->name);
    return false;
  }
  mmio_write16(dev->common + VIRTIO_COMMON_MSIX, VIRTIO_MSI_NO_VECTOR);
  return true;
}

static void write64(uint64_t addr, uint64_t value) {
  /* Two 32-bit accesses, as the spec asks drivers to access 64-bit fields. */
  mmio_write32(addr, (uint32_t)value);
  mmio_write32(addr + 4, (uint32_t)(value >> 32));
}

bool virtio_setup_queue(struct virtio_dev* dev, struct virtq* q, uint16_t index,
                        uint16_t size_override) {
  uint16_t num_queues = mmio_read16(dev->common + VIRTIO_COMMON_NUMQ);
  if (index >= num_queues) {
    guest_printf("%s: queue %u requested, device has %u\n", dev->name, index, num_queues);
    return false;
  }
  mmio_write16(dev->common + VIRTIO_COMMON_Q_SELECT, index);
  uint16_t max = mmio_read16(dev->common + VIRTIO_COMMON_Q_SIZE);
  if (max == 0) {
    guest_printf("%s: queue %u is not available (size 0)\n", dev->name, index);
    return false;
  }
  uint16_t size = max < VIRTQ_MAX_SIZE ? max : VIRTQ_MAX_SIZE;
  if (size_override != 0) size = size_override;
  memset(q, 0, sizeof(*q));
  q->index = index;
  q->size = size;
  mmio_write16(dev->common + VIRTIO_COMMON_Q_SIZE, size);
  mmio_write16(dev->common + VIRTIO_COMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR);
  write64(dev->common + VIRTIO_COMMON_Q_DESCLO, guest_phys(q->desc));
  write64(dev->common + VIRTIO_COMMON_Q_AVAILLO, guest_phys(&q->avail));
  write64(dev->common + VIRTIO_COMMON_Q_USEDLO, guest_phys(&q->used));
  uint16_t notify_off = mmio_read16(dev->common + VIRTIO_COMMON_Q_NOFF);
  q->notify_addr = dev->notify + (uint64_t)notify_off * dev->notify_multiplier;
  memory_barrier();
  mmio_write16(dev->common + VIRTIO_COMMON_Q_ENABLE, 1);
  uint16_t size_now = mmio_read16(dev->common + VIRTIO_COMMON_Q_SIZE);
  uint16_t enabled = mmio_read16(dev->common + VIRTIO_COMMON_Q_ENABLE);
  guest_printf("%s: queue %u size %u (device max %u, reads back %u) enabled %u notify@0x%lx\n",
               dev->name, index, size, max, size_now, enabled, q->notify_addr);
  return enabled == 1;
}

void virtio_driver_ok(struct virtio_dev* dev) {
  set_status(dev, VIRTIO_STATUS_DRIVER_OK);
  guest_printf("%s: DRIVER_OK, status 0x%x\n", dev->name, virtio_status(dev));
}

void virtq_notify(const struct virtq* q) {
  memory_barrier();
  mmio_write16(q->notify_addr, q->index);
}

void virtq_publish(struct virtq* q, uint16_t head) {
  volatile struct virtq_avail* avail = &q->avail;
  avail->ring[q->next_avail % q->size] = head;
  memory_barrier();  /* the ring entry before the index that publishes it */
  ++q->next_avail;
  avail->idx = q->next_avail;
  virtq_notify(q);
}

bool virtq_poll_used(struct virtq* q, uint32_t timeout_ms, uint32_t* id, uint32_t* len) {
  volatile struct virtq_used* used = &q->used;
  /* Wall time from the TSC, so the bound holds however slowly the guest itself runs; the
   * TSC ticks at least 1 GHz on any host these tests use. */
  uint64_t deadline = rdtsc() + (uint64_t)timeout_ms * 1000000ull;
  while (used->idx == q->last_used) {
    if (rdtsc() > deadline) return false;
    cpu_relax();
  }
  memory_barrier();  /* the index before the element it covers */
  volatile struct virtq_used_elem* elem = &used->ring[q->last_used % q->size];
  *id = elem->id;
  *len = elem->len;
  ++q->last_used;
  return true;
}

static uint8_t config_generation(const struct virtio_dev* dev) {
  return mmio_read8(dev->common + VIRTIO_COMMON_CFGGENERATION);
}

uint64_t virtio_config_read64(const struct virtio_dev* dev, uint32_t offset) {
  uint64_t value = 0;
  /* Bounded: a device whose generation never settles must not hang the guest. */
  for (int tries = 0; tries < 100; ++tries) {
    uint8_t before = config_generation(dev);
    value = mmio_read32(dev->device_cfg + offset) |
            ((uint64_t)mmio_read32(dev->device_cfg + offset + 4) << 32);
    if (config_generation(dev) == before) break;
  }
  return value;
}

uint32_t virtio_config_read32(const struct virtio_dev* dev, uint32_t offset) {
  return mmio_read32(dev->device_cfg + offset);
}

uint8_t virtio_config_read8(const struct virtio_dev* dev, uint32_t offset) {
  return mmio_read8(dev->device_cfg + offset);
}
