/* virtio_reset: a virtio-blk device that failed for good, driven the way Linux's modern
 * virtio_pci driver drives it: reset by writing status 0 and polling until status reads 0
 * (vp_reset), then the probe sequence (ACKNOWLEDGE, DRIVER, features, FEATURES_OK). The reset
 * poll must end, FEATURES_OK must be refused, and the guest goes on (prints its marker).
 *   mode=dead  : the device works first (init, one read: "virtio-reset: device up"); the test
 *                then kills its process; the guest waits for DEVICE_NEEDS_RESET and resets.
 *   mode=never : the device never worked (its process never answered the monitor's handshake).
 * Ends "VIRTIO-RESET <mode> DONE reads=<status reads of the reset poll>" or
 * "VIRTIO-RESET FAIL <why>". */
#include "runtime/guest.h"
#include "virtio/blk.h"

static struct virtio_dev blk_dev;
static struct virtq blk_queue;
static uint8_t sector[BLK_SECTOR_SIZE];

/* About `seconds` of wall time by the TSC at >= 1 GHz (generous on slower clocks). */
static uint64_t tsc_after(uint64_t seconds) { return rdtsc() + seconds * 1000000000ull; }

static void set_status(uint8_t status) { mmio_write8(blk_dev.common + VIRTIO_COMMON_STATUS, status); }

/* Whether the command-line value `value` is the word `want`. */
static bool word_is(const char* value, const char* want) {
  while (*want != '\0' && *value == *want) {
    ++value;
    ++want;
  }
  return *want == '\0' && (*value == '\0' || *value == ' ');
}

void guest_main(void) {
  const char* value = cmdline_get("mode");
  const bool dead = value == NULL || !word_is(value, "never");
  const char* mode = dead ? "dead" : "never";
  if (!virtio_probe(&blk_dev, "virtio-blk", VIRTIO_PCI_DEVICE_BLK)) {
    guest_printf("VIRTIO-RESET FAIL probe\n");
    return;
  }
  guest_printf("virtio-reset: mode %s, status 0x%x\n", mode, virtio_status(&blk_dev));
  if (dead) {
    if (!virtio_init(&blk_dev, 0) || !virtio_setup_queue(&blk_dev, &blk_queue, 0, 0)) {
      guest_printf("VIRTIO-RESET FAIL init of the working device\n");
      return;
    }
    virtio_driver_ok(&blk_dev);
    int status = blk_request(&blk_queue, VIRTIO_BLK_T_IN, 0, sector, sizeof sector, true, NULL);
    if (status != VIRTIO_BLK_S_OK) {
      guest_printf("VIRTIO-RESET FAIL first read status %d\n", status);
      return;
    }
    guest_printf("virtio-reset: device up\n");
    /* What the configuration interrupt would tell Linux: the device needs a reset. */
    uint64_t deadline = tsc_after(120);
    while ((virtio_status(&blk_dev) & VIRTIO_STATUS_NEEDS_RESET) == 0 && rdtsc() < deadline) cpu_relax();
    if ((virtio_status(&blk_dev) & VIRTIO_STATUS_NEEDS_RESET) == 0) {
      guest_printf("VIRTIO-RESET FAIL NEEDS_RESET never came\n");
      return;
    }
    guest_printf("virtio-reset: NEEDS_RESET seen\n");
  }

  /* vp_reset: write 0, then poll until the device reads back 0 (Linux polls with no bound;
   * this bound only turns a hang into a message). */
  set_status(0);
  uint64_t reads = 0;
  uint8_t status = virtio_status(&blk_dev);
  uint64_t deadline = tsc_after(20);
  while (status != 0 && reads < 200000 && rdtsc() < deadline) {
    ++reads;
    status = virtio_status(&blk_dev);
  }
  if (status != 0) {
    guest_printf("VIRTIO-RESET FAIL reset poll never ended: status 0x%x after %lu reads\n", status, reads);
    return;
  }
  guest_printf("virtio-reset: reset complete after %lu reads\n", reads);

  /* virtio_dev_probe: ACKNOWLEDGE, DRIVER, features, FEATURES_OK, read back. */
  set_status(VIRTIO_STATUS_ACKNOWLEDGE);
  set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
  mmio_write32(blk_dev.common + VIRTIO_COMMON_GFSELECT, 0);
  mmio_write32(blk_dev.common + VIRTIO_COMMON_GF, 0);
  mmio_write32(blk_dev.common + VIRTIO_COMMON_GFSELECT, 1);
  mmio_write32(blk_dev.common + VIRTIO_COMMON_GF, (uint32_t)(VIRTIO_F_VERSION_1 >> 32));
  set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
  status = virtio_status(&blk_dev);
  if (status & VIRTIO_STATUS_FEATURES_OK) {
    guest_printf("VIRTIO-RESET FAIL a failed device accepted FEATURES_OK (status 0x%x)\n", status);
    return;
  }
  guest_printf("virtio-reset: FEATURES_OK refused (status 0x%x)\n", status);
  /* Linux marks the device FAILED and goes on without it. */
  set_status(status | VIRTIO_STATUS_FAILED);
  guest_printf("VIRTIO-RESET %s DONE reads=%lu\n", mode, reads);
}
