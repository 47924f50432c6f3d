/* virtio_hostile: sets up the virtio-blk device like virtio_blk does, then breaks the virtio
 * rules in one way chosen by "case=NAME" on the command line, and reports how the device
 * reacted. It never judges the device: the host-side test decides what is acceptable (device
 * process alive, NEEDS_RESET or a refused request, image file untouched).
 *
 * Cases (requests that carry data target sector 100, so the host can check that the image
 * bytes 51200..51711 were not changed by a refused request):
 *   loop          descriptor 0 -> 1 -> 0 -> ... (NEXT flags forming a cycle)
 *   outside       data descriptor at guest physical 0x400000000000, far outside RAM
 *   mmio          data descriptor pointing at the device's own common config (its BAR)
 *   wrap          data descriptor at 0xfffffffffffff000 with length 0x2000 (wraps 2^64)
 *   len_overflow  two data descriptors of 0xffffffff bytes each in RAM (the sum overflows
 *                 32 bits, each runs far past the end of RAM)
 *   avail_ahead   avail idx published 1000 entries ahead of the ring's contents
 *   bad_head      an avail ring entry naming descriptor 0xffff (head >= queue size)
 *   queue_size    queue_size written as 15 (not a power of two), then a normal read
 *   msix          writes to MSI-X table entries past the table size, to the PBA and to the
 *                 last dword of the table's BAR page, then a normal read
 * "dir=in" makes the data descriptors of outside, mmio, wrap and len_overflow device-writable
 * (a read request); the default is a write request (the device reads guest memory).
 *
 * Output, in order:
 *   virtio-hostile: case NAME: <what it did>
 *   virtio-hostile: completion id=I len=L status=S | virtio-hostile: no completion
 *   virtio-hostile: device status 0xSS [NEEDS_RESET] [FAILED]
 *   virtio-hostile: same queue read sector 0: OK|IOERR|UNSUPP|timeout|skipped
 *   virtio-hostile: after reset: read sector 0 OK|<error>
 *   VIRTIO-HOSTILE NAME DONE status=0xSS recovered=yes|no
 * or "VIRTIO-HOSTILE FAIL <why>" when the set-up itself (before the abuse) failed. */
#include "runtime/guest.h"
#include "virtio/blk.h"
#include "virtio/virtio_pci.h"

enum {
  kTargetSector = 100,
  kProbeTimeoutMs = 3000,
  kMsixEntryBytes = 16,
};
#define OUTSIDE_RAM_ADDR 0x400000000000ull
#define WRAPPING_ADDR 0xfffffffffffff000ull

static struct virtio_dev dev;
static struct virtq queue;
static uint8_t buffer[BLK_SECTOR_SIZE] __attribute__((aligned(4096)));
static bool data_in;  /* dir=in */

static bool streq(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

static const char* status_name(int status) {
  switch (status) {
    case VIRTIO_BLK_S_OK: return "OK";
    case VIRTIO_BLK_S_IOERR: return "IOERR";
    case VIRTIO_BLK_S_UNSUPP: return "UNSUPP";
    case BLK_TIMEOUT: return "timeout";
    default: return "bad status";
  }
}

static bool bring_up(uint16_t queue_size) {
  if (!virtio_init(&dev, 0)) return false;
  if (!virtio_setup_queue(&dev, &queue, 0, queue_size)) return false;
  virtio_driver_ok(&dev);
  return (virtio_status(&dev) & VIRTIO_STATUS_DRIVER_OK) != 0;
}

/* header -> data descriptors given -> status, from descriptor 0, published once. */
static void publish_chain(const struct virtq_desc* data, int count) {
  blk_header = (struct virtio_blk_req_header){data_in ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, 0,
                                              kTargetSector};
  blk_status = 0xff;
  queue.desc[0] = (struct virtq_desc){guest_phys(&blk_header), sizeof(blk_header),
                                      VIRTQ_DESC_F_NEXT, 1};
  for (int i = 0; i < count; ++i) {
    queue.desc[1 + i] = data[i];
    queue.desc[1 + i].flags = (uint16_t)(VIRTQ_DESC_F_NEXT | (data_in ? VIRTQ_DESC_F_WRITE : 0));
    queue.desc[1 + i].next = (uint16_t)(2 + i);
  }
  queue.desc[1 + count] = (struct virtq_desc){guest_phys((const void*)&blk_status), 1,
                                              VIRTQ_DESC_F_WRITE, 0};
  virtq_publish(&queue, 0);
}

static void bad_data_descriptor(const char* what, uint64_t addr, uint32_t len) {
  guest_printf("virtio-hostile: %s request, sector %d, data descriptor %s addr 0x%lx len 0x%x\n",
               data_in ? "read" : "write", kTargetSector, what, addr, len);
  struct virtq_desc d = {addr, len, 0, 0};
  publish_chain(&d, 1);
}

/* Returns whether the probe on the same queue makes sense afterwards. */
static bool run_case(const char* name) {
  blk_status = 0xff;  /* the device never writes it: a status the device wrote shows */
  if (streq(name, "loop")) {
    /* All readable (a write request), so the cycle is the only thing wrong with it. */
    blk_header = (struct virtio_blk_req_header){VIRTIO_BLK_T_OUT, 0, kTargetSector};
    queue.desc[0] = (struct virtq_desc){guest_phys(&blk_header), sizeof(blk_header),
                                        VIRTQ_DESC_F_NEXT, 1};
    queue.desc[1] = (struct virtq_desc){guest_phys(buffer), BLK_SECTOR_SIZE, VIRTQ_DESC_F_NEXT, 0};
    guest_printf("virtio-hostile: write request, descriptor chain 0 -> 1 -> 0 -> ... (a loop)\n");
    virtq_publish(&queue, 0);
    return true;
  }
  if (streq(name, "outside")) {
    bad_data_descriptor("outside RAM", OUTSIDE_RAM_ADDR, BLK_SECTOR_SIZE);
    return true;
  }
  if (streq(name, "mmio")) {
    bad_data_descriptor("on the device's own BAR", dev.common, BLK_SECTOR_SIZE);
    return true;
  }
  if (streq(name, "wrap")) {
    bad_data_descriptor("wrapping 2^64", WRAPPING_ADDR, 0x2000);
    return true;
  }
  if (streq(name, "len_overflow")) {
    guest_printf("virtio-hostile: %s request, sector %d, two data descriptors at 0x%lx of "
                 "0xffffffff bytes each\n",
                 data_in ? "read" : "write", kTargetSector, guest_phys(buffer));
    struct virtq_desc d[2] = {{guest_phys(buffer), 0xffffffffu, 0, 0},
                              {guest_phys(buffer), 0xffffffffu, 0, 0}};
    publish_chain(d, 2);
    return true;
  }
  if (streq(name, "avail_ahead")) {
    uint16_t idx = (uint16_t)(queue.next_avail + 1000);
    guest_printf("virtio-hostile: avail idx set to %u with %u entries published (queue size %u)\n",
                 idx, queue.next_avail, queue.size);
    queue.avail.idx = idx;
    virtq_notify(&queue);
    return false;
  }
  if (streq(name, "bad_head")) {
    guest_printf("virtio-hostile: avail ring entry names descriptor 0xffff (queue size %u)\n",
                 queue.size);
    queue.avail.ring[queue.next_avail % queue.size] = 0xffff;
    memory_barrier();
    queue.avail.idx = ++queue.next_avail;
    virtq_notify(&queue);
    return false;
  }
  if (streq(name, "queue_size")) {
    /* Done in guest_main, which sets the queue up with size 15; here only the request. */
    guest_printf("virtio-hostile: read sector 0 on a queue of size %u\n", queue.size);
    int status = blk_request(&queue, VIRTIO_BLK_T_IN, 0, buffer, BLK_SECTOR_SIZE, true, NULL);
    guest_printf("virtio-hostile: request on the size-%u queue: %s\n", queue.size,
                 status_name(status));
    return false;
  }
  if (streq(name, "msix")) {
    if (dev.msix_table == 0) {
      guest_printf("virtio-hostile: no MSI-X capability: nothing to write\n");
      return true;
    }
    uint64_t beyond = dev.msix_table + (uint64_t)dev.msix_table_size * kMsixEntryBytes;
    /* The last whole entry slot and the last dword of the table's 4 KiB page. */
    uint64_t page_end = ((dev.msix_table + 0x1000) & ~0xfffull) - 4;
    uint64_t last_slot = page_end + 4 - kMsixEntryBytes;
    guest_printf("virtio-hostile: MSI-X table @0x%lx has %u entries, PBA @0x%lx; writing entry "
                 "%u (0x%lx), the page's last entry slot 0x%lx, the dword 0x%lx and the PBA\n",
                 dev.msix_table, dev.msix_table_size, dev.msix_pba, dev.msix_table_size, beyond,
                 last_slot, page_end);
    for (uint64_t i = 0; i < 4; ++i) mmio_write32(beyond + 4 * i, 0xdeadbeef);
    if (last_slot >= beyond) {
      mmio_write32(last_slot, 0xfee00000);     /* message address low: the local APIC */
      mmio_write32(last_slot + 4, 0);
      mmio_write32(last_slot + 8, 0x30);       /* a vector */
      mmio_write32(last_slot + 12, 0);         /* unmasked */
    }
    mmio_write32(page_end, 0xffffffff);
    if (dev.msix_pba != 0) mmio_write64(dev.msix_pba, ~0ull);
    guest_printf("virtio-hostile: entry %u reads back 0x%x, PBA reads 0x%lx\n",
                 dev.msix_table_size, mmio_read32(beyond),
                 dev.msix_pba != 0 ? mmio_read64(dev.msix_pba) : 0);
    return true;
  }
  return false;
}

void guest_main(void) {
  const char* name = cmdline_get("case");
  if (name == NULL || *name == '\0') {
    guest_printf("VIRTIO-HOSTILE FAIL no case=NAME on the command line\n");
    return;
  }
  static const char* const kCases[] = {"loop", "outside", "mmio", "wrap", "len_overflow",
                                       "avail_ahead", "bad_head", "queue_size", "msix"};
  bool known = false;
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); ++i) {
    known = known || streq(name, kCases[i]);
  }
  if (!known) {
    guest_printf("VIRTIO-HOSTILE FAIL unknown case \"%s\"\n", name);
    return;
  }
  data_in = cmdline_get("dir") != NULL && streq(cmdline_get("dir"), "in");
  guest_printf("virtio-hostile: case %s\n", name);
  if (!virtio_probe(&dev, "virtio-blk", VIRTIO_PCI_DEVICE_BLK)) {
    guest_printf("VIRTIO-HOSTILE FAIL probe\n");
    return;
  }
  if (!bring_up(streq(name, "queue_size") ? 15 : 0)) {
    guest_printf("VIRTIO-HOSTILE FAIL set-up\n");
    return;
  }
  bool probe_same_queue = run_case(name);

  uint32_t id = 0, len = 0;
  if (virtq_poll_used(&queue, kProbeTimeoutMs, &id, &len)) {
    guest_printf("virtio-hostile: completion id=%u len=%u status=0x%x\n", id, len, blk_status);
  } else {
    guest_printf("virtio-hostile: no completion\n");
  }
  uint8_t status = virtio_status(&dev);
  guest_printf("virtio-hostile: device status 0x%x%s%s\n", status,
               (status & VIRTIO_STATUS_NEEDS_RESET) ? " NEEDS_RESET" : "",
               (status & VIRTIO_STATUS_FAILED) ? " FAILED" : "");

  if (probe_same_queue && (status & VIRTIO_STATUS_NEEDS_RESET) == 0) {
    int result = blk_request(&queue, VIRTIO_BLK_T_IN, 0, buffer, BLK_SECTOR_SIZE, true, NULL);
    guest_printf("virtio-hostile: same queue read sector 0: %s\n", status_name(result));
  } else {
    guest_printf("virtio-hostile: same queue read sector 0: skipped\n");
  }

  /* Does the device answer a driver that starts over? */
  bool recovered = false;
  if (bring_up(0)) {
    int result = blk_request(&queue, VIRTIO_BLK_T_IN, 0, buffer, BLK_SECTOR_SIZE, true, NULL);
    guest_printf("virtio-hostile: after reset: read sector 0 %s\n", status_name(result));
    recovered = result == VIRTIO_BLK_S_OK;
  } else {
    guest_printf("virtio-hostile: after reset: set-up failed\n");
  }
  guest_printf("VIRTIO-HOSTILE %s DONE status=0x%x recovered=%s\n", name, status,
               recovered ? "yes" : "no");
}
