/* virtio_blk_rounds: writes, flushes and reads back the virtio-blk disk in numbered rounds, for
 * as long as it is told to, so the host can kill and replace the device process underneath it
 * (issue 18). A replacement must look to this guest like a slow disk, nothing more: every
 * request gets a generous timeout, and any status other than OK, a timeout or a mismatch ends
 * the guest with "VIRTIO-TEST FAIL <why>".
 *
 * Round K (K = 1, 2, ...) uses range r = (K - 1) % kRanges, sectors r * 8 .. r * 8 + 7:
 *   WRITE the round's pattern there, FLUSH, READ it back and compare; then print
 *   "rounds: K ok". Byte i (0..511) of sector s written in round K is
 *     (uint8_t)(K * 131 + s * 31 + i * 7 + 0x5a)
 * so when round L is the last one reported, range (K - 1) % kRanges holds round K's pattern
 * for each of the last min(L, kRanges - 1) rounds K; the remaining range, round L + 1's, may
 * be half written when the VM was stopped in that round. Nothing past sector kRanges * 8 - 1
 * is written. kRanges = 16: the first 64 KiB of the disk.
 *
 * Command line: "rounds=N" stops after N rounds with "VIRTIO-TEST PASS" (default: 2^32 - 1,
 * in effect until the VM is stopped). "marks=1" (for bench/device_restart.sh) first measures
 * the TSC against the CMOS clock (1-2 s), then prints one character as each request completes:
 * '!' when it took longer than 10 ms (the device process went away under it), '.' otherwise.
 * Console output is kept short (each UART byte is an exit). */
#include "runtime/guest.h"
#include "virtio/blk.h"
#include "virtio/virtio_pci.h"

enum {
  kRangeSectors = 8,
  kRanges = 16,
  kRangeBytes = kRangeSectors * BLK_SECTOR_SIZE,
  /* A replacement takes well under a second host-side; 30 s leaves room for a slow, loaded
   * host. Counted in CMOS clock seconds: the TSC rate the guest sees depends on the host, so
   * TSC ticks alone do not measure wall time. */
  kRequestTimeoutSeconds = 30,
  kCmosIndex = 0x70,
  kCmosData = 0x71,
  kCmosSeconds = 0x00,
};
/* TSC ticks between two looks at the clock (a look is two port exits), and a bound in ticks
 * as well, in case the clock does not tick: 30 s at 10 GHz, 300 s at 1 GHz. */
static const uint64_t kClockLookTicks = 1ull << 24;
static const uint64_t kRequestTimeoutTicks = 300000000000ull;

static struct virtio_dev blk_dev;
static struct virtq blk_queue;
static uint8_t write_buffer[kRangeBytes] __attribute__((aligned(4096)));
static uint8_t read_buffer[kRangeBytes] __attribute__((aligned(4096)));
static struct virtio_blk_req_header header __attribute__((aligned(16)));
static volatile uint8_t status_byte;
static bool marks;
static uint64_t stall_ticks;  /* a request slower than this is marked '!' */

static uint8_t pattern_byte(uint64_t round, uint64_t sector, uint32_t i) {
  return (uint8_t)(round * 131 + sector * 31 + (uint64_t)i * 7 + 0x5a);
}

static const char* status_name(int status) {
  switch (status) {
    case VIRTIO_BLK_S_OK: return "OK";
    case VIRTIO_BLK_S_IOERR: return "IOERR";
    case VIRTIO_BLK_S_UNSUPP: return "UNSUPP";
    case BLK_TIMEOUT: return "timeout";
    case -2: return "used element names another chain";
    case -3: return "used element for no request";
    default: return "bad status";
  }
}

static uint8_t cmos_seconds(void) {
  outb(kCmosIndex, kCmosSeconds);
  return inb(kCmosData);
}

/* TSC ticks in one CMOS clock second (0 when the clock does not tick within ~2^36 ticks). */
static uint64_t tsc_per_second(void) {
  const uint64_t give_up = rdtsc() + (1ull << 36);
  uint64_t edges[2];
  uint8_t seconds = cmos_seconds();
  for (int edge = 0; edge < 2; ++edge) {
    while (cmos_seconds() == seconds) {
      if (rdtsc() > give_up) return 0;
      cpu_relax();
    }
    edges[edge] = rdtsc();
    seconds = cmos_seconds();
  }
  return edges[1] - edges[0];
}

/* virtq_poll_used with a wall-clock bound of kRequestTimeoutSeconds. */
static bool poll_used(uint32_t* id, uint32_t* len) {
  volatile struct virtq_used* used = &blk_queue.used;
  const uint64_t start = rdtsc();
  uint64_t next_look = start + kClockLookTicks;
  uint8_t seconds = cmos_seconds();
  uint32_t ticks = 0;  /* clock seconds seen to pass */
  while (used->idx == blk_queue.last_used) {
    const uint64_t now = rdtsc();
    if (now - start > kRequestTimeoutTicks) return false;
    if (now >= next_look) {
      next_look = now + kClockLookTicks;
      const uint8_t seconds_now = cmos_seconds();
      if (seconds_now != seconds && ++ticks > kRequestTimeoutSeconds) return false;
      seconds = seconds_now;
    }
    cpu_relax();
  }
  memory_barrier();  /* the index before the element it covers */
  volatile struct virtq_used_elem* elem = &used->ring[blk_queue.last_used % blk_queue.size];
  *id = elem->id;
  *len = elem->len;
  ++blk_queue.last_used;
  return true;
}

/* blk_request (virtio/blk.c) with this guest's longer timeout: one chain from descriptor 0. */
static int request(uint32_t type, uint64_t sector, void* data, uint32_t len, bool device_writes) {
  /* A request completed twice (say by the dead device and again by its replacement) shows as
   * a used element nobody published: at most one chain is ever in flight. */
  if (((volatile struct virtq_used*)&blk_queue.used)->idx != blk_queue.last_used) return -3;
  header = (struct virtio_blk_req_header){type, 0, sector};
  status_byte = 0xff;  /* never written by a device: a missing status shows */
  uint16_t n = 0;
  blk_queue.desc[n] = (struct virtq_desc){guest_phys(&header), sizeof(header), VIRTQ_DESC_F_NEXT,
                                          (uint16_t)(n + 1)};
  ++n;
  if (len != 0) {
    blk_queue.desc[n] = (struct virtq_desc){
        guest_phys(data), len,
        (uint16_t)(VIRTQ_DESC_F_NEXT | (device_writes ? VIRTQ_DESC_F_WRITE : 0)), (uint16_t)(n + 1)};
    ++n;
  }
  blk_queue.desc[n] =
      (struct virtq_desc){guest_phys((const void*)&status_byte), 1, VIRTQ_DESC_F_WRITE, 0};
  const uint64_t published = rdtsc();
  virtq_publish(&blk_queue, 0);
  uint32_t id = 0, written = 0;
  if (!poll_used(&id, &written)) return BLK_TIMEOUT;
  if (marks) serial_putc(stall_ticks != 0 && rdtsc() - published > stall_ticks ? '!' : '.');
  if (id != 0) return -2;  /* only chain 0 is ever in flight */
  return status_byte;
}

/* One round; NULL when it passed, else why not (printed with details first). */
static const char* run_round(uint64_t round) {
  const uint64_t first = ((round - 1) % kRanges) * kRangeSectors;
  for (uint32_t i = 0; i < kRangeBytes; ++i) {
    write_buffer[i] = pattern_byte(round, first + i / BLK_SECTOR_SIZE, i % BLK_SECTOR_SIZE);
  }
  int status = request(VIRTIO_BLK_T_OUT, first, write_buffer, kRangeBytes, false);
  if (status != VIRTIO_BLK_S_OK) {
    guest_printf("rounds: %lu write %s (%d)\n", round, status_name(status), status);
    return "write";
  }
  status = request(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false);
  if (status != VIRTIO_BLK_S_OK) {
    guest_printf("rounds: %lu flush %s (%d)\n", round, status_name(status), status);
    return "flush";
  }
  memset(read_buffer, 0, kRangeBytes);
  status = request(VIRTIO_BLK_T_IN, first, read_buffer, kRangeBytes, true);
  if (status != VIRTIO_BLK_S_OK) {
    guest_printf("rounds: %lu read %s (%d)\n", round, status_name(status), status);
    return "read";
  }
  for (uint32_t i = 0; i < kRangeBytes; ++i) {
    if (read_buffer[i] != write_buffer[i]) {
      guest_printf("rounds: %lu sector %lu byte %u reads 0x%02x, wrote 0x%02x\n", round,
                   first + i / BLK_SECTOR_SIZE, i % BLK_SECTOR_SIZE, read_buffer[i],
                   write_buffer[i]);
      return "mismatch";
    }
  }
  return NULL;
}

static const char* run(void) {
  if (!virtio_probe(&blk_dev, "virtio-blk", VIRTIO_PCI_DEVICE_BLK)) return "blk probe";
  if (!virtio_init(&blk_dev, VIRTIO_BLK_F_RO | VIRTIO_BLK_F_FLUSH)) return "blk features";
  if (!virtio_setup_queue(&blk_dev, &blk_queue, 0, 0)) return "blk queue setup";
  virtio_driver_ok(&blk_dev);
  if (blk_dev.features & VIRTIO_BLK_F_RO) return "blk is read-only";
  if ((blk_dev.features & VIRTIO_BLK_F_FLUSH) == 0) return "blk offers no FLUSH";
  const uint64_t capacity = virtio_config_read64(&blk_dev, VIRTIO_BLK_CFG_CAPACITY);
  if (capacity < kRanges * kRangeSectors) return "blk capacity below 128 sectors";

  const uint64_t rounds = cmdline_get_u64("rounds", 0xffffffffull);
  marks = cmdline_get_u64("marks", 0) != 0;
  if (marks) {
    const uint64_t per_second = tsc_per_second();
    stall_ticks = per_second / 100;
    guest_printf("rounds: TSC %lu ticks/s, marks: '!' a request over 10 ms\n", per_second);
  }
  guest_printf("rounds: start, %lu sectors\n", capacity);
  for (uint64_t round = 1; round <= rounds; ++round) {
    const char* why = run_round(round);
    if (why != NULL) return why;
    guest_printf("rounds: %lu ok\n", round);
  }
  return NULL;
}

void guest_main(void) {
  const char* failure = run();
  if (failure == NULL) {
    guest_printf("VIRTIO-TEST PASS\n");
  } else {
    guest_printf("VIRTIO-TEST FAIL %s\n", failure);
  }
}
