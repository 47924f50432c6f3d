/* Shared by smp.c and smp_trampoline.S. */
#pragma once

#define SMP_TRAMPOLINE_BASE 0x10000  /* below 1 MiB, clear of the monitor's boot structures */
#define SMP_SIPI_VECTOR (SMP_TRAMPOLINE_BASE >> 12)
#define SMP_AP_STACK_SIZE 0x1000
#define SMP_MAX_APIC_ID 32           /* APs with a higher APIC id have no stack and halt */
#define LAPIC_BASE 0xfee00000
#define LAPIC_ID 0x20
