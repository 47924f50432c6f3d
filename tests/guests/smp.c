/* smp: finds the CPUs in the MADT and starts every AP with INIT-SIPI-SIPI through the local
 * APIC; each CPU checks in once. Ends with one line saying whether all of them did. */
#include "runtime/guest.h"
#include "smp.h"

enum {
  kLapicSvr = 0xf0,
  kLapicIcrLow = 0x300,
  kLapicIcrHigh = 0x310,
  kSvrEnable = 0x100,
  kSpuriousVector = 0xff,
  kIcrInit = 0x00004500,     /* delivery mode INIT, level assert */
  kIcrStartup = 0x00004600,  /* delivery mode start-up, level assert */
  kIcrPending = 0x1000,      /* delivery status */
};

extern const char smp_trampoline_start[], smp_trampoline_end[], smp_trampoline_cr3[];
uint8_t smp_ap_stacks[SMP_MAX_APIC_ID * SMP_AP_STACK_SIZE] __attribute__((aligned(16)));
void smp_ap_main(uint32_t apic_id);

static volatile uint32_t cpus_checked_in;
static volatile uint32_t console_lock;

static uint32_t lapic_read(uint32_t reg) { return mmio_read32(LAPIC_BASE + reg); }
static void lapic_write(uint32_t reg, uint32_t value) { mmio_write32(LAPIC_BASE + reg, value); }
static uint32_t lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }

static void check_in(uint32_t apic_id) {
  while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE) != 0) cpu_relax();
  guest_printf("cpu %u checked in\n", apic_id);
  __atomic_fetch_add(&cpus_checked_in, 1, __ATOMIC_RELEASE);
  __atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

void smp_ap_main(uint32_t apic_id) {
  check_in(apic_id);
  guest_halt_forever();
}

/* Busy-waits about `cycles` TSC ticks (the MP start-up protocol asks for pauses). */
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

void guest_main(void) {
  struct acpi_cpus cpus;
  const char* error = acpi_find_cpus(&cpus);
  if (error != NULL) {
    guest_printf("smp: FAIL %s\n", error);
    return;
  }
  uint32_t bsp = lapic_id();
  guest_printf("smp: %u cpus in the MADT, bsp apic id %u\n", cpus.count, bsp);
  bool bsp_listed = false;
  for (uint32_t i = 0; i < cpus.count; ++i) {
    if (cpus.apic_ids[i] == bsp) bsp_listed = true;
    if (cpus.apic_ids[i] >= SMP_MAX_APIC_ID) {
      guest_printf("smp: FAIL apic id %u too large for this guest\n", cpus.apic_ids[i]);
      return;
    }
  }
  if (!bsp_listed) {
    guest_printf("smp: FAIL the bsp's apic id %u is not in the MADT\n", bsp);
    return;
  }
  check_in(bsp);

  size_t size = (size_t)(smp_trampoline_end - smp_trampoline_start);
  char* trampoline = phys_ptr(SMP_TRAMPOLINE_BASE);
  memcpy(trampoline, smp_trampoline_start, size);
  uint32_t cr3 = (uint32_t)read_cr3();  /* the tables are below 4 GiB either way */
  memcpy(trampoline + (smp_trampoline_cr3 - smp_trampoline_start), &cr3, sizeof(cr3));

  lapic_write(kLapicSvr, kSvrEnable | kSpuriousVector);
  for (uint32_t i = 0; i < cpus.count; ++i) {
    if (cpus.apic_ids[i] != bsp) start_ap(cpus.apic_ids[i]);
  }

  /* Generous bounds, by TSC (1.2e11 ticks: 12 s at 10 GHz, 60 s at 2 GHz) and by iterations,
   * so a lost AP ends the test with a message instead of hanging it. */
  uint64_t start = rdtsc();
  for (uint64_t spins = 0; spins < (1ull << 32); ++spins) {
    if (__atomic_load_n(&cpus_checked_in, __ATOMIC_ACQUIRE) >= cpus.count) break;
    if (rdtsc() - start > 120000000000ull) break;
    cpu_relax();
  }
  while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE) != 0) cpu_relax();
  uint32_t arrived = __atomic_load_n(&cpus_checked_in, __ATOMIC_ACQUIRE);
  if (arrived == cpus.count) {
    guest_printf("smp: all %u cpus checked in\n", cpus.count);
  } else {
    guest_printf("smp: FAIL only %u of %u cpus\n", arrived, cpus.count);
  }
}
