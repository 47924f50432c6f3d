/* virtio_busy_reset (3 vCPUs): one vCPU keeps the disk's request queue full while another
 * resets the device; a third prints a console heartbeat. The reset must complete, the other
 * vCPUs must keep running (no long pause in the heartbeat) and the device must not be failed.
 *
 *   BSP, "resetter": probes and brings the disk up, starts the two APs, waits until the filler
 *     has had kBusyCompletions requests served, then resets the device the way Linux's modern
 *     virtio_pci driver does (write status 0, poll until it reads 0), parks the filler,
 *     re-initialises the device (FEATURES_OK must stick, no NEEDS_RESET) on a fresh queue and
 *     reads sector 0 through it.
 *   first AP, "filler": sets queue 0 up as large as the device allows (up to kFillerQueueMax
 *     entries, its own rings: the shared driver's hold 16) and keeps every request slot posted
 *     (reads of `bytes=N`, default kDefaultReadBytes, all into one buffer), re-posting each as
 *     soon as it completes, never waiting for the queue to drain. It notifies only when no
 *     completion came for kIdleKickTicks: while the device is busy it never exits, so only the
 *     device's own fairness gives its vhost-user socket a turn (a kick per request would block
 *     this vCPU on the frontend, as QEMU's big lock does, and drain the queue).
 *   second AP, "heartbeat": prints "busy-reset: heartbeat N" about every kHeartbeatTicks and
 *     measures the longest gap between two heartbeats while the filler runs and the reset
 *     happens. A frontend or monitor that waits on the device while holding a lock console
 *     exits need shows here as a long gap (or as no output at all).
 * The resetter and the heartbeat wait in HLT, woken by their local APIC timer, so the filler
 * and the device process keep the host's CPUs (QEMU's TCG runs a vCPU per host thread).
 *
 * Ends "BUSY-RESET PASS" after a "busy-reset: served=... max_gap=..." line, or
 * "BUSY-RESET FAIL <why>". Every wait is bounded by the TSC (>= 1 GHz assumed, as the other
 * guests do); a vCPU that is itself blocked by the frontend cannot print, which the tests'
 * own time limit catches. */
#include "runtime/guest.h"
#include "runtime/x86.h"
#include "smp.h"
#include "virtio/blk.h"

enum {
  kLapicSvr = 0xf0,
  kLapicIcrLow = 0x300,
  kLapicIcrHigh = 0x310,
  kSvrEnable = 0x100,
  kSpuriousVector = 0xff,
  kIcrInit = 0x00004500,
  kIcrStartup = 0x00004600,
  kIcrPending = 0x1000,
  kLapicEoi = 0xb0,
  kLapicLvtTimer = 0x320,
  kLapicLvtLint0 = 0x350,
  kLvtMasked = 0x10000,
  kLapicTimerInitial = 0x380,
  kLapicTimerDivide = 0x3e0,
  kTimerDivideBy1 = 0xb,
  kTimerVector = 0x40,
  kDescsPerRequest = 3,  /* header, data, status */
  kFillerQueueMax = 128,
  kMaxSlots = kFillerQueueMax / kDescsPerRequest,
  kDefaultReadBytes = 4 * 1024 * 1024,  /* less when the disk is smaller */
  kMaxReadBytes = 4 * 1024 * 1024,
  kBusyCompletions = 2000,
  kHeartbeatsAfterReset = 3,
  kNapTimerCount = 1000000,  /* about 1 ms: QEMU's and KVM's APIC timers count at 1 GHz */
};

/* TSC ticks; "about" means at >= 1 GHz (shorter in wall time on faster clocks). */
static const uint64_t kHeartbeatTicks = 50000000ull;   /* about 50 ms */
static const uint64_t kIdleKickTicks = 20000000ull;    /* about 20 ms without a completion */
/* A stall of the monitor's 5 s device reply timeout is above this at any TSC >= 0.6 GHz. */
static const uint64_t kMaxGapTicks = 3000000000ull;    /* about 3 s */
static const uint64_t kResetTicks = 3000000000ull;     /* about 3 s */
static const uint64_t kPhaseTicks = 30000000000ull;    /* about 30 s: any one wait */
static const uint64_t kFillerTicks = 60000000000ull;   /* about 60 s: the filler's own bound */

extern const char smp_trampoline_start[], smp_trampoline_end[], smp_trampoline_cr3[];
uint8_t smp_ap_stacks[SMP_MAX_APIC_ID * SMP_AP_STACK_SIZE] __attribute__((aligned(16)));
void smp_ap_main(uint32_t apic_id);

/* The filler's queue: like struct virtq, with room for kFillerQueueMax entries. */
struct filler_virtq {
  uint16_t size, next_avail, last_used;
  uint64_t notify_addr;
  struct virtq_desc desc[kFillerQueueMax] __attribute__((aligned(16)));
  struct {
    uint16_t flags, idx, ring[kFillerQueueMax], used_event;
  } avail __attribute__((aligned(2)));
  struct {
    uint16_t flags, idx;
    struct virtq_used_elem ring[kFillerQueueMax];
    uint16_t avail_event;
  } used __attribute__((aligned(4096)));
};

static struct virtio_dev blk_dev;
static struct filler_virtq filler_queue __attribute__((aligned(4096)));  /* abandoned by the reset */
static struct virtq check_queue;    /* the queue of the re-initialised device */
static struct virtio_blk_req_header slot_header[kMaxSlots] __attribute__((aligned(16)));
static volatile uint8_t slot_status[kMaxSlots];
/* Every read lands here: the device's work per request is the copy, the contents unused. */
static uint8_t fill_buffer[kMaxReadBytes] __attribute__((aligned(4096)));
static uint32_t read_bytes;
static uint8_t check_sector[BLK_SECTOR_SIZE];

static uint32_t filler_apic_id, heartbeat_apic_id;
static volatile uint32_t console_lock;
/* Filler -> resetter. */
static volatile uint64_t served;            /* completions the filler saw */
static volatile uint64_t posted;            /* requests the filler published */
static volatile uint64_t kicks;             /* notifications the filler sent */
static volatile uint64_t drained;           /* times the filler found every request done */
static volatile uint32_t filler_running, filler_parked;
static const char* volatile filler_error;
/* Heartbeat -> resetter. */
static volatile uint64_t heartbeats;
static volatile uint64_t max_gap;           /* TSC ticks, while `measuring` */
static volatile uint32_t heartbeat_stopped;
/* Resetter -> the others. */
static volatile uint32_t stop_filling, measuring = 1, done;

static void lock_console(void) {
  while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE) != 0) cpu_relax();
}
static void unlock_console(void) { __atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE); }

#define say(...)               \
  do {                         \
    lock_console();            \
    guest_printf(__VA_ARGS__); \
    unlock_console();          \
  } while (0)

/* ---- naps: HLT until the local APIC timer fires ---- */

struct idt_gate {
  uint16_t offset_low, selector;
  uint8_t ist, type;
  uint16_t offset_mid;
  uint32_t offset_high, zero;
};
static struct idt_gate idt[kTimerVector + 1] __attribute__((aligned(16)));
void busy_reset_timer_interrupt(void);
/* EOI and return: the interrupt only ends a HLT. */
__asm__(".text\n"
        ".globl busy_reset_timer_interrupt\n"
        "busy_reset_timer_interrupt:\n"
        "  pushq %rax\n"
        "  movl $0xfee000b0, %eax\n"
        "  movl $0, (%rax)\n"
        "  popq %rax\n"
        "  iretq\n");

static void lapic_write(uint32_t reg, uint32_t value) { mmio_write32(LAPIC_BASE + reg, value); }
static uint32_t lapic_read(uint32_t reg) { return mmio_read32(LAPIC_BASE + reg); }

/* On the calling CPU: loads the IDT (only the timer vector is present) and sets up its APIC
 * timer, one-shot. Interrupts stay off except inside nap(). */
static void naps_init(void) {
  uint64_t handler = (uint64_t)(uintptr_t)busy_reset_timer_interrupt;
  idt[kTimerVector] = (struct idt_gate){(uint16_t)handler, GDT_CODE64, 0, 0x8e,
                                        (uint16_t)(handler >> 16), (uint32_t)(handler >> 32), 0};
  struct __attribute__((packed)) {
    uint16_t limit;
    uint64_t base;
  } idtr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
  __asm__ volatile("lidt %0" : : "m"(idtr));
  /* No other interrupt may come in (the IDT has no other gate): the legacy PIC's timer goes
   * through LINT0 (virtual wire), so mask both. */
  outb(0x21, 0xff);
  outb(0xa1, 0xff);
  lapic_write(kLapicLvtLint0, kLvtMasked);
  lapic_write(kLapicSvr, kSvrEnable | kSpuriousVector);
  lapic_write(kLapicTimerDivide, kTimerDivideBy1);
  lapic_write(kLapicLvtTimer, kTimerVector);
}

/* About 1 ms of HLT (sti's shadow covers the hlt, so the timer cannot fire before it). */
static void nap(void) {
  lapic_write(kLapicTimerInitial, kNapTimerCount);
  __asm__ volatile("sti; hlt; cli" ::: "memory");
}

static uint64_t load(const volatile uint64_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static uint32_t load32(const volatile uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

/* Waits until *counter >= target or about kPhaseTicks passed; true when it got there. */
static bool wait_for(const volatile uint64_t* counter, uint64_t target) {
  uint64_t deadline = rdtsc() + kPhaseTicks;
  while (load(counter) < target) {
    if (rdtsc() > deadline) return false;
    nap();
  }
  return true;
}
static bool wait_for_flag(const volatile uint32_t* flag) {
  uint64_t deadline = rdtsc() + kPhaseTicks;
  while (load32(flag) == 0) {
    if (rdtsc() > deadline) return false;
    nap();
  }
  return true;
}

/* ---- filler ---- */

/* Publishes slot's chain without notifying: the device either is busy serving the queue (and
 * finds it) or the idle kick below wakes it. */
static void write64(uint64_t addr, uint64_t value) {
  mmio_write32(addr, (uint32_t)value);
  mmio_write32(addr + 4, (uint32_t)(value >> 32));
}

/* virtio_setup_queue for the filler's larger rings. Runs on the BSP before DRIVER_OK. */
static bool setup_filler_queue(void) {
  struct filler_virtq* q = &filler_queue;
  mmio_write16(blk_dev.common + VIRTIO_COMMON_Q_SELECT, 0);
  uint16_t max = mmio_read16(blk_dev.common + VIRTIO_COMMON_Q_SIZE);
  q->size = max < kFillerQueueMax ? max : kFillerQueueMax;
  if (q->size < kDescsPerRequest) {
    guest_printf("busy-reset: queue 0 size %u\n", q->size);
    return false;
  }
  mmio_write16(blk_dev.common + VIRTIO_COMMON_Q_SIZE, q->size);
  mmio_write16(blk_dev.common + VIRTIO_COMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR);
  write64(blk_dev.common + VIRTIO_COMMON_Q_DESCLO, guest_phys(q->desc));
  write64(blk_dev.common + VIRTIO_COMMON_Q_AVAILLO, guest_phys(&q->avail));
  write64(blk_dev.common + VIRTIO_COMMON_Q_USEDLO, guest_phys(&q->used));
  uint16_t notify_off = mmio_read16(blk_dev.common + VIRTIO_COMMON_Q_NOFF);
  q->notify_addr = blk_dev.notify + (uint64_t)notify_off * blk_dev.notify_multiplier;
  memory_barrier();
  mmio_write16(blk_dev.common + VIRTIO_COMMON_Q_ENABLE, 1);
  uint16_t enabled = mmio_read16(blk_dev.common + VIRTIO_COMMON_Q_ENABLE);
  guest_printf("busy-reset: queue 0 size %u (device max %u), %u-byte reads, enabled %u\n",
               q->size, max, read_bytes, enabled);
  return enabled == 1;
}

static void post(uint32_t slot) {
  struct filler_virtq* q = &filler_queue;
  slot_status[slot] = 0xff;
  volatile uint16_t* ring = q->avail.ring;
  ring[q->next_avail % q->size] = (uint16_t)(slot * kDescsPerRequest);
  memory_barrier();  /* the ring entry before the index that publishes it */
  ++q->next_avail;
  *(volatile uint16_t*)&q->avail.idx = q->next_avail;
  __atomic_store_n(&posted, posted + 1, __ATOMIC_RELEASE);
}

static void kick(void) {
  memory_barrier();
  mmio_write16(filler_queue.notify_addr, 0);
  __atomic_store_n(&kicks, kicks + 1, __ATOMIC_RELEASE);
}

static void fill(void) {
  struct filler_virtq* q = &filler_queue;
  uint32_t slots = q->size / kDescsPerRequest;
  for (uint32_t s = 0; s < slots; ++s) {
    uint16_t d = (uint16_t)(s * kDescsPerRequest);
    slot_header[s] = (struct virtio_blk_req_header){VIRTIO_BLK_T_IN, 0, 0};
    q->desc[d] = (struct virtq_desc){guest_phys(&slot_header[s]), sizeof(slot_header[s]),
                                     VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1)};
    q->desc[d + 1] = (struct virtq_desc){guest_phys(fill_buffer), read_bytes,
                                         VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, (uint16_t)(d + 2)};
    q->desc[d + 2] = (struct virtq_desc){guest_phys((const void*)&slot_status[s]), 1,
                                         VIRTQ_DESC_F_WRITE, 0};
    post(s);
  }
  kick();
  __atomic_store_n(&filler_running, 1, __ATOMIC_RELEASE);
  volatile struct filler_virtq* vq = q;
  const uint32_t size = q->size;
  const uint64_t end = rdtsc() + kFillerTicks;
  uint64_t last_progress = rdtsc();
  while (load32(&stop_filling) == 0) {
    uint64_t now = rdtsc();
    if (now > end) {
      filler_error = "the filler ran out of time";
      break;
    }
    if (vq->used.idx == q->last_used) {
      if (now - last_progress > kIdleKickTicks) {
        kick();
        last_progress = rdtsc();
      }
      continue;  /* no pause: keep the queue as full as this vCPU can */
    }
    /* Re-post every completion at once, then publish: the device never finds the ring empty
     * for long. */
    if ((uint16_t)(vq->used.idx - q->last_used) == slots) {
      __atomic_store_n(&drained, drained + 1, __ATOMIC_RELEASE);  /* it fell behind the device */
    }
    while (vq->used.idx != q->last_used) {
      memory_barrier();  /* the index before the element it covers */
      uint32_t id = vq->used.ring[q->last_used % size].id;
      ++q->last_used;
      uint32_t slot = id / kDescsPerRequest;
      if (id % kDescsPerRequest != 0 || slot >= slots) {
        filler_error = "a used element names no request head";
        continue;
      }
      if (slot_status[slot] != VIRTIO_BLK_S_OK && filler_error == NULL) {
        filler_error = "a read completed with a status other than OK";
      }
      __atomic_store_n(&served, served + 1, __ATOMIC_RELEASE);
      post(slot);
    }
    last_progress = rdtsc();
  }
  /* The reset abandoned whatever is still posted; the queue is the resetter's from here. */
  __atomic_store_n(&filler_parked, 1, __ATOMIC_RELEASE);
}

/* ---- heartbeat ---- */

static void heartbeat(void) {
  const uint64_t end = rdtsc() + 2 * kFillerTicks;
  uint64_t last = rdtsc();
  while (load32(&done) == 0 && rdtsc() < end) {
    uint64_t next = last + kHeartbeatTicks;
    while (rdtsc() < next && load32(&done) == 0) nap();
    if (load32(&done) != 0) break;
    say("busy-reset: heartbeat %lu\n", heartbeats + 1);
    uint64_t now = rdtsc();
    if (load32(&measuring) != 0 && now - last > max_gap) {
      __atomic_store_n(&max_gap, now - last, __ATOMIC_RELEASE);
    }
    last = now;
    __atomic_store_n(&heartbeats, heartbeats + 1, __ATOMIC_RELEASE);
  }
  __atomic_store_n(&heartbeat_stopped, 1, __ATOMIC_RELEASE);
}

void smp_ap_main(uint32_t apic_id) {
  if (apic_id == filler_apic_id) {
    fill();
  } else if (apic_id == heartbeat_apic_id) {
    naps_init();
    heartbeat();
  }
  guest_halt_forever();
}

/* ---- start-up of the APs (as smp.c) ---- */

static void delay(uint64_t cycles) {
  uint64_t start = rdtsc();
  while (rdtsc() - start < cycles) cpu_relax();
}

static void send_ipi(uint32_t apic_id, uint32_t command) {
  lapic_write(kLapicIcrHigh, apic_id << 24);
  lapic_write(kLapicIcrLow, command);
  for (int i = 0; i < 1000 && (lapic_read(kLapicIcrLow) & kIcrPending); ++i) cpu_relax();
}

static void start_ap(uint32_t apic_id) {
  send_ipi(apic_id, kIcrInit);
  delay(1000000);
  send_ipi(apic_id, kIcrStartup | SMP_SIPI_VECTOR);
  delay(200000);
  send_ipi(apic_id, kIcrStartup | SMP_SIPI_VECTOR);
}

/* Picks the filler and heartbeat vCPUs and starts them. NULL, or why not. */
static const char* start_helpers(void) {
  struct acpi_cpus cpus;
  const char* error = acpi_find_cpus(&cpus);
  if (error != NULL) return error;
  uint32_t bsp = lapic_read(LAPIC_ID) >> 24;
  uint32_t found = 0;
  for (uint32_t i = 0; i < cpus.count && found < 2; ++i) {
    if (cpus.apic_ids[i] == bsp) continue;
    if (cpus.apic_ids[i] >= SMP_MAX_APIC_ID) return "an apic id too large for this guest";
    if (found++ == 0) {
      filler_apic_id = cpus.apic_ids[i];
    } else {
      heartbeat_apic_id = cpus.apic_ids[i];
    }
  }
  if (found < 2) return "needs 3 vCPUs";
  size_t size = (size_t)(smp_trampoline_end - smp_trampoline_start);
  char* trampoline = phys_ptr(SMP_TRAMPOLINE_BASE);
  memcpy(trampoline, smp_trampoline_start, size);
  uint32_t cr3 = (uint32_t)read_cr3();
  memcpy(trampoline + (smp_trampoline_cr3 - smp_trampoline_start), &cr3, sizeof(cr3));
  naps_init();
  start_ap(heartbeat_apic_id);
  start_ap(filler_apic_id);
  return NULL;
}

/* ---- resetter ---- */

/* The test proper, on the BSP; NULL when everything held, else the failure. */
static const char* busy_reset(void) {
  if (!wait_for(&heartbeats, 2)) return "the heartbeat vCPU never ticked";
  if (!wait_for_flag(&filler_running)) return "the filler vCPU never started";
  if (!wait_for(&served, kBusyCompletions)) return "the disk never got busy";
  if (filler_error != NULL) return filler_error;

  uint64_t beats_before = load(&heartbeats);
  uint64_t in_flight = load(&posted) - load(&served);
  uint64_t start = rdtsc();
  /* vp_reset: write 0, then poll until the device reads back 0 (Linux has no bound). */
  mmio_write8(blk_dev.common + VIRTIO_COMMON_STATUS, 0);
  uint64_t written = rdtsc();
  uint64_t reads = 0;
  uint8_t status = virtio_status(&blk_dev);
  while (status != 0 && rdtsc() - start < kResetTicks && reads < 1000000) {
    ++reads;
    status = virtio_status(&blk_dev);
  }
  uint64_t end = rdtsc();
  uint64_t beats_during = load(&heartbeats) - beats_before;
  say("busy-reset: reset with %lu requests in flight (%lu served): status 0x%x after %lu reads, "
      "write took %lu ticks, reset %lu ticks, %lu heartbeats meanwhile\n",
      in_flight, load(&served), status, reads, written - start, end - start, beats_during);
  if (status != 0) return "the reset poll never read 0";
  if (end - start > kResetTicks) return "the reset took too long";

  __atomic_store_n(&stop_filling, 1, __ATOMIC_RELEASE);
  if (!wait_for_flag(&filler_parked)) return "the filler did not stop";
  if (!wait_for(&heartbeats, load(&heartbeats) + kHeartbeatsAfterReset)) {
    return "the heartbeat stopped after the reset";
  }
  __atomic_store_n(&measuring, 0, __ATOMIC_RELEASE);
  if (filler_error != NULL) return filler_error;

  /* The probe Linux runs next; the disk must work again (not failed). virtio_init prints, so
   * the console is held across it. */
  lock_console();
  bool up = virtio_init(&blk_dev, 0) && virtio_setup_queue(&blk_dev, &check_queue, 0, 0);
  if (up) virtio_driver_ok(&blk_dev);
  unlock_console();
  if (!up) return "the device did not come back up";
  status = virtio_status(&blk_dev);
  if (status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)) return "the device is failed";
  int result = blk_request(&check_queue, VIRTIO_BLK_T_IN, 0, check_sector, sizeof check_sector,
                           true, NULL);
  if (result != VIRTIO_BLK_S_OK) return "a read after the reset did not complete OK";
  status = virtio_status(&blk_dev);
  if ((status & VIRTIO_STATUS_DRIVER_OK) == 0 ||
      (status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)) != 0) {
    return "the device's status went bad after the read";
  }
  say("busy-reset: device back up, read after the reset OK, status 0x%x\n", status);
  if (load(&max_gap) > kMaxGapTicks) return "the heartbeat paused too long";
  return NULL;
}

void guest_main(void) {
  if (!virtio_probe(&blk_dev, "virtio-blk", VIRTIO_PCI_DEVICE_BLK)) {
    guest_printf("BUSY-RESET FAIL probe\n");
    return;
  }
  read_bytes = (uint32_t)cmdline_get_u64("bytes", kDefaultReadBytes);
  if (read_bytes < BLK_SECTOR_SIZE || read_bytes > kMaxReadBytes || read_bytes % BLK_SECTOR_SIZE) {
    guest_printf("BUSY-RESET FAIL bytes=%u: whole sectors up to %u\n", read_bytes, kMaxReadBytes);
    return;
  }
  if (!virtio_init(&blk_dev, 0)) {
    guest_printf("BUSY-RESET FAIL init\n");
    return;
  }
  /* Long reads: the device spends long on each, so this vCPU re-posts before it drains. */
  uint64_t capacity = virtio_config_read64(&blk_dev, VIRTIO_BLK_CFG_CAPACITY);
  if (capacity < read_bytes / BLK_SECTOR_SIZE) read_bytes = (uint32_t)capacity * BLK_SECTOR_SIZE;
  if (read_bytes == 0 || !setup_filler_queue()) {
    guest_printf("BUSY-RESET FAIL queue setup (capacity %lu sectors)\n", capacity);
    return;
  }
  virtio_driver_ok(&blk_dev);
  const char* failure = start_helpers();
  const bool started = failure == NULL;
  if (started) failure = busy_reset();
  __atomic_store_n(&stop_filling, 1, __ATOMIC_RELEASE);
  __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
  /* Its last line must not run into the verdict. */
  if (started) wait_for_flag(&heartbeat_stopped);
  guest_printf("busy-reset: served=%lu posted=%lu kicks=%lu drained=%lu heartbeats=%lu max_gap=%lu "
               "ticks\n", load(&served), load(&posted), load(&kicks), load(&drained), load(&heartbeats),
               load(&max_gap));
  if (failure != NULL) {
    guest_printf("BUSY-RESET FAIL %s\n", failure);
  } else {
    guest_printf("BUSY-RESET PASS\n");
  }
}
