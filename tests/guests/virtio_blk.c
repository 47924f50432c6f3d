/* virtio_blk: drives a virtio-blk and a virtio-rng PCI function (modern, virtio 1.x) with a
 * minimal polled driver and checks what they do. Ends with "VIRTIO-TEST PASS" or
 * "VIRTIO-TEST FAIL <why>", then resets.
 *
 * What it leaves on the disk, for the host to check in the image file afterwards
 * (pattern_byte below; sector s, byte i of that sector, i in 0..511):
 *   byte = (uint8_t)(s * 31 + i * 7 + 0xA5)
 *   - sectors 0..7 (image bytes 0..4095) and the last sector (capacity - 1) hold the pattern;
 *   - sectors 16..19 are written with the pattern and then WRITE_ZEROES'd: zero afterwards
 *     when the device offers WRITE_ZEROES (the pattern otherwise);
 *   - sectors 20..23 are written with the pattern and then DISCARDed (contents unspecified);
 *   - nothing else is written (sectors 8..15 keep what the image had).
 *
 * Command line: "rng=0" skips the rng device, "blk=0" the disk. */
#include "runtime/guest.h"
#include "virtio/blk.h"
#include "virtio/virtio_pci.h"

enum {
  kPatternSectors = 8,
  kZeroesFirst = 16,
  kDiscardFirst = 20,
  kRangeSectors = 4,
  kRngBytes = 64,
  kRngTimeoutMs = 10000,
};

static struct virtio_dev blk_dev;
static struct virtio_dev rng_dev;
static struct virtq blk_queue;
static struct virtq rng_queue;
static uint8_t write_buffer[kPatternSectors * BLK_SECTOR_SIZE] __attribute__((aligned(4096)));
static uint8_t read_buffer[kPatternSectors * BLK_SECTOR_SIZE] __attribute__((aligned(4096)));
static uint8_t id_buffer[BLK_ID_BYTES + 1];
static uint8_t rng_buffer[kRngBytes];
static struct virtio_blk_discard_range range_buffer;

static const char* failure;  /* the first failure, reported in the final line */

static void fail(const char* why) {
  if (failure == NULL) failure = why;
  guest_printf("virtio: step failed: %s\n", why);
}

static uint8_t pattern_byte(uint64_t sector, uint32_t i) {
  return (uint8_t)(sector * 31 + (uint64_t)i * 7 + 0xa5);
}

static void fill_pattern(uint8_t* buffer, uint64_t first_sector, uint32_t sectors) {
  for (uint32_t s = 0; s < sectors; ++s) {
    for (uint32_t i = 0; i < BLK_SECTOR_SIZE; ++i) {
      buffer[s * BLK_SECTOR_SIZE + i] = pattern_byte(first_sector + s, i);
    }
  }
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

/* Writes the pattern to sectors first..first+count-1, reads it back and compares. */
static bool write_read_pattern(uint64_t first, uint32_t count) {
  uint32_t bytes = count * BLK_SECTOR_SIZE;
  fill_pattern(write_buffer, first, count);
  int status = blk_request(&blk_queue, VIRTIO_BLK_T_OUT, first, write_buffer, bytes, false, NULL);
  if (status != VIRTIO_BLK_S_OK) {
    guest_printf("virtio-blk: write sector %lu..%lu: %s (%d)\n", first, first + count - 1,
                 status_name(status), status);
    return false;
  }
  memset(read_buffer, 0, bytes);
  uint32_t used_len = 0;
  status = blk_request(&blk_queue, VIRTIO_BLK_T_IN, first, read_buffer, bytes, true, &used_len);
  if (status != VIRTIO_BLK_S_OK) {
    guest_printf("virtio-blk: read sector %lu..%lu: %s (%d)\n", first, first + count - 1,
                 status_name(status), status);
    return false;
  }
  for (uint32_t i = 0; i < bytes; ++i) {
    if (read_buffer[i] != write_buffer[i]) {
      guest_printf("virtio-blk: sector %lu byte %u reads 0x%02x, wrote 0x%02x\n",
                   first + i / BLK_SECTOR_SIZE, i % BLK_SECTOR_SIZE, read_buffer[i],
                   write_buffer[i]);
      return false;
    }
  }
  guest_printf("virtio-blk: write+read sector %lu..%lu OK (used len %u)\n", first,
               first + count - 1, used_len);
  return true;
}

/* DISCARD or WRITE_ZEROES of kRangeSectors from first (after writing the pattern there). */
static void range_request(uint32_t type, const char* name, uint64_t feature, uint64_t first) {
  if ((blk_dev.features & feature) == 0) {
    guest_printf("virtio-blk: %s not offered\n", name);
    return;
  }
  if (!write_read_pattern(first, kRangeSectors)) {
    fail("write before discard/write-zeroes");
    return;
  }
  range_buffer = (struct virtio_blk_discard_range){first, kRangeSectors, 0};
  int status = blk_request(&blk_queue, type, 0, &range_buffer, sizeof(range_buffer), false, NULL);
  if (status != VIRTIO_BLK_S_OK) {
    guest_printf("virtio-blk: %s sector %lu..%lu: %s (%d)\n", name, first,
                 first + kRangeSectors - 1, status_name(status), status);
    fail(name);
    return;
  }
  if (type == VIRTIO_BLK_T_WRITE_ZEROES) {
    uint32_t bytes = kRangeSectors * BLK_SECTOR_SIZE;
    memset(read_buffer, 0xee, bytes);
    status = blk_request(&blk_queue, VIRTIO_BLK_T_IN, first, read_buffer, bytes, true, NULL);
    for (uint32_t i = 0; status == VIRTIO_BLK_S_OK && i < bytes; ++i) {
      if (read_buffer[i] != 0) status = -2;
    }
    if (status != VIRTIO_BLK_S_OK) {
      guest_printf("virtio-blk: sector %lu..%lu not zero after write-zeroes (%d)\n", first,
                   first + kRangeSectors - 1, status);
      fail("write-zeroes left data");
      return;
    }
  }
  guest_printf("virtio-blk: %s sector %lu..%lu OK\n", name, first, first + kRangeSectors - 1);
}

static void test_blk(void) {
  if (!virtio_probe(&blk_dev, "virtio-blk", VIRTIO_PCI_DEVICE_BLK)) { fail("blk probe"); return; }
  if (!virtio_init(&blk_dev, VIRTIO_BLK_F_RO | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_DISCARD |
                                 VIRTIO_BLK_F_WRITE_ZEROES)) {
    fail("blk feature negotiation");
    return;
  }
  if (blk_dev.device_cfg == 0 || blk_dev.device_cfg_len < 8) { fail("blk device config"); return; }
  if (!virtio_setup_queue(&blk_dev, &blk_queue, 0, 0)) { fail("blk queue setup"); return; }
  virtio_driver_ok(&blk_dev);

  uint64_t capacity = virtio_config_read64(&blk_dev, VIRTIO_BLK_CFG_CAPACITY);
  guest_printf("virtio-blk: capacity=%lu sectors\n", capacity);
  if (blk_dev.features & VIRTIO_BLK_F_RO) { fail("blk is read-only"); return; }
  if (capacity < kDiscardFirst + kRangeSectors) { fail("blk capacity below 24 sectors"); return; }

  if (!write_read_pattern(0, kPatternSectors)) { fail("write+read sector 0..7"); return; }
  if (!write_read_pattern(capacity - 1, 1)) { fail("write+read last sector"); return; }

  /* A read that starts inside the disk and runs past its end must be refused. */
  int status = blk_request(&blk_queue, VIRTIO_BLK_T_IN, capacity - 1, read_buffer,
                           2 * BLK_SECTOR_SIZE, true, NULL);
  guest_printf("virtio-blk: read past the end: %s\n", status_name(status));
  if (status != VIRTIO_BLK_S_IOERR) { fail("read past the end not refused with IOERR"); return; }

  if (blk_dev.features & VIRTIO_BLK_F_FLUSH) {
    status = blk_request(&blk_queue, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false, NULL);
    guest_printf("virtio-blk: flush %s\n", status_name(status));
    if (status != VIRTIO_BLK_S_OK) { fail("flush"); return; }
  } else {
    guest_printf("virtio-blk: flush not offered\n");
  }

  memset(id_buffer, 0, sizeof(id_buffer));
  status = blk_request(&blk_queue, VIRTIO_BLK_T_GET_ID, 0, id_buffer, BLK_ID_BYTES, true, NULL);
  if (status == VIRTIO_BLK_S_OK) {
    for (int i = 0; i < BLK_ID_BYTES; ++i) {
      if (id_buffer[i] != 0 && (id_buffer[i] < 0x20 || id_buffer[i] > 0x7e)) id_buffer[i] = '?';
    }
    guest_printf("virtio-blk: id=%s\n", (const char*)id_buffer);
  } else if (status == VIRTIO_BLK_S_UNSUPP) {
    guest_printf("virtio-blk: get-id unsupported\n");
  } else {
    guest_printf("virtio-blk: get-id %s (%d)\n", status_name(status), status);
    { fail("get-id"); return; }
  }

  range_request(VIRTIO_BLK_T_WRITE_ZEROES, "write-zeroes", VIRTIO_BLK_F_WRITE_ZEROES,
                kZeroesFirst);
  range_request(VIRTIO_BLK_T_DISCARD, "discard", VIRTIO_BLK_F_DISCARD, kDiscardFirst);

  uint8_t final_status = virtio_status(&blk_dev);
  guest_printf("virtio-blk: device status 0x%x\n", final_status);
  if (final_status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)) {
    fail("blk device status shows an error");
  }
}

static void test_rng(void) {
  if (!virtio_probe(&rng_dev, "virtio-rng", VIRTIO_PCI_DEVICE_RNG)) { fail("rng probe"); return; }
  if (!virtio_init(&rng_dev, 0)) { fail("rng feature negotiation"); return; }
  if (!virtio_setup_queue(&rng_dev, &rng_queue, 0, 0)) { fail("rng queue setup"); return; }
  virtio_driver_ok(&rng_dev);

  memset(rng_buffer, 0, sizeof(rng_buffer));
  uint32_t filled = 0;
  /* The device may return fewer bytes than asked: ask again for the rest. */
  for (int round = 0; filled < kRngBytes && round < 16; ++round) {
    rng_queue.desc[0] = (struct virtq_desc){guest_phys(rng_buffer + filled), kRngBytes - filled,
                                            VIRTQ_DESC_F_WRITE, 0};
    virtq_publish(&rng_queue, 0);
    uint32_t id = 0, len = 0;
    if (!virtq_poll_used(&rng_queue, kRngTimeoutMs, &id, &len)) { fail("rng timeout"); return; }
    if (len > kRngBytes - filled) {
      guest_printf("virtio-rng: device claims %u bytes of a %u-byte buffer\n", len,
                   kRngBytes - filled);
      { fail("rng used length beyond buffer"); return; }
    }
    filled += len;
  }
  if (filled < kRngBytes) { fail("rng returned too few bytes"); return; }
  bool all_equal = true;
  for (int i = 1; i < kRngBytes; ++i) all_equal = all_equal && rng_buffer[i] == rng_buffer[0];
  guest_printf("virtio-rng: first bytes %02x %02x %02x %02x\n", rng_buffer[0], rng_buffer[1],
               rng_buffer[2], rng_buffer[3]);
  if (all_equal) { fail("rng bytes all equal"); return; }
  guest_printf("virtio-rng: %d bytes OK\n", kRngBytes);
}

void guest_main(void) {
  guest_printf("virtio: start\n");
  if (cmdline_get_u64("blk", 1) != 0) test_blk();
  if (cmdline_get_u64("rng", 1) != 0) test_rng();
  if (failure == NULL) {
    guest_printf("VIRTIO-TEST PASS\n");
  } else {
    guest_printf("VIRTIO-TEST FAIL %s\n", failure);
  }
}
